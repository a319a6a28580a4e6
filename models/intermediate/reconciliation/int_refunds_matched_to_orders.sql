{#
    Pairs every succeeded refund with the order it names. The shop refunds whole orders, so a
    refund must take back exactly the order total, in the order's currency, once: a refund
    for an unknown order, for another amount or currency, or a second refund of the same
    order is a refund_mismatch.
#}
with

orders as (

    select
        order_id,
        currency_code,
        total_minor

    from {{ ref('stg_shop__orders') }}

),

refunds as (

    select
        transaction_id,
        order_id,
        currency_code,
        amount_minor,
        created_date,
        created_at

    from {{ ref('stg_payments__balance_transactions') }}

    where
        transaction_type = 'refund'
        and transaction_status = 'succeeded'

),

refunds_ranked_per_order as (

    select
        transaction_id,
        order_id,
        currency_code,
        amount_minor,
        created_date,
        row_number() over (
            partition by order_id
            order by created_at, transaction_id
        ) as refund_rank

    from refunds

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
