{#
    Typed-with-verdict step under stg_payments__balance_transactions and its quarantine model,
    so that both read one set of rules. Keeps the rows of the newest complete load of each
    file, casts every column safely and flags each rule a row breaks.
#}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_amount', 'has_invalid_amount'),
    ('invalid_timestamp', 'has_invalid_timestamp'),
    ('invalid_date', 'has_invalid_date'),
    ('invalid_currency', 'has_invalid_currency'),
    ('invalid_value', 'has_invalid_value'),
    ('inconsistent_amounts', 'has_inconsistent_amounts'),
] -%}

with

balance_transactions as (

    {{ latest_complete_load(
        source('raw_payments', 'balance_transactions'),
        source('raw_payments', '_dlt_loads'),
        partition_by='_source_file',
    ) }}

),

currencies as (

    select currency_code

    from {{ ref('currencies') }}

),

typed as (

    select
        balance_transactions._source_file,
        balance_transactions._source_line,
        balance_transactions._file_sha256,
        balance_transactions._dlt_loaded_at,
        balance_transactions._dlt_load_id,
        {{ blank_to_null('balance_transactions.transaction_id') }} as transaction_id,
        {{ blank_to_null('balance_transactions.order_id') }} as order_id,
        {{ blank_to_null('balance_transactions.payout_id') }} as payout_id,
        {{ blank_to_null('balance_transactions.type') }} as transaction_type,
        {{ blank_to_null('balance_transactions.status') }} as status,
        currencies.currency_code as currency,
        {{ safe_cast_integer('balance_transactions.amount_minor') }} as amount_minor,
        {{ safe_cast_integer('balance_transactions.fee_minor') }} as fee_minor,
        {{ safe_cast_integer('balance_transactions.net_minor') }} as net_minor,
        {{ safe_cast_date('balance_transactions.available_on') }} as available_on,
        {{ safe_cast_timestamp_utc('balance_transactions.created_at') }} as created_at,
        (
            {{ blank_to_null('balance_transactions.available_on') }} is not null
        ) as has_available_on,
        balance_transactions._malformed_record is not null as is_malformed

    from balance_transactions

    left join currencies
        on balance_transactions.currency = currencies.currency_code

),

checked as (

    select
        *,
        transaction_id is null as is_missing_key,
        (
            amount_minor is null or fee_minor is null or net_minor is null
        ) as has_invalid_amount,
        created_at is null as has_invalid_timestamp,
        has_available_on and available_on is null as has_invalid_date,
        currency is null as has_invalid_currency,
        (
            coalesce(transaction_type not in ('charge', 'refund', 'fee', 'adjustment'), true)
            or coalesce(status not in ('succeeded', 'failed'), true)
        ) as has_invalid_value,
        -- The contract says net = amount - fee; a row that says otherwise cannot be trusted.
        coalesce(net_minor != amount_minor - fee_minor, false) as has_inconsistent_amounts

    from typed

),

judged as (

    select
        transaction_id,
        order_id,
        payout_id,
        transaction_type,
        status,
        currency,
        amount_minor,
        fee_minor,
        net_minor,
        available_on,
        created_at,
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
