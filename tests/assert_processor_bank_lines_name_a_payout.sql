{#
    Checks that every bank line from the payment processor names a payout id the parser can
    read (remittance text `PAYOUT po_` and six digits).
    Why: payouts are matched to the bank by that id alone. If the processor changed its
    remittance format, every payout would look missing from the bank and every line
    unmatched, a failure of the pipeline rather than of the books, so it is an error.
    A returned row is one processor line whose remittance text did not parse.
#}
{{ config(severity='error', store_failures=true, schema='audit') }}
-- depends_on: {{ ref('fct_daily_close') }}

with

bank_lines as (

    select
        bank_line_id,
        payout_id,
        counterparty,
        remittance_info,
        booking_date

    from {{ ref('int_payout_ids_parsed_from_bank_lines') }}

)

select
    bank_line_id,
    counterparty,
    remittance_info,
    booking_date

from bank_lines

where
    counterparty = 'Payment processor'
    and payout_id is null
