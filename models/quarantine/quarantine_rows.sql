{%- set quarantine_models = [
    'quarantine_shop__customers',
    'quarantine_shop__products',
    'quarantine_shop__orders',
    'quarantine_shop__order_lines',
    'quarantine_payments__balance_transactions',
    'quarantine_payments__manifests',
    'quarantine_bank__statement_lines',
    'quarantine_bank__manifests',
    'quarantine_ledger__journal_lines',
    'quarantine_ledger__manifests',
    'quarantine_fx__rates',
] -%}

with

{% for quarantine_model in quarantine_models %}
    {{ quarantine_model }} as (

        select
            source_system,
            source_file,
            source_line,
            source_key,
            reason,
            reasons,
            _dlt_load_id

        from {{ ref(quarantine_model) }}

    ),

{% endfor -%}

unioned as (

    {% for quarantine_model in quarantine_models -%}
        select * from {{ quarantine_model }}
        {%- if not loop.last %}
            union all
        {% endif %}
    {% endfor %}

)

select * from unioned
