{#
    Typed-with-verdict step under stg_ledger__manifests and its quarantine model; the rules
    are shared by every system's manifests, hence the macro.
#}
{{ base_manifests('ledger', integer_sums=['debit_minor_sum', 'credit_minor_sum']) }}
