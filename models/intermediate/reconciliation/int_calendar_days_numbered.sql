{#
    Numbers the business days so that "the k-th business day after D" is a join on
    business_day_number + k. A weekend or holiday carries the number of the business day
    before it, so the first business day after any date D has number(D) + 1.
#}
with

business_calendar as (

    select
        cast(calendar_date as date) as calendar_date,
        cast(is_business_day as boolean) as is_business_day

    from {{ ref('business_calendar') }}

),

numbered as (

    select
        calendar_date,
        is_business_day,
        sum(case when is_business_day then 1 else 0 end) over (
            order by calendar_date
            rows between unbounded preceding and current row
        ) as business_day_number

    from business_calendar

)

select * from numbered
