{#
    The closed list of break types fct_reconciliation_breaks can hold, in the order the daily
    close shows their counts. A new type is added here, in the model that finds it, and in the
    accepted_values test of fct_reconciliation_breaks.break_type.
#}
{% macro reconciliation_break_types() -%}
    {{ return([
        'missing_payment',
        'orphan_payment',
        'amount_mismatch',
        'currency_mismatch',
        'duplicate_payment',
        'refund_mismatch',
        'payout_not_in_bank',
        'payout_amount_mismatch',
        'unmatched_bank_line',
        'late_settlement',
        'unbalanced_journal',
        'ledger_mismatch',
    ]) }}
{%- endmacro %}
