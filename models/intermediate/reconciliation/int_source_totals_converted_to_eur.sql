{#
    The daily source totals in EUR cents (EUR is the reporting currency), at that day's
    reference rate, converted by the project's one conversion macro. A total with no rate for
    its day converts to null rather than to a guess; the daily close then flags the day and
    does not count it complete.
#}
with

source_totals as (

    select
        business_date,
        total_name,
        currency_code,
        amount_minor

    from {{ ref('int_source_totals_aggregated_per_day') }}

),

fx_rates as (

    select
        currency_code,
        rate,
        rate_date

    from {{ ref('stg_fx__rates') }}

    where base_currency_code = 'EUR'

),

converted as (

    select
        source_totals.business_date,
        source_totals.total_name,
        source_totals.currency_code,
        source_totals.amount_minor,
        {{ convert_minor_to_eur(
            'source_totals.amount_minor', 'source_totals.currency_code', 'fx_rates.rate'
        ) }} as amount_eur_minor

    from source_totals

    left join fx_rates
        on
            source_totals.currency_code = fx_rates.currency_code
            and source_totals.business_date = fx_rates.rate_date

)

select * from converted
