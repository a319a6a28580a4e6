{#
    Every delivered data file checked against its manifest: the row count, the sha256 of the
    file and the control sums. The loaded side counts every row of the file's newest complete
    load, quarantined rows included, because the manifest describes the file as written; its
    sums skip the values that are not integers (or, for the bank, not decimals), as the
    manifest's sums do.

    The file's sha256 is the one dlt recorded in `landed_files` when it read the file, which
    covers header-only files (no rows to carry it); every loaded row must carry the same one.
    A file with a manifest that dlt never read, or rejected (see quarantine_files), is not
    loaded and does not match.
#}
{%- set systems = {
    'payments': {
        'table': 'balance_transactions',
        'sums': {'amount_minor_sum': 'amount_minor'},
    },
    'bank': {
        'table': 'statement_lines',
        'sums': {'amount_minor_sum': 'amount_minor'},
    },
    'ledger': {
        'table': 'journal_lines',
        'sums': {'debit_minor_sum': 'debit_minor', 'credit_minor_sum': 'credit_minor'},
    },
} -%}
{%- set sum_names = ['amount_minor_sum', 'debit_minor_sum', 'credit_minor_sum'] -%}

with

{% for system, spec in systems.items() %}
    {{ system }}_rows as (

        select * from {{ ref('base_' ~ system ~ '__' ~ spec.table) }}

    ),

    {{ system }}_manifests as (

        select * from {{ ref('stg_' ~ system ~ '__manifests') }}

    ),

    {{ system }}_landed_files as (

        select * from {{ ref('stg_' ~ system ~ '__landed_files') }}

    ),

{% endfor -%}

loaded_files as (

    {% for system, spec in systems.items() -%}
        select
            '{{ system }}' as source_system,
            _source_file as source_file,
            min(lower(_file_sha256)) as row_sha256,
            count(distinct _file_sha256) as count_row_sha256s,
            count(*) as count_loaded_rows,
            sum(case when quarantine_reason is null then 1 else 0 end) as count_staged_rows,
            sum(
                case when quarantine_reason is not null then 1 else 0 end
            ) as count_quarantined_rows,
        {%- for name in sum_names %}
            {%- if name in spec.sums %}
                sum({{ spec.sums[name] }}) as loaded_{{ name }}
            {%- else %}
                cast(null as {{ dbt.type_bigint() }}) as loaded_{{ name }}
            {%- endif %}
            {{- ',' if not loop.last }}
        {%- endfor %}

        from {{ system }}_rows

        group by 1, 2
        {%- if not loop.last %}

            union all

        {% endif %}
    {% endfor %}

),

landed_files as (

    {% for system, spec in systems.items() -%}
        select
            '{{ system }}' as source_system,
            source_file,
            file_sha256

        from {{ system }}_landed_files
        {%- if not loop.last %}

            union all

        {% endif %}
    {% endfor %}

),

delivered_files as (

    select
        landed_files.file_sha256 as loaded_sha256,
        loaded_files.row_sha256,
        loaded_files.count_row_sha256s,
        loaded_files.count_loaded_rows,
        loaded_files.count_staged_rows,
        loaded_files.count_quarantined_rows,
        loaded_files.loaded_amount_minor_sum,
        loaded_files.loaded_debit_minor_sum,
        loaded_files.loaded_credit_minor_sum,
        coalesce(landed_files.source_system, loaded_files.source_system) as source_system,
        coalesce(landed_files.source_file, loaded_files.source_file) as source_file

    from landed_files

    -- Full: rows of a file dlt has no record of must still be counted (and fail the sha256).
    full outer join loaded_files
        on
            landed_files.source_system = loaded_files.source_system
            and landed_files.source_file = loaded_files.source_file

),

manifests as (

    {% for system, spec in systems.items() -%}
        select
            '{{ system }}' as source_system,
            data_source_file as source_file,
            source_file as manifest_source_file,
            delivery_date,
            sha256 as manifest_sha256,
            record_count as manifest_record_count,
        {%- for name in sum_names %}
            {%- if name in spec.sums %}
                {{ name }} as manifest_{{ name }}
            {%- else %}
                cast(null as {{ dbt.type_bigint() }}) as manifest_{{ name }}
            {%- endif %}
            {{- ',' if not loop.last }}
        {%- endfor %}

        from {{ system }}_manifests
        {%- if not loop.last %}

            union all

        {% endif %}
    {% endfor %}

),

files_joined_to_manifests as (

    select
        coalesce(manifests.source_system, delivered_files.source_system) as source_system,
        coalesce(manifests.source_file, delivered_files.source_file) as source_file,
        manifests.manifest_source_file,
        manifests.manifest_sha256,
        delivered_files.loaded_sha256,
        delivered_files.row_sha256,
        coalesce(delivered_files.count_row_sha256s, 0) as count_row_sha256s,
        manifests.manifest_record_count,
        coalesce(delivered_files.count_loaded_rows, 0) as count_loaded_rows,
        coalesce(delivered_files.count_staged_rows, 0) as count_staged_rows,
        coalesce(delivered_files.count_quarantined_rows, 0) as count_quarantined_rows,
        {%- for name in sum_names %}
            manifests.manifest_{{ name }},
            delivered_files.loaded_{{ name }},
        {%- endfor %}
        manifests.manifest_source_file is not null as has_manifest,
        delivered_files.source_file is not null as is_loaded,
        coalesce(
            manifests.delivery_date,
            {{ safe_cast_date(dbt.split_part('delivered_files.source_file', "'/'", 2)) }}
        ) as delivery_date

    from manifests

    full outer join delivered_files
        on
            manifests.source_system = delivered_files.source_system
            and manifests.source_file = delivered_files.source_file

),

checked as (

    select
        *,
        coalesce(manifest_record_count = count_loaded_rows, false) as is_count_matching,
        coalesce(
            manifest_sha256 = loaded_sha256
            -- A header-only file has no rows to carry the sha256.
            and (count_row_sha256s = 0 or (count_row_sha256s = 1 and row_sha256 = loaded_sha256)),
            false
        ) as is_sha256_matching,
        (
            {%- for name in sum_names %}
                coalesce(manifest_{{ name }}, 0) = coalesce(loaded_{{ name }}, 0)
                {%- if not loop.last %} and{% endif %}
            {%- endfor %}
        ) as is_sum_matching

    from files_joined_to_manifests

),

judged as (

    select
        source_system,
        source_file,
        manifest_source_file,
        manifest_sha256,
        loaded_sha256,
        manifest_record_count,
        count_loaded_rows,
        count_staged_rows,
        count_quarantined_rows,
        {%- for name in sum_names %}
            manifest_{{ name }},
            loaded_{{ name }},
        {%- endfor %}
        has_manifest,
        is_loaded,
        is_count_matching,
        is_sha256_matching,
        is_sum_matching,
        delivery_date,
        (
            has_manifest and is_count_matching and is_sha256_matching and is_sum_matching
        ) as is_matching_manifest

    from checked

)

select * from judged
