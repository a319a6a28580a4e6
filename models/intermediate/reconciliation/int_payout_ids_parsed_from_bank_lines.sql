{#
    One row per bank statement line, with the payout id its remittance text names (null for
    rent, salaries and every other line that is not a processor payout).
#}
with

statement_lines as (

    select
        bank_line_id,
        counterparty,
        remittance_info,
        currency_code,
        amount_minor,
        booking_date,
        value_date

    from {{ ref('stg_bank__statement_lines') }}

),

parsed as (

    select
        bank_line_id,
        {{ extract_payout_id('remittance_info') }} as payout_id,
        counterparty,
        remittance_info,
        currency_code,
        amount_minor,
        booking_date,
        value_date

    from statement_lines

)

select * from parsed
