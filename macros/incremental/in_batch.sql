{#
    Scoping for the reconciliation models, which dbt builds in monthly event-time batches
    (microbatch). A batch must return exactly the rows dated in its month: dbt replaces the
    month's rows with what the batch returns. Matching still looks across months (a charge
    for an order of the month before, every refund of an order), so these models read their
    inputs whole (`ref(...).render()`, which dbt does not filter) and scope them themselves.
    A scope (the keys of the batch) reads its model straight rather than the model's import
    CTE: DuckDB materializes a CTE that two others read, which for a five-year staging table
    costs more than the batch itself.


    - `in_batch(column)`: the date `column` falls in the batch's month (true outside a batch:
      a unit test, or a model built whole);
    - `in_batch_keys(column, keys_sql)`: `column` is one of the keys `keys_sql` selects, the
      keys that rows of the batch's month touch (true outside a batch).
#}
{% macro in_batch(column) -%}
    {%- set batch = model.get('batch') -%}
    {%- if batch -%}
        (
            {{ column }} >= cast('{{ batch.event_time_start.date().isoformat() }}' as date)
            and {{ column }} < cast('{{ batch.event_time_end.date().isoformat() }}' as date)
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{% macro in_batch_keys(column, keys_sql) -%}
    {%- if model.get('batch') -%}
        {{ column }} in ({{ keys_sql }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#
    A key to join on where a missing key must match other missing keys, as rows without a
    key fall into one partition of a window: `''` for null (keys are never blank, staging
    turns blank text into null).
#}
{% macro nullable_key(column) -%}
    coalesce({{ column }}, '')
{%- endmacro %}
