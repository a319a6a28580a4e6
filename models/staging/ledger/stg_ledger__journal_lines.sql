with

source as (

    select * from {{ ref('base_ledger__journal_lines') }}

    -- Rows that break a rule are in quarantine_ledger__journal_lines instead.
    where quarantine_reason is null

),

renamed as (

    select
        journal_id,
        line_number,
        account_code,
        currency as currency_code,
        reference,
        description,
        debit_minor,
        credit_minor,
        cast(posted_at as date) as posted_date,
        posted_at,
        _source_file as source_file,
        _source_line as source_line,
        _dlt_load_id

    from source

)

select * from renamed
