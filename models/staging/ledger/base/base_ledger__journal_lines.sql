{#
    Typed-with-verdict step under stg_ledger__journal_lines and its quarantine model, so that
    both read one set of rules. Keeps the rows of the newest complete load of each export,
    casts every column safely and flags each rule a row breaks. A journal line is identified
    by its journal id and line number, so a line number that is not an integer is a missing
    key.
#}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_amount', 'has_invalid_amount'),
    ('invalid_timestamp', 'has_invalid_timestamp'),
    ('invalid_currency', 'has_invalid_currency'),
    ('invalid_value', 'has_invalid_value'),
] -%}

with

journal_lines as (

    {{ latest_complete_load(
        source('raw_ledger', 'journal_lines'),
        source('raw_ledger', '_dlt_loads'),
        partition_by='_source_file',
    ) }}

),

currencies as (

    select currency_code

    from {{ ref('currencies') }}

),

typed as (

    select
        journal_lines._source_file,
        journal_lines._source_line,
        journal_lines._file_sha256,
        journal_lines._dlt_loaded_at,
        journal_lines._dlt_load_id,
        {{ blank_to_null('journal_lines.journal_id') }} as journal_id,
        {{ blank_to_null('journal_lines.account_code') }} as account_code,
        {{ blank_to_null('journal_lines.reference') }} as reference,
        journal_lines.description,
        currencies.currency_code as currency,
        {{ safe_cast_integer('journal_lines.line_number') }} as line_number,
        {{ safe_cast_integer('journal_lines.debit_minor') }} as debit_minor,
        {{ safe_cast_integer('journal_lines.credit_minor') }} as credit_minor,
        {{ safe_cast_timestamp_utc('journal_lines.posted_at') }} as posted_at,
        journal_lines._malformed_record is not null as is_malformed

    from journal_lines

    left join currencies
        on journal_lines.currency = currencies.currency_code

),

checked as (

    select
        *,
        journal_id is null or line_number is null as is_missing_key,
        (
            coalesce(debit_minor < 0, true) or coalesce(credit_minor < 0, true)
        ) as has_invalid_amount,
        posted_at is null as has_invalid_timestamp,
        currency is null as has_invalid_currency,
        account_code is null as has_invalid_value

    from typed

),

judged as (

    select
        journal_id,
        account_code,
        reference,
        description,
        currency,
        line_number,
        debit_minor,
        credit_minor,
        posted_at,
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
