with

journal_lines as (

    select * from {{ ref('base_ledger__journal_lines') }}

    where quarantine_reason is not null

),

quarantined as (

    select
        'ledger' as source_system,
        _source_file as source_file,
        _source_line as source_line,
        journal_id as source_key,
        quarantine_reason as reason,
        quarantine_reasons as reasons,
        _dlt_load_id

    from journal_lines

)

select * from quarantined
