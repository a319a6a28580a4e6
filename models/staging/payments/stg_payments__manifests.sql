with

source as (

    select * from {{ ref('base_payments__manifests') }}

    -- Manifests that break a rule are in quarantine_payments__manifests instead.
    where quarantine_reason is null

),

renamed as (

    select
        data_source_file,
        file_name,
        sha256,
        record_count,
        amount_minor_sum,
        delivery_date,
        generated_at,
        _source_file as source_file,
        _dlt_load_id

    from source

)

select * from renamed
