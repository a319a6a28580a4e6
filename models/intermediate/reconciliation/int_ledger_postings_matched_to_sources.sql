{#
    One row per balanced journal that posts a sale, a refund or a payout, compared with the
    record it references (see the posting table in DESIGN.md):
    - a sale (a 4000 revenue line) must credit revenue with the order total, once per order;
    - a refund (a 4100 line) must debit refunds with what the processor refunded, matched to
      the order's refunds in time order;
    - a payout (a 1100 clearing line and no revenue or refund line) must debit the bank with
      the payout's net and fees with its fees, and credit clearing with its gross.
    Any disagreement, or a reference that names nothing, is a ledger_mismatch. Unbalanced
    journals are left to int_journals_balanced: until they balance, their amounts prove
    nothing. Journals on other accounts (rent, salaries) are not reconciled here.
    Built in event-time batches (see `in_batch`): a batch judges the journals posted in it, ranked
    among every journal that shares a reference with them.
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
        account_code,
        currency_code,
        reference,
        debit_minor,
        credit_minor,
        posted_date,
        posted_at

    from {{ ref('stg_ledger__journal_lines').render() }}

),

journals as (

    select
        journal_id,
        is_balanced

    from {{ ref('int_journals_balanced').render() }}

),

orders as (

    select
        order_id,
        currency_code,
        total_minor

    from {{ ref('stg_shop__orders').render() }}

),

refunds as (

    -- Every succeeded refund, ranked per order in time order by the refund matching.
    select
        transaction_id,
        order_id,
        refund_currency_code,
        refund_amount_minor,
        refund_rank

    from {{ ref('int_refunds_matched_to_orders').render() }}

),

payouts as (

    select
        payout_id,
        currency_code,
        gross_minor,
        fee_minor,
        net_minor

    from {{ ref('int_payouts_aggregated_from_transactions').render() }}

),

journals_posted_in_the_batch as (

    -- Scopes read the model itself, not its import CTE (see `in_batch`).
    select distinct journal_id

    from {{ ref('stg_ledger__journal_lines').render() }}

    where {{ in_batch('posted_date') }}

),

references_of_the_batch as (

    -- Every reference of every journal with a line posted in the batch's month.
    select distinct {{ nullable_key('ledger_lines.reference') }} as reference_key

    from {{ ref('stg_ledger__journal_lines').render() }} as ledger_lines

    inner join journals_posted_in_the_batch
        on ledger_lines.journal_id = journals_posted_in_the_batch.journal_id

),

journals_sharing_a_reference as (

    select distinct ledger_lines.journal_id

    from {{ ref('stg_ledger__journal_lines').render() }} as ledger_lines

    inner join references_of_the_batch
        on {{ nullable_key('ledger_lines.reference') }} = references_of_the_batch.reference_key

),

lines_of_journals_sharing_a_reference as (

    select journal_lines.*

    from journal_lines

    inner join journals_sharing_a_reference
        on journal_lines.journal_id = journals_sharing_a_reference.journal_id

),

journals_summarised_by_account as (

    select
        journal_id,
        min(reference) as reference,
        min(currency_code) as currency_code,
        sum(
            case when account_code = '4000' then credit_minor - debit_minor else 0 end
        ) as revenue_credit_minor,
        sum(
            case when account_code = '4100' then debit_minor - credit_minor else 0 end
        ) as refund_debit_minor,
        sum(
            case when account_code = '1000' then debit_minor - credit_minor else 0 end
        ) as bank_debit_minor,
        sum(
            case when account_code = '6100' then debit_minor - credit_minor else 0 end
        ) as fee_debit_minor,
        sum(
            case when account_code = '1100' then credit_minor - debit_minor else 0 end
        ) as clearing_credit_minor,
        max(case when account_code = '4000' then 1 else 0 end) = 1 as has_revenue_line,
        max(case when account_code = '4100' then 1 else 0 end) = 1 as has_refund_line,
        max(case when account_code = '1100' then 1 else 0 end) = 1 as has_clearing_line,
        min(posted_date) as posted_date,
        min(posted_at) as posted_at

    from lines_of_journals_sharing_a_reference

    group by 1

),

postings_typed as (

    select
        journals_summarised_by_account.journal_id,
        journals_summarised_by_account.reference,
        journals_summarised_by_account.currency_code,
        journals_summarised_by_account.revenue_credit_minor,
        journals_summarised_by_account.refund_debit_minor,
        journals_summarised_by_account.bank_debit_minor,
        journals_summarised_by_account.fee_debit_minor,
        journals_summarised_by_account.clearing_credit_minor,
        journals_summarised_by_account.posted_date,
        journals_summarised_by_account.posted_at,
        case
            when journals_summarised_by_account.has_revenue_line then 'sale'
            when journals_summarised_by_account.has_refund_line then 'refund'
            when journals_summarised_by_account.has_clearing_line then 'payout'
        end as posting_type

    from journals_summarised_by_account

    inner join journals
        on journals_summarised_by_account.journal_id = journals.journal_id

    where journals.is_balanced

),

postings_ranked_per_reference as (

    select
        journal_id,
        reference,
        currency_code,
        posting_type,
        revenue_credit_minor,
        refund_debit_minor,
        bank_debit_minor,
        fee_debit_minor,
        clearing_credit_minor,
        posted_date,
        row_number() over (
            partition by posting_type, reference
            order by posted_at, journal_id
        ) as posting_rank

    from postings_typed

    where posting_type is not null

),

refunds_ranked_per_order as (

    select
        refunds.transaction_id,
        refunds.order_id,
        refunds.refund_currency_code as currency_code,
        refunds.refund_rank,
        -- The processor signs refunds negative; the ledger debits their absolute value.
        -refunds.refund_amount_minor as refunded_minor

    from refunds

    -- Only orders the batch's journals reference: a refund posting names its order.
    inner join references_of_the_batch
        on {{ nullable_key('refunds.order_id') }} = references_of_the_batch.reference_key

),

postings_joined_to_sources as (

    select
        postings_ranked_per_reference.journal_id,
        postings_ranked_per_reference.posting_type,
        refunds_ranked_per_order.transaction_id,
        postings_ranked_per_reference.currency_code as posted_currency_code,
        payouts.fee_minor as expected_fee_minor,
        postings_ranked_per_reference.fee_debit_minor as actual_fee_minor,
        payouts.gross_minor as expected_gross_minor,
        postings_ranked_per_reference.clearing_credit_minor as actual_gross_minor,
        postings_ranked_per_reference.posted_date,
        case
            when postings_ranked_per_reference.posting_type in ('sale', 'refund')
                then postings_ranked_per_reference.reference
        end as order_id,
        case
            when postings_ranked_per_reference.posting_type = 'payout'
                then postings_ranked_per_reference.reference
        end as payout_id,
        coalesce(
            orders.currency_code,
            refunds_ranked_per_order.currency_code,
            payouts.currency_code
        ) as source_currency_code,
        case postings_ranked_per_reference.posting_type
            -- A second sale posting for the same order books revenue that does not exist.
            when 'sale'
                then
                    case
                        when postings_ranked_per_reference.posting_rank = 1 then orders.total_minor
                    end
            when 'refund' then refunds_ranked_per_order.refunded_minor
            when 'payout' then payouts.net_minor
        end as expected_minor,
        case postings_ranked_per_reference.posting_type
            when 'sale' then postings_ranked_per_reference.revenue_credit_minor
            when 'refund' then postings_ranked_per_reference.refund_debit_minor
            when 'payout' then postings_ranked_per_reference.bank_debit_minor
        end as actual_minor

    from postings_ranked_per_reference

    left join orders
        on
            postings_ranked_per_reference.posting_type = 'sale'
            and postings_ranked_per_reference.reference = orders.order_id

    left join refunds_ranked_per_order
        on
            postings_ranked_per_reference.posting_type = 'refund'
            and postings_ranked_per_reference.reference = refunds_ranked_per_order.order_id
            and postings_ranked_per_reference.posting_rank = refunds_ranked_per_order.refund_rank

    left join payouts
        on
            postings_ranked_per_reference.posting_type = 'payout'
            and postings_ranked_per_reference.reference = payouts.payout_id

),

breaks_classified as (

    select
        journal_id,
        posting_type,
        order_id,
        transaction_id,
        payout_id,
        posted_currency_code,
        source_currency_code,
        actual_minor,
        expected_fee_minor,
        actual_fee_minor,
        expected_gross_minor,
        actual_gross_minor,
        posted_date as business_date,
        case
            when
                expected_minor is null
                or posted_currency_code != source_currency_code
                or actual_minor != expected_minor
                or (posting_type = 'payout' and actual_fee_minor != expected_fee_minor)
                or (posting_type = 'payout' and actual_gross_minor != expected_gross_minor)
                then 'ledger_mismatch'
        end as break_type,
        coalesce(expected_minor, 0) as expected_minor

    from postings_joined_to_sources

    where {{ in_batch('posted_date') }}

)

select * from breaks_classified
