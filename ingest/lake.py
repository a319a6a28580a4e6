"""The lake: raw tables as Parquet files in a folder, for engines that read files (Spark).

dlt's filesystem destination writes each raw table of `raw_<system>` to
`<lake>/raw_<system>/<table>/<load id>.<file id>.parquet`, and its load records to
`<lake>/raw_<system>/_dlt_loads/` as JSON lines. The Spark target registers these folders as
external tables at the start of every build (macro `register_lake_tables`), so staging reads
the same raw tables, with the same columns, as on DuckDB. Config read: `TALLY_LAKE`, the lake
folder (default `data/lake`); a URL (`s3://...`, `abfss://...`) works where dlt and Spark both
have credentials for it.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import dlt
import duckdb
from dlt.common.destination import Destination

from ingest.contract import SystemName
from ingest.landed_files import FileTally
from ingest.pipeline import (
    IngestReport,
    SourceLoad,
    take_inventory,
)
from ingest.pipeline import _build_source as build_source
from ingest.pipeline import _configure_dlt as configure_dlt
from ingest.pipeline import _rows_loaded as rows_loaded
from ingest.pipeline import _run_pipeline as run_pipeline
from ingest.pipeline import _selected as selected_systems

logger = logging.getLogger(__name__)

LAKE_ENV = "TALLY_LAKE"
DEFAULT_LAKE = "data/lake"

DestinationName = Literal["duckdb", "lake"]
DESTINATIONS: tuple[DestinationName, ...] = ("duckdb", "lake")


def lake_path(lake: Path | None = None) -> Path:
    """The lake folder: `lake` when given, else `TALLY_LAKE`, else `data/lake`, absolute."""
    chosen = lake if lake is not None else Path(os.environ.get(LAKE_ENV) or DEFAULT_LAKE)
    return chosen.resolve()


def lake_destination(lake: Path) -> Destination:
    """dlt's filesystem destination writing into the lake folder (created when missing).

    Args:
        lake: the lake folder.

    Returns:
        The destination; each system's pipeline writes its own `raw_<system>` folder in it.
    """
    lake.mkdir(parents=True, exist_ok=True)
    return dlt.destinations.filesystem(bucket_url=lake.as_uri())


def lake_pipelines_dir(lake: Path) -> Path:
    """dlt's working folder for lake loads: beside the lake, never inside it.

    Kept apart from the DuckDB pipelines' folder, so that the two destinations' pipeline
    states (which files each has loaded) never mix.
    """
    return lake.parent / f"{lake.name}_dlt"


def ingest_lake_source(
    system: SystemName,
    landing: Path,
    lake: Path,
    outside_contract: int = 0,
) -> SourceLoad:
    """Loads one system's new files or rows into `<lake>/raw_<system>/` as Parquet.

    Args:
        system: the upstream system.
        landing: the landing zone folder.
        lake: the lake folder.
        outside_contract: files of this system the inventory found outside the contract.

    Returns:
        What was loaded.

    Raises:
        IngestError: extract, normalize or load failed; dlt keeps the load package, and the
            next run finishes or replaces it.
    """
    started = time.perf_counter()
    tally = FileTally()
    source = build_source(system, landing, tally)
    load_id: str | None = None
    rows = 0
    if source is not None:
        pipeline = dlt.pipeline(
            pipeline_name=f"tally_{system}",
            pipelines_dir=str(lake_pipelines_dir(lake)),
            destination=lake_destination(lake),
            dataset_name=f"raw_{system}",
        )
        info = run_pipeline(pipeline, system, source)
        rows = rows_loaded(pipeline)
        load_id = info.loads_ids[-1] if info.loads_ids else None
    load = SourceLoad(
        source=system,
        rows_loaded=rows,
        files_loaded=tally.loaded,
        files_rejected=tally.rejected,
        files_unchanged=tally.unchanged,
        files_outside_contract=outside_contract,
        load_id=load_id,
        duration_seconds=round(time.perf_counter() - started, 3),
    )
    logger.info(
        "ingested source=%s destination=lake rows=%d files_loaded=%d files_rejected=%d"
        " load_id=%s duration_s=%.2f",
        system,
        load.rows_loaded,
        load.files_loaded,
        load.files_rejected,
        load.load_id,
        load.duration_seconds,
    )
    return load


def run_lake_ingest(
    landing: Path, lake: Path | None = None, *, sources: Sequence[str] | None = None
) -> IngestReport:
    """Loads everything new in the landing zone into the lake, as `run_ingest` does for DuckDB.

    Args:
        landing: the landing zone folder.
        lake: the lake folder; `TALLY_LAKE` or `data/lake` by default.
        sources: the systems to load; all of them by default.

    Returns:
        What each system's pipeline loaded.

    Raises:
        LandingZoneError: the landing zone is missing or empty.
        SourceConfigError: `sources` names an unknown system.
        IngestError: a pipeline failed; the systems before it are loaded.
    """
    folder = lake_path(lake)
    systems = selected_systems(sources)
    inventory = take_inventory(landing)
    configure_dlt()
    outside = Counter(
        item.relative_path.split("/", 1)[0] for item in inventory if not item.in_contract
    )
    loads = tuple(
        ingest_lake_source(system, landing, folder, outside.get(system, 0)) for system in systems
    )
    return IngestReport(
        loads=loads,
        outside_contract=tuple(item for item in inventory if not item.in_contract),
    )


def attach_lake_views(connection: duckdb.DuckDBPyConnection, lake: Path) -> list[str]:
    """Creates DuckDB views `raw_<system>.<table>` over the lake's files, to query raw there.

    The runner reads raw's history (which business days new loads touched) this way for the
    Spark target, with the same SQL it runs on the DuckDB warehouse.

    Args:
        connection: a DuckDB connection, usually in memory.
        lake: the lake folder.

    Returns:
        The views created, as `schema.table`.
    """
    created = []
    for dataset in sorted(lake.glob("raw_*")):
        connection.execute(f'create schema if not exists "{dataset.name}"')
        for table in sorted(path for path in dataset.iterdir() if path.is_dir()):
            if table.name == "_dlt_loads":
                reader = f"read_json('{table.as_posix()}/*.jsonl', format = 'newline_delimited')"
            elif any(table.glob("*.parquet")):
                reader = f"read_parquet('{table.as_posix()}/*.parquet', union_by_name = true)"
            else:
                continue
            name = f'"{dataset.name}"."{table.name}"'
            connection.execute(f"create or replace view {name} as select * from {reader}")
            created.append(f"{dataset.name}.{table.name}")
    return created
