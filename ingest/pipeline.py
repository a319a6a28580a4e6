"""Builds and runs the dlt pipelines that copy the landing zone into the warehouse's raw layer.

One pipeline per upstream system, each writing the dataset (schema) `raw_<system>` of the same
DuckDB file. Loads go through Parquet load files, the fast path for Arrow tables. Config read:
`TALLY_SHOP_URL` (or dlt's `sources.shop.credentials`), the shop database URL; without it, the
SQLite file `shop/shop.db` in the landing zone. `TALLY_MEMORY_LIMIT`, `TALLY_DUCKDB_THREADS` and
`TALLY_TEMP_DIR` cap the DuckDB connection of every load (see `ingest.resources`). dlt's working
folders live next to the warehouse, so that a killed run's pending load packages are found and
finished by the next run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import sqlalchemy.exc
from dlt.common.pipeline import LoadInfo
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.extract.source import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from ingest.contract import SHOP_DATABASE_PATH, SYSTEMS, LandingFile, SystemName, classify
from ingest.errors import IngestError, LandingZoneError, SourceConfigError
from ingest.landed_files import FileTally
from ingest.recovery import undo_started_jobs
from ingest.resources import DuckDBResources
from ingest.sources.bank import bank
from ingest.sources.fx import fx
from ingest.sources.ledger import ledger
from ingest.sources.payments import payments
from ingest.sources.shop import shop

logger = logging.getLogger(__name__)

SHOP_URL_ENV = "TALLY_SHOP_URL"
DLT_TABLE_PREFIX = "_dlt"

FILE_SOURCES: dict[SystemName, Callable[..., DltSource]] = {
    "payments": payments,
    "bank": bank,
    "ledger": ledger,
    "fx": fx,
}


@dataclass(frozen=True)
class SourceLoad:
    """What one system's pipeline loaded in this run.

    Attributes:
        source: the upstream system.
        rows_loaded: rows written to raw tables (the dlt state table excluded).
        files_loaded: files read into raw (always 0 for the shop database).
        files_rejected: files recorded in `rejected_files` because they could not be read.
        files_unchanged: files already in raw with the same content, so not read again.
        files_outside_contract: files below the system's folder the contract does not name.
        load_id: the dlt load id, or None when there was nothing to load.
        duration_seconds: wall time of extract, normalize and load.
    """

    source: SystemName
    rows_loaded: int
    files_loaded: int
    files_rejected: int
    files_unchanged: int
    files_outside_contract: int
    load_id: str | None
    duration_seconds: float


@dataclass(frozen=True)
class IngestReport:
    """What a whole ingest did, one entry per system, plus the files left alone."""

    loads: tuple[SourceLoad, ...]
    outside_contract: tuple[LandingFile, ...]

    @property
    def rows_loaded(self) -> int:
        return sum(load.rows_loaded for load in self.loads)


def take_inventory(landing: Path) -> list[LandingFile]:
    """Classifies every file below the landing zone, and logs those outside the contract.

    Args:
        landing: the landing zone folder.

    Returns:
        Every file found, classified.

    Raises:
        LandingZoneError: the folder does not exist, is not a folder, or holds no file.
    """
    if not landing.exists():
        raise LandingZoneError(
            landing, "does not exist", "run `python run.py demo` to create one, or set --landing"
        )
    if not landing.is_dir():
        raise LandingZoneError(landing, "is not a folder", "point --landing at a folder")
    files = [
        classify(path.relative_to(landing).as_posix())
        for path in sorted(landing.rglob("*"))
        if path.is_file()
    ]
    if not files:
        raise LandingZoneError(
            landing, "holds no file", "run `python run.py demo` to fill it, or set --landing"
        )
    for landing_file in files:
        if not landing_file.in_contract:
            logger.warning(
                "outside contract, left alone file=%s why=%s",
                landing_file.relative_path,
                landing_file.problem,
            )
    return files


def _configure_dlt() -> None:
    """Settings that make dlt's Arrow path keep lineage and stay columnar end to end."""
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    dlt.config["data_writer.buffer_max_items"] = 200_000
    dlt.config["data_writer.file_max_items"] = 2_000_000
    dlt.config["runtime.log_level"] = "WARNING"


def duckdb_destination(warehouse: Path, resources: DuckDBResources) -> dlt.destinations.duckdb:
    """dlt's DuckDB destination for the warehouse, opened under the run's resource limits."""
    resources.temp_directory.mkdir(parents=True, exist_ok=True)
    credentials = DuckDbCredentials(str(warehouse), global_config=resources.settings())
    return dlt.destinations.duckdb(credentials)


def _shop_url(landing: Path) -> str | None:
    url = os.environ.get(SHOP_URL_ENV)
    if url:
        return url
    database = landing / SHOP_DATABASE_PATH
    if database.is_file():
        return f"sqlite:///{database.resolve()}"
    return None


def _rows_loaded(pipeline: dlt.Pipeline) -> int:
    trace = pipeline.last_trace
    normalize_info = trace.last_normalize_info if trace else None
    if normalize_info is None:
        return 0
    return sum(
        count
        for table, count in normalize_info.row_counts.items()
        if not table.startswith(DLT_TABLE_PREFIX)
    )


def _build_source(system: SystemName, landing: Path, tally: FileTally) -> DltSource | None:
    if system == "shop":
        url = _shop_url(landing)
        if url is None:
            logger.warning(
                "skipped source=shop why=no `%s` in the landing zone and %s is unset",
                SHOP_DATABASE_PATH,
                SHOP_URL_ENV,
            )
            return None
        try:
            source = shop(credentials=url)
        except sqlalchemy.exc.ArgumentError as err:  # a malformed URL or a missing driver
            reason = str(err).splitlines()[0]
            raise SourceConfigError(
                SHOP_URL_ENV,
                f"is not a database URL the shop pipeline can open ({reason}); write it as "
                "SQLAlchemy expects, e.g. `sqlite:////absolute/path/shop.db`",
            ) from err
    else:
        source = FILE_SOURCES[system](landing_url=str(landing.resolve()), tally=tally)
    # Raw keeps text exactly as sent: a manifest's `generated_at` must not become a timestamp.
    source.schema.remove_type_detection("iso_timestamp")
    return source


def _run_pipeline(pipeline: dlt.Pipeline, system: SystemName, source: DltSource) -> LoadInfo:
    try:
        return pipeline.run(source, loader_file_format="parquet")
    except PipelineStepFailed as err:
        raise IngestError(system, err.step, str(err.exception)) from err


def ingest_source(
    system: SystemName,
    landing: Path,
    warehouse: Path,
    pipelines_dir: Path,
    outside_contract: int = 0,
    *,
    resources: DuckDBResources | None = None,
) -> SourceLoad:
    """Loads one system's new files or rows into `raw_<system>`.

    Args:
        system: the upstream system.
        landing: the landing zone folder.
        warehouse: the DuckDB file.
        pipelines_dir: where dlt keeps its working folders and local state.
        outside_contract: files of this system the inventory found outside the contract.
        resources: DuckDB's limits for the load; from the `TALLY_*` variables by default.

    Returns:
        What was loaded.

    Raises:
        IngestError: extract, normalize or load failed; dlt keeps the load package, and the
            next run finishes or replaces it.
    """
    started = time.perf_counter()
    tally = FileTally()
    source = _build_source(system, landing, tally)
    load_id: str | None = None
    rows = 0
    if source is not None:
        pipeline = dlt.pipeline(
            pipeline_name=f"tally_{system}",
            pipelines_dir=str(pipelines_dir),
            destination=duckdb_destination(
                warehouse, resources or DuckDBResources.from_environment()
            ),
            dataset_name=f"raw_{system}",
        )
        # A killed run may have left a load half-done: clear it so dlt's retry adds no duplicate.
        undo_started_jobs(pipeline)
        info = _run_pipeline(pipeline, system, source)
        rows = _rows_loaded(pipeline)
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
        "ingested source=%s rows=%d files_loaded=%d files_rejected=%d files_unchanged=%d"
        " load_id=%s duration_s=%.2f",
        system,
        load.rows_loaded,
        load.files_loaded,
        load.files_rejected,
        load.files_unchanged,
        load.load_id,
        load.duration_seconds,
    )
    return load


def _selected(sources: Iterable[str] | None) -> tuple[SystemName, ...]:
    if sources is None:
        return SYSTEMS
    chosen = tuple(sources)
    unknown = sorted(set(chosen) - set(SYSTEMS))
    if unknown:
        raise SourceConfigError(
            "sources", f"names unknown systems {unknown}; choose from {list(SYSTEMS)}"
        )
    return tuple(system for system in SYSTEMS if system in chosen)


def run_ingest(
    landing: Path,
    warehouse: Path,
    *,
    sources: Sequence[str] | None = None,
    pipelines_dir: Path | None = None,
) -> IngestReport:
    """Loads everything new in the landing zone into the raw layer of the warehouse.

    The landing zone is only read. Running it again with no new files loads nothing.

    Args:
        landing: the landing zone folder.
        warehouse: the DuckDB file; created when missing.
        sources: the systems to load; all of them by default.
        pipelines_dir: dlt's working folder; `<warehouse folder>/dlt` by default.

    Returns:
        What each system's pipeline loaded.

    Raises:
        LandingZoneError: the landing zone is missing or empty.
        SourceConfigError: `sources` names an unknown system, or a `TALLY_*` resource limit
            is malformed (see `ingest.resources`).
        IngestError: a pipeline failed; the systems before it are loaded.
    """
    systems = _selected(sources)
    inventory = take_inventory(landing)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    working_dir = pipelines_dir or warehouse.parent / "dlt"
    _configure_dlt()
    resources = DuckDBResources.from_environment()
    outside: dict[str, int] = {}
    for landing_file in inventory:
        if not landing_file.in_contract:
            top = landing_file.relative_path.split("/", 1)[0]
            outside[top] = outside.get(top, 0) + 1
    loads = tuple(
        ingest_source(
            system, landing, warehouse, working_dir, outside.get(system, 0), resources=resources
        )
        for system in systems
    )
    return IngestReport(
        loads=loads,
        outside_contract=tuple(item for item in inventory if not item.in_contract),
    )


def loaded_row_counts(loads: Iterable[SourceLoad]) -> dict[str, Any]:
    """Rows loaded per system, for summaries and metrics."""
    return {load.source: load.rows_loaded for load in loads}
