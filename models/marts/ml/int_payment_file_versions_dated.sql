{#
    Every version of every payments data file: the processor's events are the clock of the ML
    features, and a feature must be computed from the version of a file that was current at its
    cutoff, not from the latest one. Staging keeps only the latest version, so this model reads
    the raw layer (the one exception to "only staging calls source()" in the marts).
#}
with

landed_files as (

    select
        _source_file,
        _dlt_load_id

    from {{ source('raw_payments', 'landed_files') }}

),

complete_loads as (

    select
        load_id,
        inserted_at

    from {{ source('raw_payments', '_dlt_loads') }}

    where status = 0

),

versions as (

    select
        landed_files._source_file as source_file,
        landed_files._dlt_load_id,
        complete_loads.inserted_at as known_from_at,
        {{ safe_cast_date(dbt.split_part('landed_files._source_file', "'/'", 2)) }}
            as delivery_date

    from landed_files

    inner join complete_loads
        on landed_files._dlt_load_id = complete_loads.load_id

),

dated as (

    select
        source_file,
        delivery_date,
        known_from_at,
        _dlt_load_id,
        -- A re-sent file replaces the version before it from the moment it lands.
        lead(known_from_at) over (
            partition by source_file
            order by known_from_at, _dlt_load_id
        ) as known_until_at

    from versions

)

select * from dated
