{#
    Typed-with-verdict step under stg_shop__products and its quarantine model, so that both
    read one set of rules. Keeps the latest version of each product from complete loads;
    only that version is judged (older versions are history, kept by the snapshots).
#}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_amount', 'has_invalid_amount'),
    ('invalid_timestamp', 'has_invalid_timestamp'),
    ('invalid_currency', 'has_invalid_currency'),
    ('invalid_value', 'has_invalid_value'),
] -%}

with

products as (

    {{ latest_complete_load(source('raw_shop', 'products'), source('raw_shop', '_dlt_loads')) }}

),

currencies as (

    select currency_code

    from {{ ref('currencies') }}

),

typed as (

    select
        {{ blank_to_null('products.product_id') }} as product_id,
        {{ version_key(blank_to_null('products.product_id')) }} as _version_key,
        {{ blank_to_null('products.sku') }} as sku,
        {{ blank_to_null('products.name') }} as product_name,
        {{ blank_to_null('products.category') }} as category,
        currencies.currency_code as currency,
        {{ safe_cast_integer('products.list_price_minor') }} as list_price_minor,
        {{ safe_cast_timestamp_utc('products.updated_at') }} as updated_at,
        products._dlt_loaded_at,
        products._dlt_load_id

    from products

    left join currencies
        on products.currency = currencies.currency_code

),

latest_versions as (

    select
        *,
        {{ latest_version_rank('product_id') }} as version_rank

    from typed

),

checked as (

    select
        *,
        product_id is null as is_missing_key,
        coalesce(list_price_minor < 0, true) as has_invalid_amount,
        updated_at is null as has_invalid_timestamp,
        currency is null as has_invalid_currency,
        sku is null or product_name is null or category is null as has_invalid_value

    from latest_versions

    where
        version_rank = 1
        and not {{ is_superseded_by_held_version('latest_versions', 'product_id') }}

),

judged as (

    select
        product_id,
        sku,
        product_name,
        category,
        currency,
        list_price_minor,
        updated_at,
        {{ first_quarantine_reason(rules) }} as quarantine_reason,
        {{ quarantine_reasons(rules) }} as quarantine_reasons,
        _version_key,
        _dlt_loaded_at,
        _dlt_load_id

    from checked

)

select * from judged
