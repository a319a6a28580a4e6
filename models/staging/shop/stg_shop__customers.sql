with

source as (

    select * from {{ ref('base_shop__customers') }}

    -- A latest version that breaks a rule is in quarantine_shop__customers instead.
    where quarantine_reason is null

),

renamed as (

    select
        customer_id,
        email,
        country_code,
        created_at,
        updated_at,
        _dlt_load_id

    from source

)

select * from renamed
