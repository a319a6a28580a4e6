{#
    Incremental by the time of the line's order, one month per batch, for the reasons given
    in fct_orders (the same LIMITATION on late changes applies). Only the orders are filtered
    per batch (their staging model declares `event_time`); lines, products and rates are read
    whole and joined to the batch's orders.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='ordered_at',
    partition_by=spark_partitions(['ordered_date']),
    begin=history_begin(),
    batch_size=event_time_batch_size(),
    lookback=1,
    on_schema_change='fail',
) }}

with

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

orders as (

    select
        order_id,
        customer_id,
        order_status,
        currency_code,
        ordered_date,
        ordered_at

    from {{ ref('stg_shop__orders') }}

),

products as (

    select
        product_id,
        category

    from {{ ref('stg_shop__products') }}

),

fx_rates as (

    select
        currency_code,
        rate,
        rate_date

    from {{ ref('stg_fx__rates') }}

),

lines_joined_to_orders as (

    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.product_id,
        orders.customer_id,
        orders.order_status,
        orders.currency_code,
        products.category,
        order_lines.quantity,
        order_lines.unit_price_minor,
        orders.ordered_date,
        orders.ordered_at,
        order_lines.updated_at,
        order_lines.quantity * order_lines.unit_price_minor as line_total_minor

    from order_lines

    inner join orders
        on order_lines.order_id = orders.order_id

    left join products
        on order_lines.product_id = products.product_id

),

lines_converted_to_eur as (

    select
        lines_joined_to_orders.*,
        {{ convert_minor_to_eur(
            'lines_joined_to_orders.line_total_minor',
            'lines_joined_to_orders.currency_code',
            'fx_rates.rate',
        ) }} as line_total_eur_minor

    from lines_joined_to_orders

    left join fx_rates
        on
            lines_joined_to_orders.currency_code = fx_rates.currency_code
            and lines_joined_to_orders.ordered_date = fx_rates.rate_date

),

final as (

    select
        order_line_id,
        order_id,
        product_id,
        customer_id,
        order_status,
        currency_code,
        category,
        quantity,
        unit_price_minor,
        line_total_minor,
        line_total_eur_minor,
        ordered_date,
        ordered_at,
        updated_at

    from lines_converted_to_eur

)

select * from final
