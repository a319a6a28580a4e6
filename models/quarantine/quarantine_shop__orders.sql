with

orders as (

    select * from {{ ref('base_shop__orders') }}

    where quarantine_reason is not null

),

quarantined as (

    select
        'shop' as source_system,
        -- Shop rows come from a database table, not a file, and are found by their key.
        'shop.orders' as source_file,
        cast(null as {{ dbt.type_bigint() }}) as source_line,
        order_id as source_key,
        quarantine_reason as reason,
        quarantine_reasons as reasons,
        _dlt_load_id

    from orders

)

select * from quarantined
