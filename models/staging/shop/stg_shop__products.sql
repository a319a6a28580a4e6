with

source as (

    select * from {{ ref('base_shop__products') }}

    -- A latest version that breaks a rule is in quarantine_shop__products instead.
    where quarantine_reason is null

),

renamed as (

    select
        product_id,
        sku,
        product_name,
        category,
        currency as currency_code,
        list_price_minor,
        updated_at,
        _dlt_load_id

    from source

)

select * from renamed
