{#
    One row per payout the processor reports, rebuilt from its transactions. All succeeded
    transactions created on one day in one currency form one payout, so the payout's date is
    the day of its transactions and its net is what the bank should receive. Transactions
    without a payout id are not paid out yet and belong to no payout. Built in event-time
    batches (see `in_batch`): a batch sums every transaction of the payouts dated in it.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='payout_date',
    partition_by=spark_partitions(['payout_date']),
    begin=history_begin(),
    batch_size=event_time_batch_size(),
    lookback=1,
    on_schema_change='fail',
) }}

with

paid_out_transactions as (

    select
        payout_id,
        currency_code,
        amount_minor,
        fee_minor,
        net_minor,
        created_date,
        available_on_date

    from {{ ref('stg_payments__balance_transactions').render() }}

    where
        transaction_status = 'succeeded'
        and payout_id is not null

),

payouts_of_the_batch as (

    -- Scopes read the model itself, not its import CTE (see `in_batch`).
    select distinct payout_id

    from {{ ref('stg_payments__balance_transactions').render() }}

    where
        transaction_status = 'succeeded'
        and payout_id is not null
        and {{ in_batch('created_date') }}

),

aggregated as (

    select
        paid_out_transactions.payout_id,
        min(paid_out_transactions.currency_code) as currency_code,
        sum(paid_out_transactions.amount_minor) as gross_minor,
        sum(paid_out_transactions.fee_minor) as fee_minor,
        sum(paid_out_transactions.net_minor) as net_minor,
        count(*) as count_transactions,
        count(distinct paid_out_transactions.currency_code) as count_currencies,
        min(paid_out_transactions.created_date) as payout_date,
        max(paid_out_transactions.available_on_date) as available_on_date

    from paid_out_transactions

    inner join payouts_of_the_batch
        on paid_out_transactions.payout_id = payouts_of_the_batch.payout_id

    group by 1

),

batch_payouts as (

    select * from aggregated

    where {{ in_batch('payout_date') }}

)

select * from batch_payouts
