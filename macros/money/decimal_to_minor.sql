{#
    A decimal amount in major units, as text ("1234.50"), to integer minor units (123450).
    The only place the project turns major units into minor ones: every currency we handle has
    two minor digits (seed `currencies`), and a value with more places than `scale` is not
    rounded but rejected (null), so no cent is ever invented or lost.
#}
{% macro decimal_to_minor(column, scale=2) -%}
    cast(
        {{ tally.safe_cast_decimal(column, 18, scale) }} * {{ 10 ** scale }}
        as {{ dbt.type_bigint() }}
    )
{%- endmacro %}
