{#
    Snapshots on Spark's Parquet tables. dbt-spark's snapshot merges the changes into the
    table, which only Delta, Iceberg and Hudi can do: Parquet has no MERGE and no UPDATE. Here
    the snapshot's next state is written to a table beside it, then overwrites the snapshot:
    every row it held, with the versions that the changes supersede closed, and the new
    versions. The changes are dbt's own (`snapshot_staging_table`), so the strategies, the
    column names and `hard_deletes` mean what they mean on any other adapter. Tables in another
    format go to dbt-spark's materialization.
    LIMITATION: each run rewrites the whole snapshot, so its cost grows with the snapshot. And
    a Parquet overwrite is not atomic: a run killed while Spark commits it (swapping the old
    files for the new) can leave the snapshot partial, and the next run builds on what is
    left. A kill at any other point leaves the snapshot as it was. Fix: `+file_format: delta`,
    which takes dbt-spark's MERGE; or here, drop and rename with `__dbt_next` kept until the
    rename is done, and renamed into place by the next run when the snapshot is missing.
#}
{% materialization snapshot, adapter='spark' %}
    {%- set file_format = config.get('file_format') or 'parquet' -%}
    {%- if file_format != 'parquet' -%}
        {{ return(dbt.materialization_snapshot_spark()) }}
    {%- endif -%}

    {%- set target_relation_exists, target_relation = get_or_create_relation(
        database=none,
        schema=model.schema,
        identifier=model.get('alias', model.get('name')),
        type='table',
    ) -%}
    {%- if not target_relation.is_table -%}
        {%- do exceptions.relation_wrong_type(target_relation, 'table') -%}
    {%- endif -%}
    {%- if not adapter.check_schema_exists(model.database, model.schema) -%}
        {%- do create_schema(model.schema) -%}
    {%- endif -%}

    {{ run_hooks(pre_hooks) }}

    {%- set strategy_macro = strategy_dispatch(config.get('strategy')) -%}
    {%- set strategy = strategy_macro(
        model, 'snapshotted_data', 'source_data', model['config'], target_relation_exists
    ) -%}

    {%- if not target_relation_exists -%}
        {%- call statement('main') -%}
            {{ create_table_as(False, target_relation, build_snapshot_table(strategy, sql)) }}
        {%- endcall -%}
    {%- else -%}
        {%- set column_names = (
            config.get('snapshot_table_column_names') or get_snapshot_table_column_names()
        ) -%}
        {{ adapter.valid_snapshot_target(target_relation, column_names) }}

        {%- set changes = api.Relation.create(
            schema=target_relation.schema,
            identifier=target_relation.identifier ~ '__dbt_changes',
            type='view',
        ) -%}
        {%- set next_state = api.Relation.create(
            schema=target_relation.schema,
            identifier=target_relation.identifier ~ '__dbt_next',
            type='table',
        ) -%}
        {#- Left by a run that stopped half-way; the snapshot itself is whole until the overwrite. -#}
        {%- do adapter.drop_relation(next_state) -%}
        {%- call statement('snapshot_changes') -%}
            {{ create_view_as(changes, snapshot_staging_table(strategy, sql, target_relation)) }}
        {%- endcall -%}

        {%- set bookkeeping = ['dbt_change_type', 'dbt_unique_key'] -%}
        {%- set new_columns = adapter.get_missing_columns(changes, target_relation)
            | rejectattr('name', 'in', bookkeeping) | list -%}
        {%- do create_columns(target_relation, new_columns) -%}
        {%- set target_columns = adapter.get_columns_in_relation(target_relation)
            | map(attribute='name') | list -%}

        {%- call statement('snapshot_next_state') -%}
            {{ create_table_as(
                False,
                next_state,
                tally_snapshot_next_state(target_relation, changes, target_columns, column_names),
            ) }}
        {%- endcall -%}
        {%- call statement('main') -%}
            insert overwrite table {{ target_relation }}
            select
            {%- for column in target_columns %}
                {{ adapter.quote(column) }}{{ ',' if not loop.last }}
            {%- endfor %}
            from {{ next_state }}
        {%- endcall -%}
        {%- do adapter.drop_relation(next_state) -%}
        {%- do adapter.drop_relation(changes) -%}
    {%- endif -%}

    {%- do apply_grants(
        target_relation,
        config.get('grants'),
        should_revoke(target_relation_exists, full_refresh_mode=false),
    ) -%}
    {%- do persist_docs(target_relation, model) -%}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#
    The snapshot after `changes`, as MERGE would leave it: a current version that a change
    supersedes (an update, or a deletion when `hard_deletes` invalidates) gets the change's
    `dbt_valid_to`; a new version whose `dbt_scd_id` the snapshot does not hold yet is added.
#}
{% macro tally_snapshot_next_state(snapshot, changes, target_columns, column_names) -%}
    {%- set valid_to = column_names.dbt_valid_to -%}
    {%- set scd_id = column_names.dbt_scd_id -%}
    {%- set current_valid_to = config.get('dbt_valid_to_current') -%}
    with superseded as (
        select
            {{ scd_id }} as superseded_scd_id,
            {{ valid_to }} as superseded_at
        from {{ changes }}
        where dbt_change_type in ('update', 'delete')
    )

    select
        {%- for column in target_columns %}
            {%- if column == valid_to %}
                case
                    when superseded.superseded_scd_id is not null
                        and (
                            snapshotted.{{ valid_to }} is null
                            {%- if current_valid_to %}
                                or snapshotted.{{ valid_to }} = {{ current_valid_to }}
                            {%- endif %}
                        )
                        then superseded.superseded_at
                    else snapshotted.{{ valid_to }}
                end as {{ adapter.quote(column) }}
            {%- else %}
                snapshotted.{{ adapter.quote(column) }}
            {%- endif %}
            {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ snapshot }} as snapshotted
    left join superseded
        on snapshotted.{{ scd_id }} = superseded.superseded_scd_id

    union all

    select
        {%- for column in target_columns %}
            new_versions.{{ adapter.quote(column) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ changes }} as new_versions
    where
        new_versions.dbt_change_type = 'insert'
        and not exists (
            select 1
            from {{ snapshot }} as snapshotted
            where snapshotted.{{ scd_id }} = new_versions.{{ scd_id }}
        )
{%- endmacro %}
