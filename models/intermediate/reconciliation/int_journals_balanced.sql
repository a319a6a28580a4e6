{#
    One row per ledger journal with its debit and credit totals. A journal balances when its
    debits equal its credits; one that does not is an unbalanced_journal, dated by the day it
    was posted.
#}
with

journal_lines as (

    select
        journal_id,
        currency_code,
        debit_minor,
        credit_minor,
        posted_date

    from {{ ref('stg_ledger__journal_lines') }}

),

balanced as (

    select
        journal_id,
        min(currency_code) as currency_code,
        sum(debit_minor) as debit_minor,
        sum(credit_minor) as credit_minor,
        count(*) as count_lines,
        sum(debit_minor) = sum(credit_minor) as is_balanced,
        min(posted_date) as posted_date

    from journal_lines

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

)

select * from breaks_classified
