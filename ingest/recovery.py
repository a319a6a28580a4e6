"""Makes the retry of an interrupted dlt load exact: no row of a killed job is loaded twice.

dlt runs one job per table and load file: an `INSERT ... SELECT` into the raw table, after which
it writes a "pending transition" marker and then moves the job's file from `started_jobs` to
`completed_jobs`. On resume, dlt trusts a marker and re-runs a started job without one. A
process killed after the insert committed but before the marker was written leaves rows that
the retry appends again under the same load id, which then completes. Before that retry, this
module deletes what each started job without a marker may have written, so the retry starts
clean.
Rows of a load dlt never completed are invisible to staging, so removing them loses nothing.
Reads no config or secrets.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dlt
from dlt.common.storages.load_package import LoadJobInfo, PackageStorage, TPackageJobState
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.destinations.sql_client import SqlClientBase

logger = logging.getLogger(__name__)

STARTED_JOBS: TPackageJobState = "started_jobs"
LOAD_ID_COLUMN = "_dlt_load_id"


def undo_started_jobs(pipeline: dlt.Pipeline) -> int:
    """Deletes the rows that interrupted jobs of pending load packages may have written.

    Args:
        pipeline: a pipeline whose pending packages (if any) are about to be loaded again.

    Returns:
        Rows deleted.
    """
    deleted = 0
    for load_id in pipeline.list_normalized_load_packages():
        package = pipeline.get_load_package_info(load_id)
        tables = _tables_of_started_jobs(package.jobs.get(STARTED_JOBS, []), package.jobs)
        if not tables:
            continue
        with pipeline.sql_client() as client:
            for table in tables:
                deleted += _delete_load_rows(client, table, load_id)
        logger.warning(
            "interrupted load undone pipeline=%s load_id=%s tables=%s rows_deleted=%d",
            pipeline.pipeline_name,
            load_id,
            ",".join(sorted(tables)),
            deleted,
        )
    return deleted


def _tables_of_started_jobs(
    started: Sequence[LoadJobInfo], jobs: Mapping[TPackageJobState, Sequence[LoadJobInfo]]
) -> set[str]:
    """Tables with an interrupted job, internal `_dlt` tables left to dlt's own merge logic."""
    tables = {job.job_file_info.table_name for job in started if not _has_marker(job)}
    per_table = Counter(
        job.job_file_info.table_name for state_jobs in jobs.values() for job in state_jobs
    )
    for table in sorted(tables):
        if per_table[table] > 1:
            # LIMITATION: deleting by load id would also remove the rows of this table's other,
            # completed load file in the same package; that only happens above dlt's
            # `data_writer.file_max_items` (2,000,000 rows per table and load). A fix would
            # move those completed jobs back to `new_jobs` so they run again too.
            logger.warning(
                "interrupted load not undone table=%s why=the package holds %d files for it",
                table,
                per_table[table],
            )
            tables.discard(table)
    return {table for table in tables if not table.startswith("_dlt")}


def _has_marker(job: LoadJobInfo) -> bool:
    """dlt recorded the job's outcome after its insert committed: dlt will not run it again."""
    job_file = Path(job.file_path)
    package = job_file.parent.parent
    return (package / PackageStorage.PENDING_TRANSITIONS_FOLDER / job_file.name).is_file()


# Any: dlt's SQL client is generic over the driver's connection type.
def _delete_load_rows(client: SqlClientBase[Any], table: str, load_id: str) -> int:
    qualified = client.make_qualified_table_name(table)
    try:
        rows = client.execute_sql(
            f"delete from {qualified} where {LOAD_ID_COLUMN} = %s returning 1", load_id
        )
    except DatabaseUndefinedRelation:
        return 0  # the job died before creating anything
    return len(rows or [])
