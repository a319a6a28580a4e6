{#
    Scoping for the reconciliation models, which dbt builds in monthly event-time batches
    (microbatch). A batch must return exactly the rows dated in its month: dbt replaces the
    month's rows with what the batch returns. Matching still looks across months (a charge
    for an order of the month before, every refund of an order), so these models read their
    inputs whole (`ref(...).render()`, which dbt does not filter) and scope them themselves.
    A scope (the keys of the batch) reads its model straight rather than the model's import
    CTE: DuckDB materializes a CTE that two others read, which for a five-year staging table
    costs more than the batch itself.

    A build rebuilds the months of its window (the business days its new loads touch, see
    runner/windows.py) and the month before (`lookback=1`). A row depends on records dated
    at or after it, and within days: a charge on its order's day, a payout's bank line one to
    three business days later, a posting on the day of what it posts. So every row whose
    inputs changed is rebuilt.
    LIMITATION: a record that arrives more than a month after the row it completes (a
    charge created a month after its order, a bank statement withheld for over a month)
    is matched only by a build over that row's month (`--start/--end`) or a full refresh.

    `in_batch(column)`: the date `column` falls in the batch's month; true outside a batch (a
    unit test).
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


{#
    A key to join on where a missing key must match other missing keys, as rows without a
    key fall into one partition of a window: `''` for null (keys are never blank, staging
    turns blank text into null).
#}
{% macro nullable_key(column) -%}
    coalesce({{ column }}, '')
{%- endmacro %}
