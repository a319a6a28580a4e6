{#
    Checks that no reconciliation break is older than `break_age_tolerance_days` calendar days
    (var, default 7) at the as-of date.
    Why: breaks are expected, day to day: they are reported in fct_reconciliation_breaks and
    keep their day open in fct_daily_close, and finance resolves them. A young break therefore
    fails nothing. One left open past the tolerance means a day stays unclosed for over a
    week, which is an audit finding, so the test then fails as an error. Payouts take up to
    three business days, which a week covers even across a weekend and a holiday.
    A returned row is one break past the tolerance, with its age.
#}
{{ config(severity='error', store_failures=true, schema='audit') }}
-- depends_on: {{ ref('fct_daily_close') }}

with

breaks as (

    select
        break_id,
        break_type,
        order_id,
        transaction_id,
        payout_id,
        bank_line_id,
        journal_id,
        age_days,
        business_date

    from {{ ref('fct_reconciliation_breaks') }}

)

select
    break_id,
    break_type,
    order_id,
    transaction_id,
    payout_id,
    bank_line_id,
    journal_id,
    age_days,
    business_date

from breaks

where age_days > {{ var('break_age_tolerance_days') }}
