{#
    Minor units (cents) of a two-digit currency as a decimal in major units. Multiplying by
    0.01 rather than dividing by 100 keeps the arithmetic in decimals on DuckDB, whose decimal
    division returns a double.
#}
{% macro cents_to_major(amount_minor_column) -%}
    cast(({{ amount_minor_column }}) * 0.01 as decimal(18, 2))
{%- endmacro %}
