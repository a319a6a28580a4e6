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

customers_joined_to_orders as (

    select
        customers.customer_id,
        customers.email,
        customers.country_code,
        orders_per_customer.first_ordered_date,
        orders_per_customer.last_ordered_date,
        customers.created_at,
        customers.updated_at,
        coalesce(orders_per_customer.count_orders, 0) as count_orders

    from customers

    left join orders_per_customer
        on customers.customer_id = orders_per_customer.customer_id

),

final as (

    select
        customer_id,
        email,
        country_code,
        count_orders,
        first_ordered_date,
        last_ordered_date,
        created_at,
        updated_at

    from customers_joined_to_orders

)

select * from final
