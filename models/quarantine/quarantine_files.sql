{#
    Files dlt could not read at all land in each system's `rejected_files` table rather than
    in a data table; this model lists them all, so no delivery disappears in silence. It keeps
    the newest complete rejection of each file. Whether the file was later re-sent readable,
    and so superseded, shows in int_files_checked_against_manifests (its rows are loaded).
#}
{%- set systems = ['payments', 'bank', 'ledger', 'fx'] -%}

with

{% for system in systems %}
    rejected_{{ system }}_files as (

        {{ latest_complete_load(
            source('raw_' ~ system, 'rejected_files'),
            source('raw_' ~ system, '_dlt_loads'),
            partition_by='_source_file',
        ) }}

    ),

{% endfor -%}

unioned as (

    {% for system in systems -%}
        select
            '{{ system }}' as source_system,
            _source_file as source_file,
            _file_sha256 as file_sha256,
            reason,
            detail,
            _dlt_loaded_at as loaded_at,
            _dlt_load_id

        from rejected_{{ system }}_files
        {%- if not loop.last %}

            union all

        {% endif %}
    {% endfor %}

)

select * from unioned
