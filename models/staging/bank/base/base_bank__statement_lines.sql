{#
    Typed-with-verdict step under stg_bank__statement_lines and its quarantine model, so that
    both read one set of rules. Keeps the rows of the newest complete load of each statement,
    casts every column safely and flags each rule a row breaks.
#}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_amount', 'has_invalid_amount'),
    ('invalid_date', 'has_invalid_date'),
    ('invalid_currency', 'has_invalid_currency'),
] -%}

with

statement_lines as (

    {{ latest_complete_load(
        source('raw_bank', 'statement_lines'),
        source('raw_bank', '_dlt_loads'),
        partition_by='_source_file',
    ) }}

),

currencies as (

    select currency_code

    from {{ ref('currencies') }}

),

typed as (

    select
        statement_lines._source_file,
        statement_lines._source_line,
        statement_lines._file_sha256,
        statement_lines._dlt_loaded_at,
        statement_lines._dlt_load_id,
        {{ blank_to_null('statement_lines.line_id') }} as line_id,
        statement_lines.counterparty,
        statement_lines.remittance_info,
        currencies.currency_code as currency,
        {{ decimal_to_minor('statement_lines.amount') }} as amount_minor,
        {{ safe_cast_date('statement_lines.booking_date') }} as booking_date,
        {{ safe_cast_date('statement_lines.value_date') }} as value_date,
        statement_lines._malformed_record is not null as is_malformed

    from statement_lines

    left join currencies
        on statement_lines.currency = currencies.currency_code

),

checked as (

    select
        *,
        line_id is null as is_missing_key,
        amount_minor is null as has_invalid_amount,
        booking_date is null or value_date is null as has_invalid_date,
        currency is null as has_invalid_currency

    from typed

),

judged as (

    select
        line_id,
        counterparty,
        remittance_info,
        currency,
        amount_minor,
        booking_date,
        value_date,
        {{ first_quarantine_reason(rules, 'is_malformed') }} as quarantine_reason,
        {{ quarantine_reasons(rules, 'is_malformed') }} as quarantine_reasons,
        _source_file,
        _source_line,
        _file_sha256,
        _dlt_loaded_at,
        _dlt_load_id

    from checked

)

select * from judged
