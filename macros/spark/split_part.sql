{#
    `dbt.split_part` on Spark, with DuckDB's meaning: a part past either end is '' and a
    negative part counts from the end. dbt-spark 1.11 indexes the array `split()` returns,
    which fails under ANSI mode (Spark 4's default) for a path with fewer parts than asked,
    and treats the delimiter as a regular expression. Spark's own `split_part` (3.3 and
    later) behaves like DuckDB's.
#}
{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}
