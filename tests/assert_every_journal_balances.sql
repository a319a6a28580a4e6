{#
    Checks that every ledger journal's debits equal its credits.
    Why: double entry is the ledger's own invariant; an unbalanced journal means the ERP export
    is corrupt or an entry was half-posted, and no total derived from the ledger can be
    trusted until it is fixed. Hence an error, not a warning.
    A returned row is one unbalanced journal, with its debit and credit totals; it also shows
    in fct_reconciliation_breaks as an unbalanced_journal.
#}
{{ config(severity='error', store_failures=true, schema='audit') }}
{#-
    The reference to fct_daily_close makes this test run after the close is built, so a
    failing journal is reported without stopping `dbt build` from building the close that
    shows the day as open.
-#}
-- depends_on: {{ ref('fct_daily_close') }}

with

journals as (

    select
        journal_id,
        currency_code,
        debit_minor,
        credit_minor,
        is_balanced,
        business_date

    from {{ ref('int_journals_balanced') }}

)

select
    journal_id,
    currency_code,
    debit_minor,
    credit_minor,
    business_date as posted_date

from journals

where not is_balanced
