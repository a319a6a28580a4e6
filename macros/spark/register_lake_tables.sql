{#
    Registers the lake's raw tables as external tables on Spark, so that `source()` reads
    them as it reads the raw schemas on DuckDB. Run by the `on-run-start` hook of the Spark
    target; the tables come from the project's own source declarations, so the lake folder
    of a source table is `<lake>/<source schema>/<table>/` (dlt's filesystem layout).

    Tables are dropped and created again on every run, which costs milliseconds: Spark lists a
    table's files and reads its Parquet schema when it is created, so this picks up the files
    and the columns of every load since the last build. Dropping an external table never
    deletes its files. dlt writes its load records (`_dlt_loads`) as JSON lines, not Parquet,
    hence their declared schema.

    The lake is `TALLY_LAKE` (default `data/lake`, relative to where dbt runs); on a cluster
    it must be an address every executor reads (s3://..., abfss://...).
#}
{% macro register_lake_tables(lake=none) -%}
    {#- The graph is empty while dbt parses; there is nothing to register then. -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set lake_root = (lake or env_var('TALLY_LAKE', 'data/lake')).rstrip('/') -%}
    {%- set registered = [] -%}
    {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- set table = source.schema ~ '.' ~ source.identifier -%}
        {%- set location = lake_root ~ '/' ~ source.schema ~ '/' ~ source.identifier -%}
        {%- if source.schema not in registered -%}
            {%- do run_query('create database if not exists ' ~ source.schema) -%}
            {%- do registered.append(source.schema) -%}
        {%- endif -%}
        {%- do run_query('drop table if exists ' ~ table) -%}
        {%- do run_query(tally._lake_table_ddl(table, source.identifier, location)) -%}
    {%- endfor -%}
    {{ log('registered lake tables sources=' ~ graph.sources | length ~ ' lake=' ~ lake_root) }}
{%- endmacro %}


{% macro _lake_table_ddl(table, identifier, location) -%}
    {%- if identifier == '_dlt_loads' -%}
        create table {{ table }} (
            load_id string,
            schema_name string,
            status bigint,
            inserted_at timestamp,
            schema_version_hash string
        )
        using json
        location '{{ location }}'
    {%- else -%}
        {#- Loads may add columns (a malformed row's column appears with the first one). -#}
        create table {{ table }}
        using parquet
        options (mergeSchema 'true')
        location '{{ location }}'
    {%- endif -%}
{%- endmacro %}
