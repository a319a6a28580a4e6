{#
    The typed-with-verdict step of one system's manifests (`<system>/YYYY-MM-DD/_manifest.json`).

    The three delivering systems write the same manifest with different control totals, so one
    macro types them all: `integer_sums` are integer control totals in minor units,
    `decimal_sums` are decimals in major units ("1234.50") converted to minor units with
    `decimal_to_minor` and renamed `<name>_minor`. Keeps the newest complete load of each
    manifest file and flags each rule a manifest breaks.

    `data_source_file` is the path of the data file the manifest describes: its folder plus
    the file name it states (only the name's last part, so a manifest may state either).
    `delivery_part` is the `HHMM` of an intraday part's manifest (`_manifest-HHMM.json`), taken
    from the manifest's own path, and null for a whole day's `_manifest.json`.
#}
{% macro base_manifests(system, integer_sums=[], decimal_sums=[]) -%}
{%- set rules = [
    ('missing_key', 'is_missing_key'),
    ('invalid_amount', 'has_invalid_amount'),
    ('invalid_timestamp', 'has_invalid_timestamp'),
    ('invalid_date', 'has_invalid_date'),
    ('invalid_value', 'has_invalid_value'),
] -%}
{%- set sum_columns = [] -%}
{%- for name in integer_sums %}{% do sum_columns.append(name) %}{% endfor -%}
{%- for name in decimal_sums %}{% do sum_columns.append(name ~ '_minor') %}{% endfor -%}

with

manifests as (

    {{ tally.latest_complete_load(
        source('raw_' ~ system, 'manifests'),
        source('raw_' ~ system, '_dlt_loads'),
        partition_by='_source_file',
    ) }}

),

typed as (

    select
        _source_file,
        _file_sha256,
        _dlt_loaded_at,
        _dlt_load_id,
        {{ tally.blank_to_null('file') }} as file_name,
        lower({{ tally.blank_to_null('sha256') }}) as sha256,
        {{ tally.safe_cast_integer('record_count') }} as record_count,
        {%- for name in integer_sums %}
            {{ tally.safe_cast_integer(name) }} as {{ name }},
        {%- endfor %}
        {%- for name in decimal_sums %}
            {{ tally.decimal_to_minor(name) }} as {{ name }}_minor,
        {%- endfor %}
        {{ tally.safe_cast_date(dbt.split_part('_source_file', "'/'", 2)) }} as delivery_date,
        nullif(
            {{ dbt.split_part(
                dbt.split_part(dbt.split_part('_source_file', "'/'", 3), "'-'", 2), "'.'", 1
            ) }},
            ''
        ) as delivery_part,
        {{ tally.safe_cast_timestamp_utc('generated_at') }} as generated_at,
        {{ dbt.concat([
            dbt.split_part('_source_file', "'/'", 1),
            "'/'",
            dbt.split_part('_source_file', "'/'", 2),
            "'/'",
            dbt.split_part(tally.blank_to_null('file'), "'/'", -1),
        ]) }} as data_source_file

    from manifests

),

checked as (

    select
        *,
        file_name is null as is_missing_key,
        delivery_date is null as has_invalid_date,
        generated_at is null as has_invalid_timestamp,
        {%- if sum_columns %}
            {% for name in sum_columns %}{{ name }} is null{% if not loop.last %} or {% endif %}
            {%- endfor %} as has_invalid_amount,
        {%- else %}
            false as has_invalid_amount,
        {%- endif %}
        (
            coalesce(record_count < 0, true)
            or not {{ tally.matches_pattern('sha256', '[0-9a-f]{64}') }}
        ) as has_invalid_value

    from typed

),

judged as (

    select
        file_name,
        data_source_file,
        sha256,
        record_count,
        {%- for name in sum_columns %}
            {{ name }},
        {%- endfor %}
        delivery_part,
        delivery_date,
        generated_at,
        {{ tally.first_quarantine_reason(rules) }} as quarantine_reason,
        {{ tally.quarantine_reasons(rules) }} as quarantine_reasons,
        _source_file,
        _file_sha256,
        _dlt_loaded_at,
        _dlt_load_id

    from checked

)

select * from judged
{%- endmacro %}
