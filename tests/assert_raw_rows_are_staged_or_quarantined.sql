-- Every row of a delivered file ends in staging or in quarantine, exactly once: per file,
-- the rows of its newest complete load in raw equal the rows in staging plus the rows in
-- quarantine_rows. Counted along independent paths (raw tables, staging models, the
-- quarantine union), so a join that drops or repeats rows shows up here.
-- A returned row is a file whose counts disagree, with the three counts.
{%- set file_tables = [
    ('payments', 'balance_transactions', 'stg_payments__balance_transactions'),
    ('bank', 'statement_lines', 'stg_bank__statement_lines'),
    ('ledger', 'journal_lines', 'stg_ledger__journal_lines'),
    ('fx', 'rates', 'stg_fx__rates'),
] %}

with

{% for system, table, staging_model in file_tables %}
    raw_{{ system }}_rows as (

        {{ latest_complete_load(
            source('raw_' ~ system, table),
            source('raw_' ~ system, '_dlt_loads'),
            partition_by='_source_file',
        ) }}

    ),

    staged_{{ system }}_rows as (

        select source_file

        from {{ ref(staging_model) }}

    ),

{% endfor -%}

quarantine_rows as (

    select source_file

    from {{ ref('quarantine_rows') }}

),

raw_counts as (

    {% for system, table, staging_model in file_tables -%}
        select
            _source_file as source_file,
            count(*) as count_raw_rows

        from raw_{{ system }}_rows

        group by 1
        {%- if not loop.last %}

            union all

        {% endif %}
    {% endfor %}

),

staged_counts as (

    {% for system, table, staging_model in file_tables -%}
        select
            source_file,
            count(*) as count_staged_rows

        from staged_{{ system }}_rows

        group by 1
        {%- if not loop.last %}

            union all

        {% endif %}
    {% endfor %}

),

quarantined_counts as (

    select
        source_file,
        count(*) as count_quarantined_rows

    from quarantine_rows

    group by 1

),

compared as (

    select
        raw_counts.source_file,
        raw_counts.count_raw_rows,
        coalesce(staged_counts.count_staged_rows, 0) as count_staged_rows,
        coalesce(quarantined_counts.count_quarantined_rows, 0) as count_quarantined_rows

    from raw_counts

    left join staged_counts
        on raw_counts.source_file = staged_counts.source_file

    left join quarantined_counts
        on raw_counts.source_file = quarantined_counts.source_file

)

select * from compared

where count_raw_rows != count_staged_rows + count_quarantined_rows
