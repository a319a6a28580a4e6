{#
    Models land in the schema their folder names (staging, finance, ops, ...), not in
    `<target schema>_<name>`: the schema names are part of what downstream users query.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
