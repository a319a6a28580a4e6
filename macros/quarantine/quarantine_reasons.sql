{#
    The quarantine verdict of a row, from its rule flags.

    `rules` is a list of (reason, boolean column) pairs, in the order the rules are checked.
    `quarantine_reasons` gives every failing reason, comma separated, and `quarantine_reason`
    the first; both are null for a row that passes every rule. A row whose field count did not
    match the header (`malformed_flag`) has no fields to check, so its only reason is
    `field_count`.
#}
{% macro quarantine_reasons(rules, malformed_flag=none) -%}
    {%- set reasons -%}
        nullif(concat_ws(','
            {%- for reason, flag in rules %},
            case when {{ flag }} then '{{ reason }}' end
            {%- endfor %}
        ), '')
    {%- endset -%}
    {%- if malformed_flag -%}
        case when {{ malformed_flag }} then 'field_count' else {{ reasons }} end
    {%- else -%}
        {{ reasons }}
    {%- endif -%}
{%- endmacro %}


{% macro first_quarantine_reason(rules, malformed_flag=none) -%}
    case
        {%- if malformed_flag %}
            when {{ malformed_flag }} then 'field_count'
        {%- endif %}
        {%- for reason, flag in rules %}
            when {{ flag }} then '{{ reason }}'
        {%- endfor %}
    end
{%- endmacro %}
