with

statement_lines as (

    select * from {{ ref('base_bank__statement_lines') }}

    where quarantine_reason is not null

),

quarantined as (

    select
        'bank' as source_system,
        _source_file as source_file,
        _source_line as source_line,
        line_id as source_key,
        quarantine_reason as reason,
        quarantine_reasons as reasons,
        _dlt_load_id

    from statement_lines

)

select * from quarantined
