{#
    How much history one event-time batch of the incremental models covers: a month, so a
    nightly rebuilds the months its window touches. For a build whose window spans years (a
    backfill, a full refresh) the runner sets the var `event_time_batch_size` to `year` when
    DuckDB may use 4 GB or more: every batch looks across all history for the partners of its
    rows, so sixty monthly batches of a five-year refresh cost sixty times that look, but a
    year's batch needs more memory than a 2 GiB cap leaves (runner/dbt.py).
#}
{% macro event_time_batch_size() -%}
    {{ return(var('event_time_batch_size', 'month')) }}
{%- endmacro %}

{# Spark's partitions of an incremental model; DuckDB's tables take none (dbt-duckdb warns). #}
{% macro spark_partitions(columns) -%}
    {{ return(columns if target.type == 'spark' else none) }}
{%- endmacro %}
