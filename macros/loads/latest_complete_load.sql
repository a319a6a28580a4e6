{#
    The rows of a raw dlt table that belong to complete loads, as a select statement to use as
    a CTE body.

    dlt writes a load's rows before it marks the load complete (`_dlt_loads.status = 0`), so a
    load that failed half-way leaves rows behind: they are never visible. With `partition_by`
    (for file tables, `_source_file`), only the newest complete load of each partition is
    kept: a re-sent file supersedes the one before as a whole, never row by row. Loads are
    ordered by the time dlt recorded them, then by load id. The newest load is picked among
    the (partition, load) pairs, never by ranking the rows themselves: a window over every
    raw row would sort the whole table on each build.

    In an incremental model, only loads recorded after the newest one the model holds are
    read (see `newest_load_seen`): loads are recorded one after another, so every later load
    is newer than anything the model already took, and a partition it re-sends replaces the
    model's rows of that partition (`unique_key`).

    Adds `_dlt_loaded_at`, the time of the row's load.
#}
{% macro latest_complete_load(relation, loads_relation, partition_by=none) -%}
    select
        raw_rows.*,
        complete_loads.inserted_at as _dlt_loaded_at
    from {{ relation }} as raw_rows
    inner join {{ loads_relation }} as complete_loads
        on raw_rows._dlt_load_id = complete_loads.load_id
    where
        complete_loads.status = 0
        {%- if is_incremental() %}
            and complete_loads.inserted_at > ({{ newest_load_seen() }})
        {%- endif %}
        {%- if partition_by %}
            and exists (
                select 1
                from (
                    {{ newest_load_per_partition(relation, loads_relation, partition_by) }}
                ) as newest_loads
                where
                    newest_loads.partition_value = raw_rows.{{ partition_by }}
                    and newest_loads.load_id = raw_rows._dlt_load_id
            )
        {%- endif %}
{%- endmacro %}


{# The newest complete load of each partition of `relation`, as (partition_value, load_id). #}
{% macro newest_load_per_partition(relation, loads_relation, partition_by) -%}
    select
        partition_value,
        load_id
    from (
        select
            partition_loads.partition_value,
            partition_loads.load_id,
            rank() over (
                partition by partition_loads.partition_value
                order by partition_loads.inserted_at desc, partition_loads.load_id desc
            ) as load_rank
        from (
            select
                loaded_rows.{{ partition_by }} as partition_value,
                partition_complete_loads.load_id,
                partition_complete_loads.inserted_at
            from {{ relation }} as loaded_rows
            inner join {{ loads_relation }} as partition_complete_loads
                on loaded_rows._dlt_load_id = partition_complete_loads.load_id
            where
                partition_complete_loads.status = 0
                {%- if is_incremental() %}
                    and partition_complete_loads.inserted_at > ({{ newest_load_seen() }})
                {%- endif %}
            group by 1, 2, 3
        ) as partition_loads
    ) as ranked_loads
    where load_rank = 1
{%- endmacro %}


{#
    The load time of the newest rows an incremental model holds, as a scalar subquery; a
    time before any load when it holds none.
#}
{% macro newest_load_seen() -%}
    {#- In a unit test `this` is a fixture's name, with no columns to look up. -#}
    {%- if execute and this is not string -%}
        {%- set held_columns = adapter.get_columns_in_relation(this) | map(attribute='name') -%}
        {%- if '_dlt_loaded_at' not in held_columns | map('lower') | list -%}
            {{ exceptions.raise_compiler_error(
                '`' ~ this ~ '` has no `_dlt_loaded_at` column, so it cannot tell which loads'
                ~ ' it holds: it was built by an older version of the project. Rebuild it'
                ~ ' from raw once: `python run.py build --full-refresh`.'
            ) }}
        {%- endif -%}
    {%- endif -%}
    select coalesce(max(_dlt_loaded_at), cast('1970-01-01' as {{ dbt.type_timestamp() }}))
    from {{ this }}
{%- endmacro %}
