{#
    Typed-with-verdict step under stg_bank__manifests and its quarantine model; the rules
    are shared by every system's manifests, hence the macro.
#}
{{ base_manifests(
    'bank', decimal_sums=['amount_sum', 'opening_balance', 'closing_balance']
) }}
