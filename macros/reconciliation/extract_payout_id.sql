{#
    The payout id a bank line names in its remittance text (`PAYOUT po_036543`), or null when
    the line is not a payout. Only texts that start with the word PAYOUT count: rent, salaries
    and card spend carry free text that may mention other ids. The id is the whole word after
    PAYOUT: the contract gives `po_000123` as an example, not as the only shape an id takes.

    Both engines return an empty string when the pattern does not match, hence the nullif.
    The twins differ in escaping: DuckDB reads backslashes in a string literal verbatim, while
    Spark's parser treats them as escapes, so each regex class needs a doubled backslash there.
#}
{% macro extract_payout_id(remittance_column) -%}
    {{ return(adapter.dispatch('extract_payout_id', 'tally')(remittance_column)) }}
{%- endmacro %}

{% macro default__extract_payout_id(remittance_column) -%}
    nullif(regexp_extract({{ remittance_column }}, '^PAYOUT\s+(\S+)', 1), '')
{%- endmacro %}

{% macro spark__extract_payout_id(remittance_column) -%}
    nullif(regexp_extract({{ remittance_column }}, '^PAYOUT\\s+(\\S+)', 1), '')
{%- endmacro %}
