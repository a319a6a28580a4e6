{#
    Typed-with-verdict step under stg_fx__rates and its quarantine model, so that both read
    one set of rules. Keeps the rows of the newest complete load of each rates file, casts
    every column safely and flags each rule a row breaks. Rates are quoted against EUR with up
    to six decimals; a rate that is not a positive number of that shape is an invalid value.
#}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_date', 'has_invalid_date'),
    ('invalid_currency', 'has_invalid_currency'),
    ('invalid_value', 'has_invalid_value'),
] -%}

with

rates as (

    {{ latest_complete_load(
        source('raw_fx', 'rates'),
        source('raw_fx', '_dlt_loads'),
        partition_by='_source_file',
    ) }}

),

currencies as (

    select currency_code

    from {{ ref('currencies') }}

),

typed as (

    select
        rates._source_file,
        rates._file_sha256,
        rates._dlt_loaded_at,
        rates._dlt_load_id,
        {{ blank_to_null('rates.currency') }} as currency_text,
        currencies.currency_code as currency,
        {{ blank_to_null('rates.base') }} as base,
        {{ safe_cast_decimal('rates.rate', 18, 6) }} as rate,
        {{ safe_cast_date('rates.date') }} as rate_date

    from rates

    left join currencies
        on rates.currency = currencies.currency_code

),

checked as (

    select
        *,
        currency_text is null as is_missing_key,
        rate_date is null as has_invalid_date,
        currency_text is not null and currency is null as has_invalid_currency,
        coalesce(rate <= 0, true) or coalesce(base != 'EUR', true) as has_invalid_value

    from typed

),

judged as (

    select
        currency_text as currency,
        base,
        rate,
        rate_date,
        {{ first_quarantine_reason(rules) }} as quarantine_reason,
        {{ quarantine_reasons(rules) }} as quarantine_reasons,
        _source_file,
        _file_sha256,
        _dlt_loaded_at,
        _dlt_load_id

    from checked

)

select * from judged
