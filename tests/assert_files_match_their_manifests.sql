-- Every delivered file agrees with its manifest: same row count, same sha256, same control
-- sums, and the manifest exists. A file that disagrees cannot be trusted as the system's
-- record of the day, and its day cannot close.
-- A returned row is a file (or a manifest without its file) with the checks that failed.
-- Run after the daily close: a failure here must not stop dbt build from building the close
-- mart that marks those days incomplete (dbt skips what is downstream of a failed test).
-- depends_on: {{ ref('fct_daily_close') }}
select
    source_system,
    source_file,
    manifest_source_file,
    manifest_record_count,
    count_loaded_rows,
    has_manifest,
    is_count_matching,
    is_sha256_matching,
    is_sum_matching

from {{ ref('int_files_checked_against_manifests') }}

where not is_matching_manifest
