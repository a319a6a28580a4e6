{#
    Fails on every combination of `combination_of_columns` that occurs more than once: the
    uniqueness test for composite keys.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as count_rows

    from {{ model }}

    group by {{ combination_of_columns | join(', ') }}

    having count(*) > 1

{% endtest %}
