with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

orders as (

    select
        customer_id,
        ordered_date

    from {{ ref('stg_shop__orders') }}

),

orders_per_customer as (

    select
        customer_id,
        count(*) as count_orders,
        min(ordered_date) as first_ordered_date,
        max(ordered_date) as last_ordered_date

    from orders

    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.email,
        customers.country_code,
        coalesce(orders_per_customer.count_orders, 0) as count_orders,
        orders_per_customer.first_ordered_date,
        orders_per_customer.last_ordered_date,
        customers.created_at,
        customers.updated_at

    from customers

    left join orders_per_customer
        on customers.customer_id = orders_per_customer.customer_id

)

select * from final
