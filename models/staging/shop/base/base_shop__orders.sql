{#
    Typed-with-verdict step under stg_shop__orders and its quarantine model, so that both
    read one set of rules. Keeps the latest version of each order from complete loads; only
    that version is judged (older versions are history: an order moves from placed to paid,
    shipped, cancelled or refunded).
#}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_amount', 'has_invalid_amount'),
    ('invalid_timestamp', 'has_invalid_timestamp'),
    ('invalid_currency', 'has_invalid_currency'),
    ('invalid_value', 'has_invalid_value'),
] -%}

with

orders as (

    {{ latest_complete_load(source('raw_shop', 'orders'), source('raw_shop', '_dlt_loads')) }}

),

currencies as (

    select currency_code

    from {{ ref('currencies') }}

),

typed as (

    select
        {{ blank_to_null('orders.order_id') }} as order_id,
        {{ version_key(blank_to_null('orders.order_id')) }} as _version_key,
        {{ blank_to_null('orders.customer_id') }} as customer_id,
        {{ blank_to_null('orders.status') }} as status,
        currencies.currency_code as currency,
        {{ safe_cast_integer('orders.total_minor') }} as total_minor,
        {{ safe_cast_timestamp_utc('orders.ordered_at') }} as ordered_at,
        {{ safe_cast_timestamp_utc('orders.updated_at') }} as updated_at,
        orders._dlt_loaded_at,
        orders._dlt_load_id

    from orders

    left join currencies
        on orders.currency = currencies.currency_code

),

latest_versions as (

    select
        *,
        {{ latest_version_rank('order_id') }} as version_rank

    from typed

),

checked as (

    select
        *,
        order_id is null or customer_id is null as is_missing_key,
        coalesce(total_minor < 0, true) as has_invalid_amount,
        ordered_at is null or updated_at is null as has_invalid_timestamp,
        currency is null as has_invalid_currency,
        coalesce(
            status not in ('placed', 'paid', 'shipped', 'cancelled', 'refunded'), true
        ) as has_invalid_value

    from latest_versions

    where
        version_rank = 1
        and not {{ is_superseded_by_held_version('latest_versions', 'order_id') }}

),

judged as (

    select
        order_id,
        customer_id,
        status,
        currency,
        total_minor,
        ordered_at,
        updated_at,
        {{ first_quarantine_reason(rules) }} as quarantine_reason,
        {{ quarantine_reasons(rules) }} as quarantine_reasons,
        _version_key,
        _dlt_loaded_at,
        _dlt_load_id

    from checked

)

select * from judged
