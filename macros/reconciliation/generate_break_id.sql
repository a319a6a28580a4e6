{#
    A break's id: the SHA-256 hex digest of its identifying columns, joined by `|` with nulls
    written as empty strings. It depends only on what the break is about, never on when the
    build ran, so the same break keeps its id across runs and engines (a finance team can
    annotate it and find it again tomorrow).

    DuckDB spells the digest sha256(text); Spark spells it sha2(text, 256). Both return the
    same lowercase hex for the same text.
#}
{% macro generate_break_id(columns) -%}
    {{ return(adapter.dispatch('generate_break_id', 'tally')(columns)) }}
{%- endmacro %}

{% macro _break_id_text(columns) -%}
    concat_ws(
        '|'
        {%- for column in columns %},
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '')
        {%- endfor %}
    )
{%- endmacro %}

{% macro default__generate_break_id(columns) -%}
    sha256({{ tally._break_id_text(columns) }})
{%- endmacro %}

{% macro spark__generate_break_id(columns) -%}
    sha2({{ tally._break_id_text(columns) }}, 256)
{%- endmacro %}
