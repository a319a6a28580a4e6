{#
    Incremental by order day, one month per batch, like the order facts it sums: a nightly
    run re-aggregates the months its window touches, not all of history. Each batch reads
    only its own orders' lines (fct_order_lines declares `event_time`), so a day is always
    summed whole: a month's batch holds every line ordered in that month.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='ordered_date',
    partition_by=spark_partitions(['ordered_date']),
    begin=history_begin(),
    batch_size=event_time_batch_size(),
    lookback=1,
    on_schema_change='fail',
) }}

with

order_lines as (

    select
        order_id,
        order_status,
        currency_code,
        category,
        quantity,
        line_total_minor,
        line_total_eur_minor,
        ordered_date

    from {{ ref('fct_order_lines') }}

    -- Sales are orders the customer paid for; placed and cancelled orders never were.
    where order_status in ('paid', 'shipped', 'refunded')

),

aggregated_per_day as (

    select
        ordered_date,
        currency_code,
        coalesce(category, 'unknown') as category,
        count(distinct order_id) as count_orders,
        count(*) as count_order_lines,
        -- DuckDB sums bigints into hugeints; the contract promises bigint.
        cast(sum(quantity) as {{ dbt.type_bigint() }}) as count_units,
        cast(sum(line_total_minor) as {{ dbt.type_bigint() }}) as sales_minor,
        cast(sum(line_total_eur_minor) as {{ dbt.type_bigint() }}) as sales_eur_minor,
        cast(sum(
            case when order_status = 'refunded' then line_total_eur_minor else 0 end
        ) as {{ dbt.type_bigint() }}) as refunded_sales_eur_minor

    from order_lines

    group by ordered_date, currency_code, coalesce(category, 'unknown')

),

final as (

    select
        ordered_date,
        currency_code,
        category,
        count_orders,
        count_order_lines,
        count_units,
        sales_minor,
        sales_eur_minor,
        refunded_sales_eur_minor,
        sales_eur_minor - refunded_sales_eur_minor as net_sales_eur_minor

    from aggregated_per_day

)

select * from final
