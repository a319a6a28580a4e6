{# The newest complete load of each file: a re-sent file supersedes the one before. #}
with

source as (

    {{ latest_complete_load(
        source('raw_fx', 'landed_files'),
        source('raw_fx', '_dlt_loads'),
        partition_by='_source_file',
    ) }}

),

renamed as (

    select
        _source_file as source_file,
        _file_sha256 as file_sha256,
        -- Counted by the ingest itself, so typed already (not data as sent).
        record_count as count_records,
        size_bytes,
        _dlt_loaded_at as landed_at,
        _dlt_load_id

    from source

)

select * from renamed
