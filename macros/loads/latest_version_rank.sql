{#
    Ranks the versions of a shop row, 1 for the latest: the newest `updated_at` wins, and
    among equal ones the newest load (an unchanged row extracted twice). A version whose
    `updated_at` could not be read ranks last: it cannot be placed in the history.
    LIMITATION: such a version, when another version of the row wins, is neither staged nor
    quarantined, so quarantine_rows misses it. Judging every version (not only the latest)
    would list it, at the cost of repeating a bad row once per extraction.
    Use on the output of `latest_complete_load`, which provides `_dlt_loaded_at`.
#}
{% macro latest_version_rank(key_column, updated_at_column='updated_at') -%}
    row_number() over (
        partition by {{ key_column }}
        order by
            {{ updated_at_column }} desc nulls last,
            _dlt_loaded_at desc,
            _dlt_load_id desc
    )
{%- endmacro %}


{#
    The key a shop row's versions share, never null, so that an incremental model can replace
    the version it holds (`unique_key`): a blank key and a missing one are the same row, as
    they are to `latest_version_rank`.
#}
{% macro version_key(key_column) -%}
    coalesce({{ key_column }}, '')
{%- endmacro %}


{#
    In an incremental model, true when the model already holds a version of the row in
    `relation_name` that ranks above it (see `latest_version_rank`). Rows from later loads win
    ties, so a held version wins only with a newer `updated_at`, or a readable one where the
    new version's could not be read. Outside an incremental run, `false`.
#}
{% macro is_superseded_by_held_version(
    relation_name, key_column, updated_at_column='updated_at'
) -%}
    {%- if is_incremental() -%}
        exists (
            select 1
            from {{ this }} as held_versions
            where
                held_versions._version_key = {{ version_key(relation_name ~ '.' ~ key_column) }}
                and (
                    held_versions.{{ updated_at_column }}
                    > {{ relation_name }}.{{ updated_at_column }}
                    or (
                        {{ relation_name }}.{{ updated_at_column }} is null
                        and held_versions.{{ updated_at_column }} is not null
                    )
                )
        )
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}
