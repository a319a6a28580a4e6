{#
    Pairs every processor payout with the bank line that names it, and judges each pair
    against the due window: a payout is due in the bank by the
    `payout_settlement_business_days`-th business day after its date.

    - booked by the due date for its net, in its currency: settled, no break;
    - booked for another amount or currency: payout_amount_mismatch;
    - booked after the due date: late_settlement;
    - not booked and the due date is within the delivered bank statements: payout_not_in_bank;
    - not booked and due after the last delivered statement: pending, not a break;
    - a payout line whose payout the processor does not report, or a second line for the same
      payout: unmatched_bank_line, dated by its booking date.

    Built in event-time batches (see `in_batch`): a batch pairs the payouts dated in it, and those
    that a line booked in it names, with every line that names them.
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

payouts as (

    select
        payout_id,
        currency_code,
        net_minor,
        payout_date

    from {{ ref('int_payouts_aggregated_from_transactions').render() }}

),

payout_lines as (

    select
        bank_line_id,
        payout_id,
        currency_code,
        amount_minor,
        booking_date

    from {{ ref('int_payout_ids_parsed_from_bank_lines') }}

    where payout_id is not null

),

calendar_days as (

    select
        calendar_date,
        is_business_day,
        business_day_number

    from {{ ref('int_calendar_days_numbered') }}

),

delivery_dates as (

    select last_bank_statement_date

    from {{ ref('int_delivery_dates_summarised') }}

),

payouts_of_the_batch as (

    -- Scopes read the models themselves, not their import CTEs (see `in_batch`).
    select payout_id

    from {{ ref('int_payouts_aggregated_from_transactions').render() }}

    where {{ in_batch('payout_date') }}

    union

    select payout_id

    from {{ ref('int_payout_ids_parsed_from_bank_lines') }}

    where
        payout_id is not null
        and {{ in_batch('booking_date') }}

),

batch_payouts as (

    select payouts.*

    from payouts

    inner join payouts_of_the_batch
        on payouts.payout_id = payouts_of_the_batch.payout_id

),

payout_lines_ranked as (

    select
        payout_lines.bank_line_id,
        payout_lines.payout_id,
        payout_lines.currency_code,
        payout_lines.amount_minor,
        payout_lines.booking_date,
        row_number() over (
            partition by payout_lines.payout_id
            order by payout_lines.booking_date, payout_lines.bank_line_id
        ) as line_rank

    from payout_lines

    inner join payouts_of_the_batch
        on payout_lines.payout_id = payouts_of_the_batch.payout_id

),

payouts_joined_to_due_dates as (

    select
        batch_payouts.payout_id,
        batch_payouts.currency_code,
        batch_payouts.net_minor,
        batch_payouts.payout_date,
        due_days.calendar_date as due_date

    from batch_payouts

    left join calendar_days as payout_days
        on batch_payouts.payout_date = payout_days.calendar_date

    left join calendar_days as due_days
        on
            payout_days.business_day_number
            + {{ var('payout_settlement_business_days') }} = due_days.business_day_number
            and due_days.is_business_day

),

payouts_joined_to_lines as (

    select
        payout_lines_ranked.bank_line_id,
        payouts_joined_to_due_dates.currency_code as payout_currency_code,
        payout_lines_ranked.currency_code as line_currency_code,
        payouts_joined_to_due_dates.net_minor as payout_net_minor,
        payout_lines_ranked.amount_minor as line_amount_minor,
        payouts_joined_to_due_dates.payout_date,
        payouts_joined_to_due_dates.due_date,
        payout_lines_ranked.booking_date,
        coalesce(
            payouts_joined_to_due_dates.payout_id, payout_lines_ranked.payout_id
        ) as payout_id,
        payouts_joined_to_due_dates.payout_id is not null as has_payout

    from payouts_joined_to_due_dates

    -- Only a payout's first line settles it; any further line stays unmatched.
    full outer join payout_lines_ranked
        on
            payouts_joined_to_due_dates.payout_id = payout_lines_ranked.payout_id
            and payout_lines_ranked.line_rank = 1

),

settlements_classified as (

    select
        payouts_joined_to_lines.payout_id,
        payouts_joined_to_lines.bank_line_id,
        payouts_joined_to_lines.payout_currency_code,
        payouts_joined_to_lines.line_currency_code,
        payouts_joined_to_lines.payout_net_minor,
        payouts_joined_to_lines.line_amount_minor,
        payouts_joined_to_lines.has_payout,
        payouts_joined_to_lines.payout_date,
        payouts_joined_to_lines.due_date,
        payouts_joined_to_lines.booking_date,
        case
            when not payouts_joined_to_lines.has_payout then 'unmatched'
            when
                payouts_joined_to_lines.bank_line_id is null
                and payouts_joined_to_lines.due_date
                <= delivery_dates.last_bank_statement_date
                then 'missing'
            -- Due after the last delivered statement (or no statement yet): still in transit.
            when payouts_joined_to_lines.bank_line_id is null then 'pending'
            when
                payouts_joined_to_lines.line_currency_code
                != payouts_joined_to_lines.payout_currency_code
                or payouts_joined_to_lines.line_amount_minor
                != payouts_joined_to_lines.payout_net_minor
                then 'amount_differs'
            when payouts_joined_to_lines.booking_date > payouts_joined_to_lines.due_date
                then 'late'
            else 'settled'
        end as settlement_status

    from payouts_joined_to_lines

    cross join delivery_dates

),

breaks_classified as (

    select
        payout_id,
        bank_line_id,
        settlement_status,
        payout_currency_code,
        line_currency_code,
        payout_net_minor,
        line_amount_minor,
        has_payout,
        payout_date,
        due_date,
        booking_date,
        case settlement_status
            when 'unmatched' then 'unmatched_bank_line'
            when 'missing' then 'payout_not_in_bank'
            when 'amount_differs' then 'payout_amount_mismatch'
            when 'late' then 'late_settlement'
        end as break_type,
        coalesce(payout_date, booking_date) as business_date

    from settlements_classified

    where {{ in_batch('coalesce(payout_date, booking_date)') }}

)

select * from breaks_classified
