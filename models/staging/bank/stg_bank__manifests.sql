with

source as (

    select * from {{ ref('base_bank__manifests') }}

    -- Manifests that break a rule are in quarantine_bank__manifests instead.
    where quarantine_reason is null

),

renamed as (

    select
        data_source_file,
        file_name,
        sha256,
        record_count,
        amount_sum_minor as amount_minor_sum,
        opening_balance_minor,
        closing_balance_minor,
        delivery_part,
        delivery_date,
        generated_at,
        _source_file as source_file,
        _dlt_load_id

    from source

)

select * from renamed
