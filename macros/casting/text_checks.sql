{#
    Text checks that decide whether a raw value may be cast. Raw columns are text exactly as
    sent, and a cast alone is too lenient for money: DuckDB casts '12.5' to the bigint 13 and
    '1e3' to 1000. A value is cast only when its text has the shape the contract promises.
    Patterns use character classes, not backslash escapes, so they read the same in DuckDB's
    and Spark's string literals.
#}

{% macro matches_pattern(column, pattern) -%}
    {{ return(adapter.dispatch('matches_pattern', 'tally')(column, pattern)) }}
{%- endmacro %}

{% macro default__matches_pattern(column, pattern) -%}
    coalesce(regexp_full_match({{ column }}, '{{ pattern }}'), false)
{%- endmacro %}

{% macro spark__matches_pattern(column, pattern) -%}
    coalesce({{ column }} rlike '^({{ pattern }})$', false)
{%- endmacro %}


{#- Blank text is a missing value: CSV readers give '' for an empty field. -#}
{% macro blank_to_null(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}


{% macro is_integer_text(column) -%}
    {{ tally.matches_pattern(column, '-?[0-9]{1,18}') }}
{%- endmacro %}


{% macro is_decimal_text(column, scale=2) -%}
    {{ tally.matches_pattern(column, '-?[0-9]{1,16}([.][0-9]{1,' ~ scale ~ '})?') }}
{%- endmacro %}


{% macro is_date_text(column) -%}
    ({{ tally.matches_pattern(column, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }}
    and {{ tally.safe_cast_date(column) }} is not null)
{%- endmacro %}


{% macro is_timestamp_text(column) -%}
    {{ tally.safe_cast_timestamp_utc(column) }} is not null
{%- endmacro %}


{% macro is_currency_code_text(column) -%}
    {{ tally.matches_pattern(column, '[A-Z]{3}') }}
{%- endmacro %}
