{#
    Fails when the sum of `column_name` in the model differs from the sum of `compare_column`
    in `compare_model`, for instance a daily aggregate against the fact it aggregates. Each
    side may be narrowed with a filter (`where`, `compare_where`). Returns one row with both
    sums when they disagree. A side with no rows sums to zero: an empty fact agrees with an
    aggregate of zeros. In a scheduled build both sides read the tested window's days (see
    `tested_window_relation`).
#}
{% test sums_agree(model, column_name, compare_model, compare_column, where=none,
    compare_where=none) %}

    with

    model_sum as (

        select coalesce(sum({{ column_name }}), 0) as model_total

        from {{ model }}

        {% if where %}where {{ where }}{% endif %}

    ),

    compare_sum as (

        select coalesce(sum({{ compare_column }}), 0) as compare_total

        from {{ tally.tested_window_relation(compare_model) }}

        {% if compare_where %}where {{ compare_where }}{% endif %}

    )

    select
        model_sum.model_total,
        compare_sum.compare_total

    from model_sum

    cross join compare_sum

    where model_sum.model_total is distinct from compare_sum.compare_total

{% endtest %}
