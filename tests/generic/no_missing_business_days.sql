{#
    Fails on every business day (seed `business_calendar`) between the first and the last
    date of `column_name` that has no row in the model: a daily series must not skip a day
    the business was open.
#}
{% test no_missing_business_days(model, column_name) %}

    with

    model_dates as (

        select distinct cast({{ column_name }} as date) as model_date

        from {{ model }}

    ),

    date_range as (

        select
            min(model_date) as first_date,
            max(model_date) as last_date

        from model_dates

    ),

    business_days as (

        select calendar.calendar_date as business_date

        from {{ ref('business_calendar') }} as calendar

        inner join date_range
            on
                calendar.calendar_date >= date_range.first_date
                and calendar.calendar_date <= date_range.last_date

        where calendar.is_business_day

    )

    select business_days.business_date

    from business_days

    left join model_dates
        on business_days.business_date = model_dates.model_date

    where model_dates.model_date is null

{% endtest %}
