{#
    Pairs every order with the succeeded charges that name it. An order expects exactly one
    charge once it has been paid (status paid, shipped or refunded); failed attempts are
    ignored, the retry that succeeded is the payment. The first charge (by time) is the
    payment and is compared in the order's own currency; any later charge is a duplicate.
#}
with

orders as (

    select
        order_id,
        order_status,
        currency_code,
        total_minor,
        ordered_date

    from {{ ref('stg_shop__orders') }}

),

charges as (

    select
        transaction_id,
        order_id,
        currency_code,
        amount_minor,
        created_date,
        created_at

    from {{ ref('stg_payments__balance_transactions') }}

    where
        transaction_type = 'charge'
        and transaction_status = 'succeeded'

),

charges_ranked_per_order as (

    select
        transaction_id,
        order_id,
        currency_code,
        amount_minor,
        created_date,
        row_number() over (
            partition by order_id
            order by created_at, transaction_id
        ) as charge_rank

    from charges

),

orders_joined_to_charges as (

    select
        charges_ranked_per_order.transaction_id,
        orders.order_status,
        orders.currency_code as order_currency_code,
        charges_ranked_per_order.currency_code as charge_currency_code,
        orders.total_minor as order_total_minor,
        charges_ranked_per_order.amount_minor as charge_amount_minor,
        charges_ranked_per_order.charge_rank,
        orders.ordered_date,
        charges_ranked_per_order.created_date as charged_date,
        coalesce(orders.order_id, charges_ranked_per_order.order_id) as order_id,
        orders.order_id is not null as has_order,
        coalesce(orders.order_status in ('paid', 'shipped', 'refunded'), false) as is_order_paid

    from orders

    full outer join charges_ranked_per_order
        on orders.order_id = charges_ranked_per_order.order_id

),

breaks_classified as (

    select
        order_id,
        transaction_id,
        order_status,
        order_currency_code,
        charge_currency_code,
        order_total_minor,
        charge_amount_minor,
        charge_rank,
        has_order,
        is_order_paid,
        ordered_date,
        charged_date,
        case
            when transaction_id is null and is_order_paid then 'missing_payment'
            when transaction_id is null then null
            when not has_order then 'orphan_payment'
            when charge_rank > 1 then 'duplicate_payment'
            when charge_currency_code != order_currency_code then 'currency_mismatch'
            when charge_amount_minor != order_total_minor then 'amount_mismatch'
        end as break_type

    from orders_joined_to_charges

),

final as (

    select
        order_id,
        transaction_id,
        order_status,
        order_currency_code,
        charge_currency_code,
        break_type,
        order_total_minor,
        charge_amount_minor,
        charge_rank,
        has_order,
        is_order_paid,
        ordered_date,
        charged_date,
        -- A missing payment is dated by its order; every other break by the charge at fault.
        coalesce(charged_date, ordered_date) as business_date

    from breaks_classified

)

select * from final
