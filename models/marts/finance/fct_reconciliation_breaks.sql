{#
    Every reconciliation break in one place, one row each, whatever pair of systems it was
    found between. Each intermediate reconciliation model classifies its own rows; this mart
    only keeps those that broke, gives them one shape and a stable id, and ages them against
    the as-of date (the latest delivered business date).
#}
with

order_payments as (

    select
        break_type,
        order_id,
        transaction_id,
        order_currency_code,
        charge_currency_code,
        order_total_minor,
        charge_amount_minor,
        business_date

    from {{ ref('int_orders_matched_to_payments') }}

    where break_type is not null

),

refunds as (

    select
        break_type,
        order_id,
        transaction_id,
        order_currency_code,
        refund_currency_code,
        expected_refund_minor,
        refund_amount_minor,
        refund_rank,
        business_date

    from {{ ref('int_refunds_matched_to_orders') }}

    where break_type is not null

),

payout_settlements as (

    select
        break_type,
        payout_id,
        bank_line_id,
        payout_currency_code,
        line_currency_code,
        payout_net_minor,
        line_amount_minor,
        business_date

    from {{ ref('int_payouts_matched_to_bank_lines') }}

    where break_type is not null

),

journals as (

    select
        break_type,
        journal_id,
        currency_code,
        debit_minor,
        credit_minor,
        business_date

    from {{ ref('int_journals_balanced') }}

    where break_type is not null

),

ledger_postings as (

    select
        break_type,
        journal_id,
        order_id,
        transaction_id,
        payout_id,
        posted_currency_code,
        source_currency_code,
        expected_minor,
        actual_minor,
        business_date

    from {{ ref('int_ledger_postings_matched_to_sources') }}

    where break_type is not null

),

delivery_dates as (

    select as_of_date

    from {{ ref('int_delivery_dates_summarised') }}

),

breaks_unioned as (

    select
        break_type,
        order_id,
        transaction_id,
        cast(null as {{ dbt.type_string() }}) as payout_id,
        cast(null as {{ dbt.type_string() }}) as bank_line_id,
        cast(null as {{ dbt.type_string() }}) as journal_id,
        coalesce(order_currency_code, charge_currency_code) as currency,
        coalesce(charge_currency_code, order_currency_code) as actual_currency,
        -- An orphan or a duplicate charge should not exist at all: nothing was expected.
        case
            when break_type in ('orphan_payment', 'duplicate_payment') then 0
            else order_total_minor
        end as expected_minor,
        coalesce(charge_amount_minor, 0) as actual_minor,
        business_date

    from order_payments

    union all

    select
        break_type,
        order_id,
        transaction_id,
        cast(null as {{ dbt.type_string() }}) as payout_id,
        cast(null as {{ dbt.type_string() }}) as bank_line_id,
        cast(null as {{ dbt.type_string() }}) as journal_id,
        coalesce(order_currency_code, refund_currency_code) as currency,
        refund_currency_code as actual_currency,
        case when refund_rank = 1 then coalesce(expected_refund_minor, 0) else 0 end
            as expected_minor,
        refund_amount_minor as actual_minor,
        business_date

    from refunds

    union all

    select
        break_type,
        cast(null as {{ dbt.type_string() }}) as order_id,
        cast(null as {{ dbt.type_string() }}) as transaction_id,
        payout_id,
        bank_line_id,
        cast(null as {{ dbt.type_string() }}) as journal_id,
        coalesce(payout_currency_code, line_currency_code) as currency,
        coalesce(line_currency_code, payout_currency_code) as actual_currency,
        coalesce(payout_net_minor, 0) as expected_minor,
        coalesce(line_amount_minor, 0) as actual_minor,
        business_date

    from payout_settlements

    union all

    select
        break_type,
        cast(null as {{ dbt.type_string() }}) as order_id,
        cast(null as {{ dbt.type_string() }}) as transaction_id,
        cast(null as {{ dbt.type_string() }}) as payout_id,
        cast(null as {{ dbt.type_string() }}) as bank_line_id,
        journal_id,
        currency_code as currency,
        currency_code as actual_currency,
        -- Debits are what the credits should have matched.
        debit_minor as expected_minor,
        credit_minor as actual_minor,
        business_date

    from journals

    union all

    select
        break_type,
        order_id,
        transaction_id,
        payout_id,
        cast(null as {{ dbt.type_string() }}) as bank_line_id,
        journal_id,
        coalesce(source_currency_code, posted_currency_code) as currency,
        posted_currency_code as actual_currency,
        expected_minor,
        actual_minor,
        business_date

    from ledger_postings

),

breaks_identified as (

    select
        {{ generate_break_id([
            'breaks_unioned.break_type',
            'breaks_unioned.business_date',
            'breaks_unioned.order_id',
            'breaks_unioned.transaction_id',
            'breaks_unioned.payout_id',
            'breaks_unioned.bank_line_id',
            'breaks_unioned.journal_id',
        ]) }} as break_id,
        breaks_unioned.break_type,
        breaks_unioned.order_id,
        breaks_unioned.transaction_id,
        breaks_unioned.payout_id,
        breaks_unioned.bank_line_id,
        breaks_unioned.journal_id,
        breaks_unioned.currency,
        breaks_unioned.actual_currency,
        breaks_unioned.expected_minor,
        breaks_unioned.actual_minor,
        {{ dbt.datediff(
            'breaks_unioned.business_date', 'delivery_dates.as_of_date', 'day'
        ) }} as age_days,
        breaks_unioned.business_date,
        delivery_dates.as_of_date

    from breaks_unioned

    cross join delivery_dates

),

final as (

    select
        cast(break_id as {{ dbt.type_string() }}) as break_id,
        cast(break_type as {{ dbt.type_string() }}) as break_type,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(transaction_id as {{ dbt.type_string() }}) as transaction_id,
        cast(payout_id as {{ dbt.type_string() }}) as payout_id,
        cast(bank_line_id as {{ dbt.type_string() }}) as bank_line_id,
        cast(journal_id as {{ dbt.type_string() }}) as journal_id,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(actual_currency as {{ dbt.type_string() }}) as actual_currency,
        cast(expected_minor as {{ dbt.type_bigint() }}) as expected_minor,
        cast(actual_minor as {{ dbt.type_bigint() }}) as actual_minor,
        cast(actual_minor - expected_minor as {{ dbt.type_bigint() }}) as difference_minor,
        cast(age_days as {{ dbt.type_int() }}) as age_days,
        cast(business_date as date) as business_date,
        cast(as_of_date as date) as as_of_date

    from breaks_identified

)

select * from final
