{#
    Fails on every row of the model for which `expression` is not true (false or null).
    For rules that span columns, e.g. `net_minor = amount_minor - fee_minor`.
#}
{% test expression_is_true(model, expression) %}

    select *

    from {{ model }}

    where not coalesce({{ expression }}, false)

{% endtest %}
