with

balance_transactions as (

    select * from {{ ref('base_payments__balance_transactions') }}

    where quarantine_reason is not null

),

quarantined as (

    select
        'payments' as source_system,
        _source_file as source_file,
        _source_line as source_line,
        transaction_id as source_key,
        quarantine_reason as reason,
        quarantine_reasons as reasons,
        _dlt_load_id

    from balance_transactions

)

select * from quarantined
