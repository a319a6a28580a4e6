{#
    Point-in-time features: the row of day D is what the warehouse knew at D's cutoff, the
    first complete load that delivered the processor's file of D - 1. Every input day is read
    in the version of its file that was current at that cutoff, so a file that lands or is
    re-sent later never changes the row. The design and every column are in _ml__docs.md.
#}
{%- set lag_days = [1, 7, 28, 364] -%}
{%- set history_offsets = range(1, 29) | list + [364] -%}
{%- set label_days = 7 -%}
{%- set rolling_windows = [7, 28] -%}
{%- set rolling_measures = [
    ('sales_eur', 'sales_eur_minor', 0.01),
    ('count_orders', 'count_orders', 1),
    ('refunds_eur', 'refunds_eur_minor', 0.01),
] -%}

with

file_versions as (

    select * from {{ ref('int_payment_file_versions_dated') }}

),

sales_per_file_version_day as (

    select
        source_file,
        category,
        sales_eur_minor,
        count_orders,
        refunds_eur_minor,
        event_date,
        _dlt_load_id

    from {{ ref('int_sales_summed_per_file_version_day') }}

),

calendar as (

    select
        calendar_date,
        day_of_week,
        is_business_day,
        is_holiday,
        is_peak_day

    from {{ ref('business_calendar') }}

),

day_offsets as (

    {% for offset in history_offsets -%}
        select {{ offset }} as days_before
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

label_offsets as (

    {% for offset in range(label_days) -%}
        select {{ offset }} as days_after
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

feature_cutoffs as (

    select
        cast({{ dbt.dateadd('day', 1, 'delivery_date') }} as date) as feature_date,
        min(known_from_at) as feature_cutoff_at

    from file_versions

    where delivery_date is not null

    group by cast({{ dbt.dateadd('day', 1, 'delivery_date') }} as date)

),

categories as (

    select distinct category

    from sales_per_file_version_day

),

days_wanted as (

    select
        feature_cutoffs.feature_date,
        feature_cutoffs.feature_cutoff_at,
        day_offsets.days_before,
        cast({{ dbt.dateadd(
            'day', '-day_offsets.days_before', 'feature_cutoffs.feature_date'
        ) }} as date) as input_date

    from feature_cutoffs

    cross join day_offsets

),

versions_known_at_cutoff as (

    select
        days_wanted.feature_date,
        days_wanted.days_before,
        file_versions.source_file,
        file_versions._dlt_load_id,
        days_wanted.input_date

    from days_wanted

    inner join file_versions
        on
            days_wanted.input_date = file_versions.delivery_date
            and days_wanted.feature_cutoff_at >= file_versions.known_from_at
            and (
                file_versions.known_until_at is null
                or days_wanted.feature_cutoff_at < file_versions.known_until_at
            )

),

days_known_at_cutoff as (

    select distinct
        feature_date,
        days_before

    from versions_known_at_cutoff

),

known_totals as (

    select
        versions_known_at_cutoff.feature_date,
        versions_known_at_cutoff.days_before,
        sales_per_file_version_day.category,
        sum(sales_per_file_version_day.sales_eur_minor) as sales_eur_minor,
        sum(sales_per_file_version_day.count_orders) as count_orders,
        sum(sales_per_file_version_day.refunds_eur_minor) as refunds_eur_minor

    from versions_known_at_cutoff

    inner join sales_per_file_version_day
        on
            versions_known_at_cutoff.source_file = sales_per_file_version_day.source_file
            and versions_known_at_cutoff._dlt_load_id = sales_per_file_version_day._dlt_load_id
            and versions_known_at_cutoff.input_date = sales_per_file_version_day.event_date

    group by
        versions_known_at_cutoff.feature_date,
        versions_known_at_cutoff.days_before,
        sales_per_file_version_day.category

),

history_per_category as (

    -- A day not delivered by the cutoff is unknown (null); a delivered day without sales, 0.

    select
        days_known_at_cutoff.feature_date,
        days_known_at_cutoff.days_before,
        categories.category,
        coalesce(known_totals.sales_eur_minor, 0) as sales_eur_minor,
        coalesce(known_totals.count_orders, 0) as count_orders,
        coalesce(known_totals.refunds_eur_minor, 0) as refunds_eur_minor

    from days_known_at_cutoff

    cross join categories

    left join known_totals
        on
            days_known_at_cutoff.feature_date = known_totals.feature_date
            and days_known_at_cutoff.days_before = known_totals.days_before
            and categories.category = known_totals.category

),

history_features as (

    select
        feature_date,
        category,
        {#- A mean needs every day of its window delivered by the cutoff, else it is null. #}
        {%- for feature, measure, unit in rolling_measures %}
            {%- for window in rolling_windows %}
                case
                    when count(case when days_before <= {{ window }} then 1 end) = {{ window }}
                        then cast(
                            sum(case when days_before <= {{ window }} then {{ measure }} end)
                            * {{ unit }} / {{ window }} as decimal(18, 4)
                        )
                end as {{ feature }}_mean_{{ window }}d,
            {%- endfor %}
        {%- endfor %}
        {%- for lag in lag_days %}
            {{ cents_to_major(
                'max(case when days_before = ' ~ lag ~ ' then sales_eur_minor end)'
            ) }} as sales_eur_lag_{{ lag }}d,
        {%- endfor %}
        max(case when days_before = 1 then count_orders end) as count_orders_lag_1d,
        {{ cents_to_major(
            'max(case when days_before = 1 then refunds_eur_minor end)'
        ) }} as refunds_eur_lag_1d

    from history_per_category

    group by feature_date, category

),

latest_sales as (

    -- The label is what is known now: late data may change it; features never change.

    select
        sales_per_file_version_day.event_date,
        sales_per_file_version_day.category,
        sum(sales_per_file_version_day.sales_eur_minor) as sales_eur_minor

    from sales_per_file_version_day

    inner join file_versions
        on
            sales_per_file_version_day.source_file = file_versions.source_file
            and sales_per_file_version_day._dlt_load_id = file_versions._dlt_load_id

    where file_versions.known_until_at is null

    group by sales_per_file_version_day.event_date, sales_per_file_version_day.category

),

delivered_days as (

    select distinct delivery_date

    from file_versions

),

label_days as (

    select
        feature_cutoffs.feature_date,
        cast({{ dbt.dateadd(
            'day', 'label_offsets.days_after', 'feature_cutoffs.feature_date'
        ) }} as date) as label_date

    from feature_cutoffs

    cross join label_offsets

),

labels as (

    select
        label_days.feature_date,
        categories.category,
        case
            when count(delivered_days.delivery_date) = {{ label_days }}
                then {{ cents_to_major('coalesce(sum(latest_sales.sales_eur_minor), 0)') }}
        end as label_sales_eur_next_7d

    from label_days

    cross join categories

    left join delivered_days
        on label_days.label_date = delivered_days.delivery_date

    left join latest_sales
        on
            label_days.label_date = latest_sales.event_date
            and categories.category = latest_sales.category

    group by label_days.feature_date, categories.category

),

grid as (

    select
        feature_cutoffs.feature_date,
        categories.category,
        feature_cutoffs.feature_cutoff_at

    from feature_cutoffs

    cross join categories

),

final as (

    select
        grid.feature_date,
        grid.category,
        calendar.day_of_week,
        cast(extract(month from grid.feature_date) as integer) as month_of_year,
        calendar.is_business_day,
        calendar.is_holiday,
        calendar.is_peak_day,
        {%- for lag in lag_days %}
            history_features.sales_eur_lag_{{ lag }}d,
        {%- endfor %}
        history_features.sales_eur_mean_7d,
        history_features.sales_eur_mean_28d,
        history_features.count_orders_lag_1d,
        history_features.count_orders_mean_7d,
        history_features.count_orders_mean_28d,
        history_features.refunds_eur_lag_1d,
        history_features.refunds_eur_mean_7d,
        history_features.refunds_eur_mean_28d,
        labels.label_sales_eur_next_7d,
        grid.feature_cutoff_at

    from grid

    left join calendar
        on grid.feature_date = calendar.calendar_date

    left join history_features
        on
            grid.feature_date = history_features.feature_date
            and grid.category = history_features.category

    left join labels
        on
            grid.feature_date = labels.feature_date
            and grid.category = labels.category

)

select * from final
