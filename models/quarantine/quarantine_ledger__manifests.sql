with

manifests as (

    select * from {{ ref('base_ledger__manifests') }}

    where quarantine_reason is not null

),

quarantined as (

    select
        'ledger' as source_system,
        _source_file as source_file,
        -- A manifest is one JSON object: it has no lines, and the file is its key.
        cast(null as {{ dbt.type_bigint() }}) as source_line,
        _source_file as source_key,
        quarantine_reason as reason,
        quarantine_reasons as reasons,
        _dlt_load_id

    from manifests

)

select * from quarantined
