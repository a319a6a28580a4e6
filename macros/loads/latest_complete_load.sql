{#
    The rows of a raw dlt table that belong to complete loads, as a select statement to use as
    a CTE body.

    dlt writes a load's rows before it marks the load complete (`_dlt_loads.status = 0`), so a
    load that failed half-way leaves rows behind: they are never visible. With `partition_by`
    (for file tables, `_source_file`), only the newest complete load of each partition is
    kept: a re-sent file supersedes the one before as a whole, never row by row. Loads are
    ordered by the time dlt recorded them, then by load id.

    Adds `_dlt_loaded_at`, the time of the row's load.
#}
{% macro latest_complete_load(relation, loads_relation, partition_by=none) -%}
    select
        ranked_rows.*
    from (
        select
            raw_rows.*,
            complete_loads.inserted_at as _dlt_loaded_at,
            {%- if partition_by %}
                rank() over (
                    partition by raw_rows.{{ partition_by }}
                    order by complete_loads.inserted_at desc, complete_loads.load_id desc
                ) as _dlt_load_rank
            {%- else %}
                1 as _dlt_load_rank
            {%- endif %}
        from {{ relation }} as raw_rows
        inner join {{ loads_relation }} as complete_loads
            on raw_rows._dlt_load_id = complete_loads.load_id
        where complete_loads.status = 0
    ) as ranked_rows
    where ranked_rows._dlt_load_rank = 1
{%- endmacro %}
