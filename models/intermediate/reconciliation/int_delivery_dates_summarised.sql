{#
    The dates every reconciliation rule is judged against, in one row. The as-of date is the
    latest business date any source delivered: a break's age and the end of the daily close
    count from it, never from the wall clock, so rebuilding old data gives the same marts.
#}
with

deliveries as (

    select
        business_date,
        source_system,
        is_delivered

    from {{ ref('int_deliveries_checked_per_day') }}

),

summarised as (

    select
        min(case when is_delivered then business_date end) as first_delivered_date,
        max(case when is_delivered then business_date end) as as_of_date,
        max(
            case when is_delivered and source_system = 'bank' then business_date end
        ) as last_bank_statement_date

    from deliveries

)

select * from summarised
