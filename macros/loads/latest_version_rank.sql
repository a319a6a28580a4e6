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
