{#
    Typed-with-verdict step under stg_shop__customers and its quarantine model, so that both
    read one set of rules. Keeps the latest version of each customer from complete loads;
    only that version is judged (older versions are history, kept by the snapshots).
#}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_timestamp', 'has_invalid_timestamp'),
    ('invalid_value', 'has_invalid_value'),
] -%}

with

customers as (

    {{ latest_complete_load(source('raw_shop', 'customers'), source('raw_shop', '_dlt_loads')) }}

),

typed as (

    select
        {{ blank_to_null('customers.customer_id') }} as customer_id,
        {{ version_key(blank_to_null('customers.customer_id')) }} as _version_key,
        {{ blank_to_null('customers.email') }} as email,
        {{ blank_to_null('customers.country_code') }} as country_code,
        {{ safe_cast_timestamp_utc('customers.created_at') }} as created_at,
        {{ safe_cast_timestamp_utc('customers.updated_at') }} as updated_at,
        customers._dlt_loaded_at,
        customers._dlt_load_id

    from customers

),

latest_versions as (

    select
        *,
        {{ latest_version_rank('customer_id') }} as version_rank

    from typed

),

checked as (

    select
        *,
        customer_id is null as is_missing_key,
        created_at is null or updated_at is null as has_invalid_timestamp,
        not {{ matches_pattern('country_code', '[A-Z]{2}') }} as has_invalid_value

    from latest_versions

    where
        version_rank = 1
        and not {{ is_superseded_by_held_version('latest_versions', 'customer_id') }}

),

judged as (

    select
        customer_id,
        email,
        country_code,
        created_at,
        updated_at,
        {{ first_quarantine_reason(rules) }} as quarantine_reason,
        {{ quarantine_reasons(rules) }} as quarantine_reasons,
        _version_key,
        _dlt_loaded_at,
        _dlt_load_id

    from checked

)

select * from judged
