{#
    Typed-with-verdict step under stg_shop__order_lines and its quarantine model, so that
    both read one set of rules. Keeps the latest version of each order line from complete
    loads; only that version is judged (older versions are history).
#}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_amount', 'has_invalid_amount'),
    ('invalid_timestamp', 'has_invalid_timestamp'),
    ('invalid_value', 'has_invalid_value'),
] -%}

with

order_lines as (

    {{ latest_complete_load(source('raw_shop', 'order_lines'), source('raw_shop', '_dlt_loads')) }}

),

typed as (

    select
        {{ blank_to_null('order_lines.order_line_id') }} as order_line_id,
        {{ version_key(blank_to_null('order_lines.order_line_id')) }} as _version_key,
        {{ blank_to_null('order_lines.order_id') }} as order_id,
        {{ blank_to_null('order_lines.product_id') }} as product_id,
        {{ safe_cast_integer('order_lines.quantity') }} as quantity,
        {{ safe_cast_integer('order_lines.unit_price_minor') }} as unit_price_minor,
        {{ safe_cast_timestamp_utc('order_lines.updated_at') }} as updated_at,
        order_lines._dlt_loaded_at,
        order_lines._dlt_load_id

    from order_lines

),

latest_versions as (

    select
        *,
        {{ latest_version_rank('order_line_id') }} as version_rank

    from typed

),

checked as (

    select
        *,
        (
            order_line_id is null or order_id is null or product_id is null
        ) as is_missing_key,
        coalesce(unit_price_minor < 0, true) as has_invalid_amount,
        updated_at is null as has_invalid_timestamp,
        coalesce(quantity <= 0, true) as has_invalid_value

    from latest_versions

    where
        version_rank = 1
        and not {{ is_superseded_by_held_version('latest_versions', 'order_line_id') }}

),

judged as (

    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price_minor,
        updated_at,
        {{ first_quarantine_reason(rules) }} as quarantine_reason,
        {{ quarantine_reasons(rules) }} as quarantine_reasons,
        _version_key,
        _dlt_loaded_at,
        _dlt_load_id

    from checked

)

select * from judged
