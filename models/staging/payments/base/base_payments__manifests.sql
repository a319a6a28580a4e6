{#
    Typed-with-verdict step under stg_payments__manifests and its quarantine model; the rules
    are shared by every system's manifests, hence the macro.
#}
{{ base_manifests('payments', integer_sums=['amount_minor_sum']) }}
