with

source as (

    select * from {{ ref('base_bank__statement_lines') }}

    -- Rows that break a rule are in quarantine_bank__statement_lines instead.
    where quarantine_reason is null

),

renamed as (

    select
        line_id as bank_line_id,
        counterparty,
        remittance_info,
        currency as currency_code,
        amount_minor,
        booking_date,
        value_date,
        _source_file as source_file,
        _source_line as source_line,
        _dlt_load_id

    from source

)

select * from renamed
