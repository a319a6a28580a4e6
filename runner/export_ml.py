"""Export the ML feature mart to Parquet, one file per month, with a manifest.

`python run.py export-ml` writes `<output>/year=YYYY/month=MM/part-0.parquet` (Hive-style
partitions that pyarrow, Spark and DuckDB read as columns) and `<output>/manifest.json`: the
row count, the schema, the date range, each file's rows and sha256, and the warehouse run that
built the mart. The same warehouse always gives the same bytes: rows are sorted, the files
carry no timestamps, and the compression is fixed. One month is read and written at a time, so
memory follows the size of a month, not of the history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.errors import TallyError
from runner.records import OPS_SCHEMA

logger = logging.getLogger(__name__)

FEATURES_MODEL = "fct_daily_category_features"
DATE_COLUMN = "feature_date"
SORT_COLUMNS = ("feature_date", "category")
MANIFEST_FILE = "manifest.json"
# Fixed writer settings: the same rows always give the same bytes.
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
ROW_GROUP_ROWS = 128 * 1024
# Steps whose success means the marts were (re)built by that run.
BUILDING_STEP = "build"


class ExportError(TallyError):
    """The feature export could not read the mart (a failed step, exit code 3)."""

    def __init__(self, relation: str, warehouse: Path, cause: str) -> None:
        self.relation = relation
        self.warehouse = warehouse
        self.cause = cause
        super().__init__(
            f"could not export `{relation}` from `{warehouse}`: {cause}; "
            "build the mart first (`python run.py build`)"
        )


@dataclass(frozen=True)
class ExportedPartition:
    """One Parquet file of the export."""

    path: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class ExportManifest:
    """What `manifest.json` records about an export."""

    relation: str
    warehouse_run_id: str | None
    row_count: int
    first_date: str | None
    last_date: str | None
    schema: list[dict[str, str]]
    partitions: list[ExportedPartition]
    compression: str


def export_features(warehouse: Path, relation: str, output: Path) -> ExportManifest:
    """Write `relation` to `output` as Parquet partitioned by year and month, plus a manifest.

    The export is written beside `output` first and swapped in at the end, so a failed export
    leaves the previous one whole, and partitions of months no longer present disappear.

    Args:
        warehouse: the DuckDB file holding the mart.
        relation: the mart as `"schema"."table"`.
        output: the export folder; replaced as a whole.

    Returns:
        The manifest written to `<output>/manifest.json`.

    Raises:
        ExportError: the warehouse or the mart cannot be read, or the output cannot be written.
    """
    staging_dir = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging_dir, ignore_errors=True)
    staging_dir.mkdir(parents=True)
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            # Arrow timestamps carry the session's zone; UTC keeps them the same everywhere.
            connection.execute("set TimeZone = 'UTC'")
            manifest = _write_partitions(connection, relation, staging_dir)
    except duckdb.Error as err:
        shutil.rmtree(staging_dir, ignore_errors=True)
        raise ExportError(relation, warehouse, str(err).splitlines()[0]) from err
    manifest_text = json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n"
    (staging_dir / MANIFEST_FILE).write_text(manifest_text, encoding="utf-8")
    shutil.rmtree(output, ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging_dir.rename(output)
    logger.info(
        "features exported relation=%s rows=%d partitions=%d output=%s run_id=%s",
        relation,
        manifest.row_count,
        len(manifest.partitions),
        output,
        manifest.warehouse_run_id,
    )
    return manifest


def _write_partitions(
    connection: duckdb.DuckDBPyConnection, relation: str, folder: Path
) -> ExportManifest:
    months = connection.execute(
        f"""
        select distinct year({DATE_COLUMN}), month({DATE_COLUMN})
        from {relation}
        order by 1, 2
        """
    ).fetchall()
    schema: pa.Schema | None = None
    partitions: list[ExportedPartition] = []
    for year, month in months:
        table = _read_month(connection, relation, dt.date(year, month, 1))
        schema = schema or table.schema
        partitions.append(_write_month(table, folder, year, month))
    if schema is None:
        schema = _read_month(connection, relation, dt.date(1, 1, 1)).schema
    first_date, last_date = connection.execute(
        f"select min({DATE_COLUMN}), max({DATE_COLUMN}) from {relation}"
    ).fetchone() or (None, None)
    return ExportManifest(
        relation=relation,
        warehouse_run_id=_producing_run_id(connection),
        row_count=sum(partition.rows for partition in partitions),
        first_date=None if first_date is None else first_date.isoformat(),
        last_date=None if last_date is None else last_date.isoformat(),
        schema=[{"name": field.name, "type": str(field.type)} for field in schema],
        partitions=partitions,
        compression=f"{PARQUET_COMPRESSION}:{PARQUET_COMPRESSION_LEVEL}",
    )


def _read_month(
    connection: duckdb.DuckDBPyConnection, relation: str, first_day: dt.date
) -> pa.Table:
    next_month = (first_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    order_by = ", ".join(SORT_COLUMNS)
    return connection.sql(
        f"""
        select * from {relation}
        where {DATE_COLUMN} >= ? and {DATE_COLUMN} < ?
        order by {order_by}
        """,
        params=[first_day, next_month],
    ).to_arrow_table()


def _write_month(table: pa.Table, folder: Path, year: int, month: int) -> ExportedPartition:
    relative = Path(f"year={year:04d}") / f"month={month:02d}" / "part-0.parquet"
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        target,
        compression=PARQUET_COMPRESSION,
        compression_level=PARQUET_COMPRESSION_LEVEL,
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=True,
        write_statistics=True,
    )
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    return ExportedPartition(relative.as_posix(), table.num_rows, digest)


def _producing_run_id(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The newest run whose build step finished (audit failures included): it built the mart."""
    try:
        row = _newest_build(connection)
    except duckdb.CatalogException:
        logger.warning("no run records to name the export's run table=%s.step_runs", OPS_SCHEMA)
        return None
    return None if row is None else str(row[0])


def _newest_build(connection: duckdb.DuckDBPyConnection) -> tuple[object, ...] | None:
    return connection.execute(
        f"""
        select run_id
        from {OPS_SCHEMA}.step_runs
        where step = ? and outcome in ('succeeded', 'audit_failed')
        order by ended_at desc, run_id desc
        limit 1
        """,
        [BUILDING_STEP],
    ).fetchone()
