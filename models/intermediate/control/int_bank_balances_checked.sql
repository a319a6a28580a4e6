{#
    One row per bank statement (one per booking date, or one per intraday part of it), checked
    for continuity: it must open at the balance the previous delivered statement closed at, and
    close at its opening plus the sum of its lines (as stated by the manifest, and as loaded).
    The balances are control balances: plain sums of line amounts across currencies, in minor
    units. Statements follow each other by booking date, then by part (a part's `HHMM` window
    end; a whole day's statement sorts as `2400`), so each part opens at the closing balance
    of the part before it, and the day's first part at the previous day's close.

    A missing statement does not break continuity here (the next one is compared with the
    last one delivered); int_deliveries_checked_per_day reports the missing day.
#}
with

bank_manifests as (

    select
        source_file,
        data_source_file,
        delivery_part,
        delivery_date,
        opening_balance_minor,
        closing_balance_minor,
        amount_minor_sum

    from {{ ref('stg_bank__manifests') }}

),

bank_files as (

    select
        source_file,
        loaded_amount_minor_sum

    from {{ ref('int_files_checked_against_manifests') }}

    where source_system = 'bank'

),

statements_ordered as (

    select
        bank_manifests.source_file,
        bank_manifests.data_source_file,
        bank_manifests.opening_balance_minor,
        bank_manifests.closing_balance_minor,
        bank_manifests.amount_minor_sum,
        bank_manifests.delivery_date,
        coalesce(bank_files.loaded_amount_minor_sum, 0) as loaded_amount_minor_sum,
        lag(bank_manifests.closing_balance_minor) over (
            order by
                bank_manifests.delivery_date,
                coalesce(bank_manifests.delivery_part, '2400'),
                bank_manifests.source_file
        ) as previous_closing_balance_minor,
        lag(bank_manifests.delivery_date) over (
            order by
                bank_manifests.delivery_date,
                coalesce(bank_manifests.delivery_part, '2400'),
                bank_manifests.source_file
        ) as previous_delivery_date

    from bank_manifests

    left join bank_files
        on bank_manifests.data_source_file = bank_files.source_file

),

checked as (

    select
        source_file,
        data_source_file,
        opening_balance_minor,
        closing_balance_minor,
        previous_closing_balance_minor,
        amount_minor_sum,
        loaded_amount_minor_sum,
        delivery_date,
        previous_delivery_date,
        coalesce(
            opening_balance_minor = previous_closing_balance_minor,
            -- The first statement has nothing to continue from.
            previous_delivery_date is null
        ) as is_continuous,
        closing_balance_minor = opening_balance_minor + amount_minor_sum as is_balanced,
        (
            closing_balance_minor = opening_balance_minor + loaded_amount_minor_sum
        ) as is_balanced_by_loaded_lines

    from statements_ordered

),

final as (

    select
        source_file,
        data_source_file,
        opening_balance_minor,
        closing_balance_minor,
        previous_closing_balance_minor,
        amount_minor_sum,
        loaded_amount_minor_sum,
        is_continuous,
        is_balanced,
        is_balanced_by_loaded_lines,
        delivery_date,
        previous_delivery_date

    from checked

)

select * from final
