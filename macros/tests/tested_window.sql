{#
    A scheduled build (the nightly job, a watch batch) tests the business days it loaded, not
    five years: the runner sets the var `tested_window` with the build's window
    (`backfill_start_date`, `backfill_end_date`), and a generic test of a model that names
    its business-date column (`meta.window_column`, a date or a timestamp) reads only the
    rows of those days. The days before were tested by the builds that loaded them. Any other
    build (`run.py build`, a full refresh, `dbt build`, CI) tests every row.

    `get_where_subquery` is dbt's hook for a test's `where`, extended here; `sums_agree`
    narrows the model it compares with to the same days.
#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set window_predicate = tested_window_predicate(relation) -%}
    {%- set predicates = [] -%}
    {%- if where %}{% do predicates.append('(' ~ where ~ ')') %}{% endif -%}
    {%- if window_predicate %}{% do predicates.append(window_predicate) %}{% endif -%}
    {%- if predicates -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ predicates | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}


{# `relation`, narrowed to the tested window when the build has one and the model a column. #}
{% macro tested_window_relation(relation) -%}
    {%- set window_predicate = tested_window_predicate(relation) -%}
    {%- if window_predicate -%}
        (select * from {{ relation }} where {{ window_predicate }}) as tested_window
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}


{#
    The predicate keeping the rows of the tested window in `relation`, or none: outside a
    scheduled build, for a relation that is no model of the project, or for a model without
    `meta.window_column`.
#}
{% macro tested_window_predicate(relation) -%}
    {%- if not (execute and var('tested_window', false)) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set start = var('backfill_start_date', none) -%}
    {%- set end = var('backfill_end_date', none) -%}
    {%- if start is none or end is none or relation is string -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model'
            and node.alias | lower == relation.identifier | lower
            and node.schema | lower == relation.schema | lower -%}
            {%- set column = (node.config.meta or {}).get('window_column') -%}
            {%- if column -%}
                {%- set day = 'cast(' ~ column ~ ' as date)' -%}
                {{ return(
                    day ~ " >= cast('" ~ start ~ "' as date) and "
                    ~ day ~ " <= cast('" ~ end ~ "' as date)"
                ) }}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
