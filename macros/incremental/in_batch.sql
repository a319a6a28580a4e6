{#
    Scoping for the reconciliation models, which dbt builds in event-time batches
    (microbatch): a month each on a nightly, a year each on a backfill of years (see
    `event_time_batch_size`). A batch must return exactly the rows dated in its period: dbt
    replaces the period's rows with what the batch returns. Matching still looks across
    periods (a charge for an order of the month before, every refund of an order), so these
    models read their inputs whole (`ref(...).render()`, which dbt does not filter) and scope
    them themselves.
    A scope (the keys of the batch) reads its model straight rather than the model's import
    CTE: DuckDB materializes a CTE that two others read, which for a five-year staging table
    costs more than the batch itself.

    The runner's build rebuilds the months of its window: the business days its new loads
    touch, changed orders' days included, and the week before them (see runner/windows.py,
    `MATCHING_LAG_DAYS`). A row depends on records dated at or after it: a charge on its
    order's day, a payout's bank line up to three business days later, a refund or a posting
    after what it refunds or posts. So every row whose inputs changed is rebuilt.
    LIMITATION: a record that completes a row more than a week older than itself (a charge
    created a month after its order) rebuilds that row only when the row's month is in a
    window too (`--start/--end`, a full refresh). `dbt build` without the runner's window
    rebuilds the current and the previous month (`lookback`).

    `in_batch(column)`: the date `column` falls in the batch's period; true outside a batch (a
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
