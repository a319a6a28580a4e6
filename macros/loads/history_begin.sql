{#
    The first day the incremental facts hold: their microbatch `begin`. Defaults to the first
    day of the business calendar seed; set the var `history_begin` ('YYYY-MM-DD') to start
    later and make full refreshes cheaper when no older data exists.
#}
{% macro history_begin() -%}
    {{ return(var('history_begin', '2020-01-01')) }}
{%- endmacro %}

