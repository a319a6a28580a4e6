{#
    Pairs every order with the succeeded charges that name it. An order expects exactly one
    charge once it has been paid (status paid, shipped or refunded); failed attempts are
    ignored, the retry that succeeded is the payment. The first charge (by time) is the
    payment and is compared in the order's own currency; any later charge is a duplicate.
    Built in event-time batches (see `in_batch`): a batch pairs the orders placed or charged in it
    with every charge that names them.
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
        order_status,
        currency_code,
        total_minor,
        ordered_date

    from {{ ref('stg_shop__orders').render() }}

),

charges as (

    select
        transaction_id,
        order_id,
        currency_code,
        amount_minor,
        created_date,
        created_at

    from {{ ref('stg_payments__balance_transactions').render() }}

    where
        transaction_type = 'charge'
        and transaction_status = 'succeeded'

),

orders_of_the_batch as (

    -- Scopes read the models themselves, not their import CTEs (see `in_batch`).
    select order_id as order_key

    from {{ ref('stg_shop__orders').render() }}

    where {{ in_batch('ordered_date') }}

    union

    select {{ nullable_key('order_id') }} as order_key

    from {{ ref('stg_payments__balance_transactions').render() }}

    where
        transaction_type = 'charge'
        and transaction_status = 'succeeded'
        and {{ in_batch('created_date') }}

),

batch_orders as (

    select orders.*

    from orders

    inner join orders_of_the_batch
        on orders.order_id = orders_of_the_batch.order_key

),

charges_ranked_per_order as (

    select
        charges.transaction_id,
        charges.order_id,
        charges.currency_code,
        charges.amount_minor,
        charges.created_date,
        row_number() over (
            partition by charges.order_id
            order by charges.created_at, charges.transaction_id
        ) as charge_rank

    from charges

    inner join orders_of_the_batch
        on {{ nullable_key('charges.order_id') }} = orders_of_the_batch.order_key

),

orders_joined_to_charges as (

    select
        charges_ranked_per_order.transaction_id,
        batch_orders.order_status,
        batch_orders.currency_code as order_currency_code,
        charges_ranked_per_order.currency_code as charge_currency_code,
        batch_orders.total_minor as order_total_minor,
        charges_ranked_per_order.amount_minor as charge_amount_minor,
        charges_ranked_per_order.charge_rank,
        batch_orders.ordered_date,
        charges_ranked_per_order.created_date as charged_date,
        coalesce(batch_orders.order_id, charges_ranked_per_order.order_id) as order_id,
        batch_orders.order_id is not null as has_order,
        coalesce(
            batch_orders.order_status in ('paid', 'shipped', 'refunded'), false
        ) as is_order_paid

    from batch_orders

    full outer join charges_ranked_per_order
        on batch_orders.order_id = charges_ranked_per_order.order_id

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

    where {{ in_batch('coalesce(charged_date, ordered_date)') }}

)

select * from final
