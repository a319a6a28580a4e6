"""Run records in the warehouse's `ops` schema, written with plain DuckDB between dbt calls.

Tables: `pipeline_runs` (one row per run), `step_runs` (one per step), `dbt_node_results` (one
per node of every dbt invocation, from run_results.json), `test_failure_history` (the rows
of failing tests that store their failures, as JSON, keyed by dbt invocation id) and
`build_watermarks` (the newest raw load each complete build covered, see runner/windows.py).
Each write opens the file, writes and closes it again, so nothing is held while dlt or dbt
runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingest.lake import attach_lake_views
from runner.errors import WarehouseBusyError, WarehouseUnusableError
from runner.results import NodeResult, RunReport, StepResult
from runner.windows import RawHistory, read_raw_history

logger = logging.getLogger(__name__)

OPS_SCHEMA = "ops"
# Stored failures copied per failing test and invocation; a test failing on a million rows
# would otherwise copy them all, every night.
MAX_FAILURE_ROWS_PER_TEST = 1000

_TABLES = {
    "pipeline_runs": """
        run_id varchar primary key,
        command varchar not null,
        arguments varchar,
        git_commit varchar,
        run_by_user varchar,
        host varchar,
        target varchar,
        warehouse_path varchar,
        log_file varchar,
        outcome varchar not null,
        exit_code integer,
        error varchar,
        rows_loaded bigint,
        cpu_seconds double,
        peak_memory_bytes bigint,
        started_at timestamp not null,
        ended_at timestamp
    """,
    "step_runs": """
        run_id varchar not null,
        step varchar not null,
        outcome varchar not null,
        error varchar,
        rows bigint,
        duration_seconds double,
        cpu_seconds double,
        peak_memory_bytes bigint,
        started_at timestamp not null,
        ended_at timestamp not null,
        primary key (run_id, step)
    """,
    "dbt_node_results": """
        run_id varchar not null,
        invocation_id varchar not null,
        command varchar not null,
        unique_id varchar not null,
        resource_type varchar not null,
        status varchar not null,
        severity varchar,
        message varchar,
        execution_time double,
        rows_affected bigint,
        failures bigint,
        primary key (invocation_id, unique_id)
    """,
    "build_watermarks": """
        run_id varchar primary key,
        newest_load_id varchar not null,
        recorded_at timestamp not null
    """,
    "test_failure_history": """
        run_id varchar not null,
        invocation_id varchar not null,
        unique_id varchar not null,
        status varchar not null,
        row_number integer not null,
        failure_row varchar not null,
        recorded_at timestamp not null,
        primary key (invocation_id, unique_id, row_number)
    """,
}


@dataclass(frozen=True)
class RunContextInfo:
    """Who and where: the descriptive columns of `pipeline_runs`."""

    git_commit: str | None
    user: str | None
    host: str
    target: str | None
    warehouse: Path
    log_file: Path | None


@dataclass(frozen=True)
class PastRun:
    """A row of `pipeline_runs`, as `status` shows it."""

    run_id: str
    command: str
    outcome: str
    exit_code: int | None
    rows_loaded: int | None
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    error: str | None


class OpsStore:
    """Reads and writes the ops tables of one warehouse."""

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = warehouse

    @contextlib.contextmanager
    def _connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            connection = duckdb.connect(str(self.warehouse), read_only=read_only)
        except duckdb.IOException as err:
            if "lock" in str(err).lower():
                raise WarehouseBusyError(str(self.warehouse), str(err)) from err
            raise WarehouseUnusableError(str(self.warehouse), str(err)) from err
        except duckdb.Error as err:
            # A damaged file or WAL: DuckDB refuses to open it at all.
            raise WarehouseUnusableError(str(self.warehouse), str(err)) from err
        try:
            yield connection
        finally:
            connection.close()

    def ensure_tables(self) -> None:
        """Create the ops schema and tables if they are missing."""
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as connection:
                connection.execute(f"create schema if not exists {OPS_SCHEMA}")
                for table, columns in _TABLES.items():
                    connection.execute(
                        f"create table if not exists {OPS_SCHEMA}.{table} ({columns})"
                    )
        except duckdb.Error as err:  # e.g. the disk is full: the tables cannot be written
            raise WarehouseUnusableError(str(self.warehouse), str(err)) from err

    def start_run(self, report: RunReport, info: RunContextInfo) -> None:
        """Insert the run's row with outcome `running` (left so if the process is killed)."""
        with self._connect() as connection:
            connection.execute(
                f"""
                insert into {OPS_SCHEMA}.pipeline_runs (
                    run_id, command, arguments, git_commit, run_by_user, host, target,
                    warehouse_path, log_file, outcome, started_at
                )
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)
                """,
                [
                    report.run_id,
                    report.command,
                    json.dumps(report.arguments),
                    info.git_commit,
                    info.user,
                    info.host,
                    info.target,
                    str(info.warehouse),
                    str(info.log_file) if info.log_file else None,
                    report.started_at,
                ],
            )

    def raw_history(self, lake: Path | None = None) -> RawHistory:
        """What raw holds, and the business days loaded since the last complete build.

        Args:
            lake: read raw from this lake folder (Spark targets) instead of the warehouse.
        """
        with self._connect(read_only=True) as connection:
            row = connection.execute(
                f"select newest_load_id from {OPS_SCHEMA}.build_watermarks"
                " order by recorded_at desc limit 1"
            ).fetchone()
            watermark = row[0] if row else None
            if lake is None:
                return read_raw_history(connection, watermark)
        # LIMITATION: the watermark is shared by every target recording into this warehouse
        # file; alternating DuckDB and Spark builds on one file can skip pending days. Use
        # one TALLY_WAREHOUSE per target, or key build_watermarks by target.
        with duckdb.connect() as lake_connection:
            attach_lake_views(lake_connection, lake)
            return read_raw_history(lake_connection, watermark)

    def record_build_watermark(self, run_id: str, newest_load_id: str) -> None:
        """Remember that a complete build covered every raw load up to `newest_load_id`."""
        with self._connect() as connection:
            connection.execute(
                f"insert into {OPS_SCHEMA}.build_watermarks values (?, ?, ?)",
                [run_id, newest_load_id, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )

    def record_step(self, run_id: str, step: StepResult) -> None:
        """Insert one step's row."""
        with self._connect() as connection:
            connection.execute(
                f"insert into {OPS_SCHEMA}.step_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    step.step,
                    step.outcome,
                    step.error,
                    step.rows,
                    step.duration_seconds,
                    step.usage.cpu_seconds,
                    step.usage.peak_memory_bytes,
                    step.started_at,
                    step.ended_at,
                ],
            )

    def record_nodes(self, run_id: str, nodes: Sequence[NodeResult]) -> None:
        """Insert the node results of one dbt invocation, then copy its stored test failures."""
        if not nodes:
            return
        with self._connect() as connection:
            connection.executemany(
                f"""
                insert or replace into {OPS_SCHEMA}.dbt_node_results
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    [
                        run_id,
                        node.invocation_id,
                        node.command,
                        node.unique_id,
                        node.resource_type,
                        node.status,
                        node.severity,
                        node.message,
                        node.execution_time,
                        node.rows_affected,
                        node.failures,
                    ]
                    for node in nodes
                ],
            )
            for node in nodes:
                if node.status in {"fail", "warn"} and node.failures_relation:
                    _copy_failures(connection, run_id, node)

    def finish_run(self, report: RunReport) -> None:
        """Set the run's outcome, exit code, totals and end time."""
        usage = report.usage
        with self._connect() as connection:
            connection.execute(
                f"""
                update {OPS_SCHEMA}.pipeline_runs
                set outcome = ?, exit_code = ?, error = ?, rows_loaded = ?, cpu_seconds = ?,
                    peak_memory_bytes = ?, ended_at = ?
                where run_id = ?
                """,
                [
                    report.outcome,
                    report.exit_code,
                    report.error,
                    report.rows_loaded,
                    usage.cpu_seconds if usage else None,
                    usage.peak_memory_bytes if usage else None,
                    report.ended_at,
                    report.run_id,
                ],
            )

    def catalog_shape(self) -> list[tuple[Any, ...]]:
        """Every relation and column outside `ops`, with types and comments, in a stable order.

        This is what dbt's catalog reads from DuckDB, and so what the docs site shows of the
        warehouse (see runner/docs_state.py).
        """
        with self._connect(read_only=True) as connection:
            return connection.execute(
                f"""
                select schema_name, table_name, column_index, column_name, data_type, comment
                from duckdb_columns()
                where database_name = current_database() and schema_name <> '{OPS_SCHEMA}'
                union all
                select schema_name, table_name, null, null, 'table', comment
                from duckdb_tables()
                where database_name = current_database() and schema_name <> '{OPS_SCHEMA}'
                union all
                select schema_name, view_name, null, null, 'view', comment
                from duckdb_views()
                where database_name = current_database() and schema_name <> '{OPS_SCHEMA}'
                    and not internal
                order by all
                """
            ).fetchall()

    def breaks_by_type(self, relation: str) -> dict[str, int]:
        """Rows of fct_reconciliation_breaks by break_type."""
        with self._connect() as connection:
            rows = connection.execute(
                f"select break_type, count(*) from {relation} group by 1 order by 1"
            ).fetchall()
        return {str(break_type): int(count) for break_type, count in rows}

    def days_closed(self, relation: str) -> tuple[int, int]:
        """(closed days, all days) of fct_daily_close."""
        with self._connect() as connection:
            row = connection.execute(
                f"select count(*) filter (where is_closed), count(*) from {relation}"
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def last_runs(self, limit: int) -> list[PastRun]:
        """The most recent runs, newest first; empty if no run was ever recorded."""
        if not self.warehouse.exists():
            return []
        with self._connect(read_only=True) as connection:
            exists = connection.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = 'pipeline_runs'",
                [OPS_SCHEMA],
            ).fetchone()
            if not exists or not exists[0]:
                return []
            rows = connection.execute(
                f"""
                select run_id, command, outcome, exit_code, rows_loaded, cpu_seconds,
                    peak_memory_bytes, started_at, ended_at, error
                from {OPS_SCHEMA}.pipeline_runs
                order by started_at desc
                limit ?
                """,
                [limit],
            ).fetchall()
        return [PastRun(*row) for row in rows]


def _copy_failures(connection: duckdb.DuckDBPyConnection, run_id: str, node: NodeResult) -> None:
    """Append a failing test's stored rows as JSON text to test_failure_history."""
    relation = node.failures_relation
    try:
        rows = connection.execute(
            f"select to_json(failures)::varchar from {relation} as failures limit ?",
            [MAX_FAILURE_ROWS_PER_TEST + 1],
        ).fetchall()
    except duckdb.CatalogException:
        logger.warning("stored failures missing test=%s relation=%s", node.unique_id, relation)
        return
    if len(rows) > MAX_FAILURE_ROWS_PER_TEST:
        logger.warning(
            "stored failures truncated test=%s kept=%d", node.unique_id, MAX_FAILURE_ROWS_PER_TEST
        )
        rows = rows[:MAX_FAILURE_ROWS_PER_TEST]
    recorded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    connection.executemany(
        f"insert or replace into {OPS_SCHEMA}.test_failure_history values (?, ?, ?, ?, ?, ?, ?)",
        [
            [run_id, node.invocation_id, node.unique_id, node.status, number, row[0], recorded_at]
            for number, row in enumerate(rows, start=1)
        ],
    )
