{#
    One row per calendar day and delivering system (payments, bank, ledger, fx): did the
    system deliver the day, and does the delivery match its manifest? fct_daily_close reads it
    to decide whether a day is complete (it expects no bank statement on a day that is not a
    business day).

    The days run over the calendar from the first to the last date any system delivered, so a
    day nobody delivered still shows up as not delivered. A file system's day
    counts as delivered when its manifest or its rows arrived; it matches when the manifest
    agrees with the file on count, sha256 and sums. FX files carry no manifest: a rates file
    matches when it holds a valid rate for every currency of the seed but EUR.
    The shop is a database, not a daily delivery, and is not listed.
#}
with

calendar as (

    select calendar_date

    from {{ ref('business_calendar') }}

),

files as (

    select
        source_system,
        delivery_date,
        count_loaded_rows,
        count_quarantined_rows,
        is_matching_manifest

    from {{ ref('int_files_checked_against_manifests') }}

),

fx_rates as (

    select
        _source_file as source_file,
        currency,
        quarantine_reason

    from {{ ref('base_fx__rates') }}

),

currencies as (

    select
        currency_code,
        is_reporting_currency

    from {{ ref('currencies') }}

),

count_quoted_currencies as (

    select count(*) as count_quoted_currencies

    from currencies

    where not is_reporting_currency

),

fx_files_checked as (

    select
        'fx' as source_system,
        -- The file's name carries its date, like a file system's folder does.
        {{ safe_cast_date(
            dbt.split_part(dbt.split_part('fx_rates.source_file', "'/'", 2), "'.'", 1)
        ) }} as delivery_date,
        count(*) as count_loaded_rows,
        sum(
            case when fx_rates.quarantine_reason is not null then 1 else 0 end
        ) as count_quarantined_rows,
        (
            count(distinct case
                when fx_rates.quarantine_reason is null then fx_rates.currency
            end) = max(count_quoted_currencies.count_quoted_currencies)
            and sum(case when fx_rates.quarantine_reason is not null then 1 else 0 end) = 0
        ) as is_matching_manifest

    from fx_rates

    cross join count_quoted_currencies

    group by 1, 2

),

deliveries as (

    select * from files

    union all

    select * from fx_files_checked

),

deliveries_per_day as (

    select
        source_system,
        delivery_date,
        count(*) as count_files,
        sum(count_loaded_rows) as count_rows,
        sum(count_quarantined_rows) as count_quarantined_rows,
        min(case when is_matching_manifest then 1 else 0 end) = 1 as is_matching_manifest

    from deliveries

    where delivery_date is not null

    group by 1, 2

),

delivered_range as (

    select
        min(delivery_date) as first_delivery_date,
        max(delivery_date) as last_delivery_date

    from deliveries_per_day

),

delivered_days as (

    select calendar.calendar_date as business_date

    from calendar

    inner join delivered_range
        on
            calendar.calendar_date >= delivered_range.first_delivery_date
            and calendar.calendar_date <= delivered_range.last_delivery_date

),

systems as (

    select 'payments' as source_system
    union all
    select 'bank' as source_system
    union all
    select 'ledger' as source_system
    union all
    select 'fx' as source_system

),

days_per_system as (

    select
        delivered_days.business_date,
        systems.source_system

    from delivered_days

    cross join systems

),

checked as (

    select
        days_per_system.business_date,
        days_per_system.source_system,
        coalesce(deliveries_per_day.count_rows, 0) as count_rows,
        coalesce(deliveries_per_day.count_quarantined_rows, 0) as count_quarantined_rows,
        deliveries_per_day.delivery_date is not null as is_delivered,
        coalesce(deliveries_per_day.is_matching_manifest, false) as is_matching_manifest

    from days_per_system

    left join deliveries_per_day
        on
            days_per_system.source_system = deliveries_per_day.source_system
            and days_per_system.business_date = deliveries_per_day.delivery_date

)

select * from checked
