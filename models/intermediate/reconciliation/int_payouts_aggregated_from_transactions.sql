{#
    One row per payout the processor reports, rebuilt from its transactions. All succeeded
    transactions created on one day in one currency form one payout, so the payout's date is
    the day of its transactions and its net is what the bank should receive. Transactions
    without a payout id are not paid out yet and belong to no payout.
#}
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

    from {{ ref('stg_payments__balance_transactions') }}

    where
        transaction_status = 'succeeded'
        and payout_id is not null

),

aggregated as (

    select
        payout_id,
        min(currency_code) as currency_code,
        sum(amount_minor) as gross_minor,
        sum(fee_minor) as fee_minor,
        sum(net_minor) as net_minor,
        count(*) as count_transactions,
        count(distinct currency_code) as count_currencies,
        min(created_date) as payout_date,
        max(available_on_date) as available_on_date

    from paid_out_transactions

    group by 1

)

select * from aggregated
