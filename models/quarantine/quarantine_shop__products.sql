with

products as (

    select * from {{ ref('base_shop__products') }}

    where quarantine_reason is not null

),

quarantined as (

    select
        'shop' as source_system,
        -- Shop rows come from a database table, not a file, and are found by their key.
        'shop.products' as source_file,
        cast(null as {{ dbt.type_bigint() }}) as source_line,
        product_id as source_key,
        quarantine_reason as reason,
        quarantine_reasons as reasons,
        _dlt_load_id

    from products

)

select * from quarantined
