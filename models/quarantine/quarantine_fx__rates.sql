with

rates as (

    select * from {{ ref('base_fx__rates') }}

    where quarantine_reason is not null

),

quarantined as (

    select
        'fx' as source_system,
        _source_file as source_file,
        -- A rates file is JSON: a rate is found by its currency, not by a line.
        cast(null as {{ dbt.type_bigint() }}) as source_line,
        currency as source_key,
        quarantine_reason as reason,
        quarantine_reasons as reasons,
        _dlt_load_id

    from rates

)

select * from quarantined
