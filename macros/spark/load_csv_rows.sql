{#
    Seeds on Spark, with values written as escaped literals. dbt-spark 1.11's own version
    passes them as bindings, which its session cursor pastes into the SQL unescaped: a value
    with a quote ("New Year's Day") breaks the statement, and an empty cell arrives as the
    text 'None' instead of null. Remove once dbt-spark escapes seed bindings.
#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                (
                {%- for column_name in agate_table.column_names -%}
                    {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                    cast({{ tally._spark_literal(row[loop.index0]) }} as
                    {{ column_override.get(column_name, inferred_type) }})
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%}
                ){%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) if loop.first -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{%- endmacro %}


{#- A Spark string literal for a seed value; null stays null. -#}
{% macro _spark_literal(value) -%}
    {%- if value is none -%}
        null
    {%- else -%}
        '{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
