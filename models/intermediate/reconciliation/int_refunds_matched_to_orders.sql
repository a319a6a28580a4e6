{#
    Pairs every succeeded refund with the order it names. The shop refunds whole orders, so a
    refund must take back exactly the order total, in the order's currency, once: a refund
    for an unknown order, for another amount or currency, or a second refund of the same
    order is a refund_mismatch. Built in event-time batches (see `in_batch`): a batch ranks every
    refund of the orders refunded in it.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='business_date',
    partition_by=spark_partitions(['business_date']),
    begin=history_begin(),
    batch_size=event_time_batch_size(),
    lookback=1,
    on_schema_change='fail',
) }}

with

orders as (

    select
        order_id,
        currency_code,
        total_minor

    from {{ ref('stg_shop__orders').render() }}

),

refunds as (

    select
        transaction_id,
        order_id,
        currency_code,
        amount_minor,
        created_date,
        created_at

    from {{ ref('stg_payments__balance_transactions').render() }}

    where
        transaction_type = 'refund'
        and transaction_status = 'succeeded'

),

orders_refunded_in_the_batch as (

    -- Scopes read the model itself, not its import CTE (see `in_batch`).
    select distinct {{ nullable_key('order_id') }} as order_key

    from {{ ref('stg_payments__balance_transactions').render() }}

    where
        transaction_type = 'refund'
        and transaction_status = 'succeeded'
        and {{ in_batch('created_date') }}

),

refunds_ranked_per_order as (

    select
        refunds.transaction_id,
        refunds.order_id,
        refunds.currency_code,
        refunds.amount_minor,
        refunds.created_date,
        row_number() over (
            partition by refunds.order_id
            order by refunds.created_at, refunds.transaction_id
        ) as refund_rank

    from refunds

    inner join orders_refunded_in_the_batch
        on {{ nullable_key('refunds.order_id') }} = orders_refunded_in_the_batch.order_key

),

refunds_joined_to_orders as (

    select
        refunds_ranked_per_order.transaction_id,
        refunds_ranked_per_order.order_id,
        orders.currency_code as order_currency_code,
        refunds_ranked_per_order.currency_code as refund_currency_code,
        refunds_ranked_per_order.amount_minor as refund_amount_minor,
        refunds_ranked_per_order.refund_rank,
        refunds_ranked_per_order.created_date as refunded_date,
        -- The processor signs refunds negative: a clean refund is minus the order total.
        -orders.total_minor as expected_refund_minor,
        orders.order_id is not null as has_order

    from refunds_ranked_per_order

    left join orders
        on refunds_ranked_per_order.order_id = orders.order_id

    where {{ in_batch('refunds_ranked_per_order.created_date') }}

),

breaks_classified as (

    select
        transaction_id,
        order_id,
        order_currency_code,
        refund_currency_code,
        expected_refund_minor,
        refund_amount_minor,
        refund_rank,
        has_order,
        refunded_date as business_date,
        case
            when
                not has_order
                or refund_rank > 1
                or refund_currency_code != order_currency_code
                or refund_amount_minor != expected_refund_minor
                then 'refund_mismatch'
        end as break_type

    from refunds_joined_to_orders

)

select * from breaks_classified
