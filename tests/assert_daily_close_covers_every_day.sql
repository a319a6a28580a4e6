{#
    Checks that fct_daily_close has exactly one row for every calendar day from the first to
    the latest delivered business date, weekends and holidays included.
    Why: the close is read as a ledger of days; a missing day would hide its breaks and let a
    reader believe it was never due, and a doubled day would count its totals twice.
    A returned row is a day with no close row (count_rows 0) or with more than one.
#}
{{ config(severity='error', store_failures=true, schema='audit') }}

with

calendar_days as (

    select calendar_date

    from {{ ref('int_calendar_days_numbered') }}

),

delivery_dates as (

    select
        first_delivered_date,
        as_of_date

    from {{ ref('int_delivery_dates_summarised') }}

),

daily_close as (

    select business_date

    from {{ ref('fct_daily_close') }}

),

expected_days as (

    select calendar_days.calendar_date as business_date

    from calendar_days

    inner join delivery_dates
        on
            calendar_days.calendar_date >= delivery_dates.first_delivered_date
            and calendar_days.calendar_date <= delivery_dates.as_of_date

),

close_rows_per_day as (

    select
        business_date,
        count(*) as count_rows

    from daily_close

    group by 1

),

days_compared as (

    select
        coalesce(expected_days.business_date, close_rows_per_day.business_date)
            as business_date,
        coalesce(close_rows_per_day.count_rows, 0) as count_rows,
        expected_days.business_date is not null as is_expected

    from expected_days

    full outer join close_rows_per_day
        on expected_days.business_date = close_rows_per_day.business_date

)

select
    business_date,
    count_rows,
    is_expected

from days_compared

where count_rows != 1 or not is_expected
