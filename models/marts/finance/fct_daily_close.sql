{#
    The nightly close, one row per calendar day from the first to the last delivered business
    date. A day is complete when every source that should deliver it did, and each delivery
    matched its manifest; it is closed when it is also free of breaks and quarantined rows.
#}
{%- set eur_totals = [
    'order_total',
    'charge_total',
    'refund_total',
    'payout_net_total',
    'bank_payout_total',
    'bank_line_total',
    'ledger_revenue_total',
] -%}
{#- The bank books nothing on weekends and holidays, so it owes no statement then. -#}
{%- set business_day_only_sources = var('business_day_only_sources') -%}

with

calendar_days as (

    select
        calendar_date,
        is_business_day

    from {{ ref('int_calendar_days_numbered') }}

),

delivery_dates as (

    select
        first_delivered_date,
        as_of_date

    from {{ ref('int_delivery_dates_summarised') }}

),

deliveries as (

    select
        business_date,
        source_system,
        is_delivered,
        is_matching_manifest,
        count_quarantined_rows

    from {{ ref('int_deliveries_checked_per_day') }}

),

source_totals as (

    select
        business_date,
        total_name,
        amount_eur_minor

    from {{ ref('int_source_totals_converted_to_eur') }}

),

breaks as (

    select
        break_type,
        business_date

    from {{ ref('fct_reconciliation_breaks') }}

),

close_days as (

    select
        calendar_days.calendar_date as business_date,
        calendar_days.is_business_day

    from calendar_days

    inner join delivery_dates
        on
            calendar_days.calendar_date >= delivery_dates.first_delivered_date
            and calendar_days.calendar_date <= delivery_dates.as_of_date

),

source_systems as (

    select distinct source_system

    from deliveries

),

expected_deliveries as (

    select
        close_days.business_date,
        source_systems.source_system

    from close_days

    cross join source_systems

    where
        close_days.is_business_day
        or source_systems.source_system not in (
            '{{ business_day_only_sources | join("', '") }}'
        )

),

expected_deliveries_checked as (

    select
        expected_deliveries.business_date,
        coalesce(
            deliveries.is_delivered and deliveries.is_matching_manifest, false
        ) as is_delivered_and_matching

    from expected_deliveries

    left join deliveries
        on
            expected_deliveries.business_date = deliveries.business_date
            and expected_deliveries.source_system = deliveries.source_system

),

completeness_per_day as (

    select
        business_date,
        count(*) as count_sources_expected,
        sum(case when is_delivered_and_matching then 1 else 0 end) as count_sources_delivered

    from expected_deliveries_checked

    group by 1

),

quarantine_per_day as (

    select
        business_date,
        sum(count_quarantined_rows) as count_quarantined_rows

    from deliveries

    group by 1

),

totals_pivoted_per_day as (

    select
        business_date,
        {%- for total_name in eur_totals %}
            sum(
                case when total_name = '{{ total_name }}' then amount_eur_minor else 0 end
            ) as {{ total_name }}_eur_minor,
        {%- endfor %}
        -- A total without that day's rate cannot be converted; it is never counted as zero.
        max(case when amount_eur_minor is null then 1 else 0 end) = 1 as has_missing_fx_rate

    from source_totals

    group by 1

),

breaks_counted_per_day as (

    select
        business_date,
        {%- for break_type in reconciliation_break_types() %}
            sum(case when break_type = '{{ break_type }}' then 1 else 0 end)
                as count_{{ break_type }}_breaks,
        {%- endfor %}
        count(*) as count_breaks

    from breaks

    group by 1

),

days_joined as (

    select
        close_days.business_date,
        close_days.is_business_day,
        {%- for total_name in eur_totals %}
            coalesce(totals_pivoted_per_day.{{ total_name }}_eur_minor, 0)
                as {{ total_name }}_eur_minor,
        {%- endfor %}
        {%- for break_type in reconciliation_break_types() %}
            coalesce(breaks_counted_per_day.count_{{ break_type }}_breaks, 0)
                as count_{{ break_type }}_breaks,
        {%- endfor %}
        coalesce(breaks_counted_per_day.count_breaks, 0) as count_breaks,
        coalesce(quarantine_per_day.count_quarantined_rows, 0) as count_quarantined_rows,
        coalesce(completeness_per_day.count_sources_expected, 0) as count_sources_expected,
        coalesce(completeness_per_day.count_sources_delivered, 0) as count_sources_delivered,
        coalesce(totals_pivoted_per_day.has_missing_fx_rate, false) as has_missing_fx_rate

    from close_days

    left join completeness_per_day
        on close_days.business_date = completeness_per_day.business_date

    left join quarantine_per_day
        on close_days.business_date = quarantine_per_day.business_date

    left join totals_pivoted_per_day
        on close_days.business_date = totals_pivoted_per_day.business_date

    left join breaks_counted_per_day
        on close_days.business_date = breaks_counted_per_day.business_date

),

days_judged as (

    select
        *,
        count_sources_expected > 0
        and count_sources_delivered = count_sources_expected
        and not has_missing_fx_rate as is_complete

    from days_joined

),

final as (

    select
        {%- for total_name in eur_totals %}
            {{ cents_to_major(total_name ~ '_eur_minor') }} as {{ total_name }}_eur,
        {%- endfor %}
        {{ cents_to_major('charge_total_eur_minor - order_total_eur_minor') }}
            as charge_minus_order_eur,
        {{ cents_to_major('ledger_revenue_total_eur_minor - order_total_eur_minor') }}
            as ledger_revenue_minus_order_eur,
        {{ cents_to_major('bank_payout_total_eur_minor - payout_net_total_eur_minor') }}
            as bank_payout_minus_payout_net_eur,
        {%- for break_type in reconciliation_break_types() %}
            cast(count_{{ break_type }}_breaks as {{ dbt.type_int() }})
                as count_{{ break_type }}_breaks,
        {%- endfor %}
        cast(count_breaks as {{ dbt.type_int() }}) as count_breaks,
        cast(count_quarantined_rows as {{ dbt.type_int() }}) as count_quarantined_rows,
        cast(count_sources_expected as {{ dbt.type_int() }}) as count_sources_expected,
        cast(count_sources_delivered as {{ dbt.type_int() }}) as count_sources_delivered,
        is_business_day,
        has_missing_fx_rate,
        is_complete,
        -- LIMITATION: there is no record of explained breaks yet, so every break keeps its
        -- day open. A table of explained break_ids left-joined here would let finance close a
        -- day whose breaks are known and accounted for.
        is_complete
        and count_breaks = 0
        and count_quarantined_rows = 0 as is_closed,
        cast(business_date as date) as business_date

    from days_judged

)

select * from final
