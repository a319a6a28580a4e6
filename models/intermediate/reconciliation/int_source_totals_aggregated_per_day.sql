{#
    One row per day, total and currency: what each source says moved that day, in minor units
    of the original currency. The daily close converts these to EUR and sets them side by
    side; keeping them long here means every total is converted by the same code.
    Built in event-time batches (see `in_batch`): a batch sums the records dated in it.
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

orders as (

    select
        currency_code,
        total_minor,
        ordered_date

    from {{ ref('stg_shop__orders').render() }}

    where
        order_status in ('paid', 'shipped', 'refunded')
        and {{ in_batch('ordered_date') }}

),

balance_transactions as (

    select
        transaction_type,
        currency_code,
        amount_minor,
        created_date

    from {{ ref('stg_payments__balance_transactions').render() }}

    where
        transaction_status = 'succeeded'
        and {{ in_batch('created_date') }}

),

payouts as (

    select
        currency_code,
        net_minor,
        available_on_date

    from {{ ref('int_payouts_aggregated_from_transactions').render() }}

    where {{ in_batch('available_on_date') }}

),

bank_lines as (

    select
        payout_id,
        currency_code,
        amount_minor,
        booking_date

    from {{ ref('int_payout_ids_parsed_from_bank_lines') }}

    where {{ in_batch('booking_date') }}

),

journal_lines as (

    select
        account_code,
        currency_code,
        debit_minor,
        credit_minor,
        posted_date

    from {{ ref('stg_ledger__journal_lines').render() }}

    where {{ in_batch('posted_date') }}

),

order_totals as (

    select
        ordered_date as business_date,
        'order_total' as total_name,
        currency_code,
        sum(total_minor) as amount_minor

    from orders

    group by 1, 2, 3

),

transaction_totals as (

    select
        created_date as business_date,
        transaction_type || '_total' as total_name,
        currency_code,
        sum(amount_minor) as amount_minor

    from balance_transactions

    where transaction_type in ('charge', 'refund')

    group by 1, 2, 3

),

payout_totals as (

    select
        available_on_date as business_date,
        'payout_net_total' as total_name,
        currency_code,
        sum(net_minor) as amount_minor

    from payouts

    group by 1, 2, 3

),

bank_payout_totals as (

    select
        booking_date as business_date,
        'bank_payout_total' as total_name,
        currency_code,
        sum(amount_minor) as amount_minor

    from bank_lines

    where payout_id is not null

    group by 1, 2, 3

),

bank_line_totals as (

    select
        booking_date as business_date,
        'bank_line_total' as total_name,
        currency_code,
        sum(amount_minor) as amount_minor

    from bank_lines

    group by 1, 2, 3

),

ledger_revenue_totals as (

    select
        posted_date as business_date,
        'ledger_revenue_total' as total_name,
        currency_code,
        sum(credit_minor - debit_minor) as amount_minor

    from journal_lines

    where account_code = '4000'

    group by 1, 2, 3

),

unioned as (

    select * from order_totals
    union all
    select * from transaction_totals
    union all
    select * from payout_totals
    union all
    select * from bank_payout_totals
    union all
    select * from bank_line_totals
    union all
    select * from ledger_revenue_totals

)

select * from unioned
