{#
    Casts that return null instead of failing, for text whose shape was not checked.
    DuckDB spells them `try_cast`; Spark has `try_cast` too but parses timestamps with its
    session time zone, so the timestamp twin states UTC explicitly.
#}

{% macro safe_cast_integer(column) -%}
    {{ return(adapter.dispatch('safe_cast_integer', 'tally')(column)) }}
{%- endmacro %}

{% macro default__safe_cast_integer(column) -%}
    case
        when {{ tally.is_integer_text(column) }}
            then try_cast({{ column }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{% macro spark__safe_cast_integer(column) -%}
    case
        when {{ tally.is_integer_text(column) }}
            then try_cast({{ column }} as bigint)
    end
{%- endmacro %}


{% macro safe_cast_decimal(column, precision=18, scale=2) -%}
    {{ return(adapter.dispatch('safe_cast_decimal', 'tally')(column, precision, scale)) }}
{%- endmacro %}

{% macro default__safe_cast_decimal(column, precision, scale) -%}
    case
        when {{ tally.is_decimal_text(column, scale) }}
            then try_cast({{ column }} as decimal({{ precision }}, {{ scale }}))
    end
{%- endmacro %}

{% macro spark__safe_cast_decimal(column, precision, scale) -%}
    case
        when {{ tally.is_decimal_text(column, scale) }}
            then try_cast({{ column }} as decimal({{ precision }}, {{ scale }}))
    end
{%- endmacro %}


{#- A calendar date written YYYY-MM-DD; '2025-02-30' is not a date. -#}
{% macro safe_cast_date(column) -%}
    {{ return(adapter.dispatch('safe_cast_date', 'tally')(column)) }}
{%- endmacro %}

{% macro default__safe_cast_date(column) -%}
    case
        when {{ tally.matches_pattern(column, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }}
            then try_cast({{ column }} as date)
    end
{%- endmacro %}

{% macro spark__safe_cast_date(column) -%}
    case
        when {{ tally.matches_pattern(column, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }}
            then try_cast({{ column }} as date)
    end
{%- endmacro %}


{#
    An ISO 8601 timestamp as a UTC timestamp without time zone. The contract says a timestamp
    without an offset is UTC, so one is added before the cast; the session time zone of the
    warehouse never decides what a raw value means.
#}
{% macro safe_cast_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('safe_cast_timestamp_utc', 'tally')(column)) }}
{%- endmacro %}

{% macro _iso_timestamp_pattern() -%}
    [0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?
{%- endmacro %}

{% macro default__safe_cast_timestamp_utc(column) -%}
    case
        when {{ tally.matches_pattern(column, tally._iso_timestamp_pattern()) }}
            then try_cast(({{ column }} || '+00:00') as timestamptz) at time zone 'UTC'
        when {{ tally.matches_pattern(
            column, tally._iso_timestamp_pattern() ~ '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)'
        ) }}
            then try_cast({{ column }} as timestamptz) at time zone 'UTC'
    end
{%- endmacro %}

{#
    LIMITATION: Spark reads a timestamp without an offset in the session time zone, and
    shows every timestamp in it; the Spark target must set spark.sql.session.timeZone=UTC
    (its profile's server-side config) for these to be UTC like DuckDB's.
#}
{% macro spark__safe_cast_timestamp_utc(column) -%}
    case
        when {{ tally.matches_pattern(
            column, tally._iso_timestamp_pattern() ~ '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?'
        ) }}
            then try_to_timestamp({{ column }})
    end
{%- endmacro %}
