{#
    Ranks the versions of a shop row, 1 for the latest: the newest `updated_at` wins, and
    among equal ones the newest load (an unchanged row extracted twice). A version whose
    `updated_at` could not be read ranks last: it cannot be placed in the history.
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
