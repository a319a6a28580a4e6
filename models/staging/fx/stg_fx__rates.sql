with

source as (

    select * from {{ ref('base_fx__rates') }}

    -- Rows that break a rule are in quarantine_fx__rates instead.
    where quarantine_reason is null

),

renamed as (

    select
        currency as currency_code,
        base as base_currency_code,
        rate,
        rate_date,
        _source_file as source_file,
        _dlt_load_id

    from source

)

select * from renamed
