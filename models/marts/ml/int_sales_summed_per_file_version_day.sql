{#
    The allocated sales events summed per file version, day and category: what each version
    of each payments file says was sold and refunded. The features read each day in the
    version known at their cutoff, 29 days a row, so they read these sums, not the events.
    Within one file an order is charged once (the allocation keeps its first charge), so
    orders counted per file add up across the parts of a day. Incremental like the events:
    a version's sums never change once it has landed.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

with

sales_events as (

    select
        source_file,
        order_id,
        transaction_type,
        category,
        amount_eur_minor,
        event_date,
        known_from_at,
        _dlt_load_id

    from {{ ref('int_sales_events_allocated_to_categories') }}

    {% if is_incremental() -%}
        where known_from_at > (select max(known_from_at) from {{ this }})
    {%- endif %}

),

summed as (

    select
        source_file,
        category,
        event_date,
        known_from_at,
        _dlt_load_id,
        sum(case
            when transaction_type = 'charge' then amount_eur_minor
            else 0
        end) as sales_eur_minor,
        count(distinct case
            when transaction_type = 'charge' then order_id
        end) as count_orders,
        sum(case
            when transaction_type = 'refund' then amount_eur_minor
            else 0
        end) as refunds_eur_minor

    from sales_events

    group by source_file, category, event_date, known_from_at, _dlt_load_id

)

select * from summed
