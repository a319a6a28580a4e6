with

products as (

    select * from {{ ref('stg_shop__products') }}

),

final as (

    select
        product_id,
        sku,
        product_name,
        category,
        currency_code,
        list_price_minor,
        updated_at

    from products

)

select * from final
