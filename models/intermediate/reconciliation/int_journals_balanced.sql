{#
    One row per ledger journal with its debit and credit totals. A journal balances when its
    debits equal its credits; one that does not is an unbalanced_journal, dated by the day it
    was posted. Built in event-time batches (see `in_batch`): a batch sums every line of the
    journals posted in it.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='business_date',
    partition_by=spark_partitions(['business_date']),
    begin=history_begin(),
    batch_size=event_time_batch_size(),
    lookback=1,
    on_schema_change='fail',
) }}

with

journal_lines as (

    select
        journal_id,
        currency_code,
        debit_minor,
        credit_minor,
        posted_date

    from {{ ref('stg_ledger__journal_lines').render() }}

),

journals_of_the_batch as (

    -- Scopes read the model itself, not its import CTE (see `in_batch`).
    select distinct journal_id

    from {{ ref('stg_ledger__journal_lines').render() }}

    where {{ in_batch('posted_date') }}

),

balanced as (

    select
        journal_lines.journal_id,
        min(journal_lines.currency_code) as currency_code,
        sum(journal_lines.debit_minor) as debit_minor,
        sum(journal_lines.credit_minor) as credit_minor,
        count(*) as count_lines,
        sum(journal_lines.debit_minor) = sum(journal_lines.credit_minor) as is_balanced,
        min(journal_lines.posted_date) as posted_date

    from journal_lines

    inner join journals_of_the_batch
        on journal_lines.journal_id = journals_of_the_batch.journal_id

    group by 1

),

breaks_classified as (

    select
        journal_id,
        currency_code,
        debit_minor,
        credit_minor,
        count_lines,
        is_balanced,
        posted_date as business_date,
        case when not is_balanced then 'unbalanced_journal' end as break_type

    from balanced

    where {{ in_batch('posted_date') }}

)

select * from breaks_classified
