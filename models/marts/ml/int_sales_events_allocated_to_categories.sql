{#
    The processor's succeeded charges and refunds, one row per event, product category and
    version of the file that delivered the event. The processor decides when a sale or refund
    happened and when the warehouse learnt of it (the file version's load); the shop's order
    lines say what was sold, in EUR at the order day's rate.
    LIMITATION: the columns checked here repeat staging's rules for the columns they use;
    a raw row that staging quarantines for another column (a bad fee, say) still counts.
    A staging view of every file version (stg_payments__balance_transaction_versions) would
    let both read one set of rules.
    Incremental: a file version never changes once landed, so a build allocates only the
    versions that landed since the last one (`known_from_at`), and only their orders' lines.
    LIMITATION: lines, categories and order totals are read as the shop held them when the
    version was first allocated; a product moved to another category later keeps its history
    in the old one until a full refresh, which allocates every version as the shop is then.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

with

transactions as (

    select
        _source_file,
        _dlt_load_id,
        {{ blank_to_null('transaction_id') }} as transaction_id,
        {{ blank_to_null('order_id') }} as order_id,
        {{ blank_to_null('type') }} as transaction_type,
        {{ blank_to_null('status') }} as transaction_status,
        {{ safe_cast_integer('amount_minor') }} as amount_minor,
        {{ safe_cast_timestamp_utc('created_at') }} as created_at

    from {{ source('raw_payments', 'balance_transactions') }}

    where _malformed_record is null

),

file_versions as (

    select
        source_file,
        known_from_at,
        _dlt_load_id

    from {{ ref('int_payment_file_versions_dated') }}

    {% if is_incremental() -%}
        where known_from_at > (select max(known_from_at) from {{ this }})
    {%- endif %}

),

order_lines as (

    select
        order_id,
        category,
        line_total_eur_minor

    from {{ ref('fct_order_lines') }}

),

orders as (

    select
        order_id,
        total_minor

    from {{ ref('fct_orders') }}

),

sales_events as (

    select
        file_versions.source_file,
        file_versions.known_from_at,
        transactions.transaction_id,
        transactions.order_id,
        transactions.transaction_type,
        transactions.amount_minor,
        cast(transactions.created_at as date) as event_date,
        file_versions._dlt_load_id,
        -- An order is sold once: a second succeeded charge in a file is a duplicate payment
        -- (a reconciliation break), not a second sale. Every refund counts.
        row_number() over (
            partition by
                file_versions.source_file,
                file_versions._dlt_load_id,
                transactions.order_id,
                transactions.transaction_type,
                case
                    when transactions.transaction_type = 'refund'
                        then transactions.transaction_id
                end
            order by transactions.created_at, transactions.transaction_id
        ) as charge_number

    from transactions

    inner join file_versions
        on
            transactions._source_file = file_versions.source_file
            and transactions._dlt_load_id = file_versions._dlt_load_id

    where
        transactions.transaction_status = 'succeeded'
        and transactions.transaction_type in ('charge', 'refund')
        and transactions.transaction_id is not null
        and transactions.order_id is not null
        and transactions.amount_minor is not null
        and transactions.created_at is not null

),

{% if is_incremental() -%}
orders_of_the_new_versions as (

    -- A few days of events: only their orders' lines are summed, not every order's.
    select distinct order_id

    from sales_events

),

{% endif -%}
order_categories as (

    select
        order_lines.order_id,
        coalesce(order_lines.category, 'unknown') as category,
        cast(sum(order_lines.line_total_eur_minor) as {{ dbt.type_bigint() }})
            as category_eur_minor

    from order_lines

    {% if is_incremental() -%}
        inner join orders_of_the_new_versions
            on order_lines.order_id = orders_of_the_new_versions.order_id
    {%- endif %}

    group by order_lines.order_id, coalesce(order_lines.category, 'unknown')

),

events_allocated as (

    select
        sales_events.source_file,
        sales_events.transaction_id,
        sales_events.order_id,
        sales_events.transaction_type,
        order_categories.category,
        case
            when sales_events.transaction_type = 'charge'
                then order_categories.category_eur_minor
            -- A refund takes back its share of each category: all of it for a full refund.
            else cast(round(
                order_categories.category_eur_minor
                * cast(-sales_events.amount_minor as {{ dbt.type_numeric() }})
                / nullif(orders.total_minor, 0)
            ) as {{ dbt.type_bigint() }})
        end as amount_eur_minor,
        sales_events.event_date,
        sales_events.known_from_at,
        sales_events._dlt_load_id

    from sales_events

    inner join order_categories
        on sales_events.order_id = order_categories.order_id

    inner join orders
        on sales_events.order_id = orders.order_id

    where sales_events.charge_number = 1

)

select * from events_allocated
