{#
    Converts an amount in minor units of `currency_code` to minor units of EUR, the reporting
    currency, with the day's reference rate (1 EUR = `rate` units of the currency, so the EUR
    amount is amount / rate). EUR converts at 1; a missing rate gives null, never a guess.

    The division runs on integers (the rate times 1,000,000): DuckDB divides decimals in
    floating point, and money never floats. The result is rounded half away from zero.
#}
{% macro convert_minor_to_eur(amount_minor, currency_code, rate) -%}
    {%- set rate_micros -%}
        case
            when {{ currency_code }} = 'EUR' then 1000000
            else cast({{ rate }} * 1000000 as {{ dbt.type_bigint() }})
        end
    {%- endset -%}
    (
        {#- Not sign(): Spark returns it as a double, and money never floats. #}
        case when {{ amount_minor }} < 0 then -1 else 1 end
        * {{ tally.integer_divide(
            'abs(' ~ amount_minor ~ ') * 2000000 + ' ~ rate_micros,
            '2 * ' ~ rate_micros
        ) }}
    )
{%- endmacro %}


{#- Integer division truncating toward zero, on bigint operands. -#}
{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide', 'tally')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{% macro spark__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) div ({{ denominator }}))
{%- endmacro %}
