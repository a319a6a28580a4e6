-- Each bank statement opens at the balance the previous one closed at, and closes at its
-- opening plus its lines, per the manifest and per the loaded lines. A gap means a
-- statement, or lines of one, went missing between the bank and the warehouse.
-- A returned row is a statement that breaks continuity or does not balance.
select
    source_file,
    delivery_date,
    previous_delivery_date,
    opening_balance_minor,
    previous_closing_balance_minor,
    closing_balance_minor,
    amount_minor_sum,
    loaded_amount_minor_sum,
    is_continuous,
    is_balanced,
    is_balanced_by_loaded_lines

from {{ ref('int_bank_balances_checked') }}

where not (is_continuous and is_balanced and is_balanced_by_loaded_lines)
