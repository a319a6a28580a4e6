"""dbt, in-process: parse the project once, then build and generate docs from that manifest.

dbt runs with the repo's own dbt_project.yml and profiles.yml; the warehouse path reaches the
profile through TALLY_WAREHOUSE. After every invocation the DuckDB file is released, so the
runner (and dlt) can write it again: one writer per file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ingest.resources import DuckDBResources
from runner.errors import DbtProjectError
from runner.results import NodeResult
from runner.settings import Settings, Window

logger = logging.getLogger(__name__)
events_logger = logging.getLogger("runner.dbt.events")

# dbt event levels mapped onto ours: dbt's `info` is per-node chatter, DEBUG for us (STYLE.md:
# INFO is one line per step); its warnings and errors keep their level.
_EVENT_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.DEBUG,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

# The dbt vars carrying a backfill window, for models that filter by business date themselves.
WINDOW_START_VAR = "backfill_start_date"
WINDOW_END_VAR = "backfill_end_date"
# The dbt var telling data tests to read only the window's days.
TESTED_WINDOW_VAR = "tested_window"
# The dbt var sizing the event-time batches (macros/incremental/microbatch_config.sql): a
# month, or a year for windows longer than this many days when DuckDB may use this much
# memory. A year's batch of the reconciliation models over the five-year profile needs more
# than 1.5 GB with two threads (measured: it failed at `TALLY_MEMORY_LIMIT=1536MB` and built
# at `4GB`).
BATCH_SIZE_VAR = "event_time_batch_size"
YEARLY_BATCHES_FROM_DAYS = 400
YEARLY_BATCHES_FROM_MEMORY_BYTES = 4 * 1000**3

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class DbtInvocation:
    """The outcome of one dbt command.

    Attributes:
        command: `build`, `docs generate`, ...
        invocation_id: dbt's id for the invocation (from run_results.json).
        nodes: one result per node dbt ran.
        crashed: dbt's own error when it could not run at all (bad project, bad profile).
    """

    command: str
    invocation_id: str | None
    nodes: tuple[NodeResult, ...]
    crashed: str | None = None

    @property
    def has_errors(self) -> bool:
        """dbt crashed, or a node could not run (as opposed to a test finding rows)."""
        return self.crashed is not None or any(node.is_error for node in self.nodes)


class DbtProject:
    """The repo's dbt project, run in this process against the run's warehouse."""

    def __init__(self, settings: Settings, on_progress: ProgressCallback | None = None) -> None:
        self._settings = settings
        self._on_progress = on_progress
        self._manifest: Any = None  # dbt's Manifest; Any because dbt ships no type stubs.
        self._total_nodes = 0
        self._finished_nodes = 0
        # Vars that configs read, fixed when the project is parsed; the same from one run to
        # the next, so that dbt's partial parsing can reuse the last run's parse.
        self._parse_vars: dict[str, str | bool] = {}
        # Vars read only when nodes run (the window): given to the commands, not to the parse,
        # since a var that changes between parses makes dbt parse the whole project again.
        self._run_vars: dict[str, str | bool] = {}

    @property
    def manifest_loaded(self) -> bool:
        """True once the project has been parsed."""
        return self._manifest is not None

    @property
    def manifest(self) -> Any:
        """The parsed manifest (parsed on first use)."""
        if self._manifest is None:
            self._manifest = self._parse()
        return self._manifest

    def build(
        self,
        window: Window | None = None,
        history_begin: dt.date | None = None,
        *,
        unit_tests: bool = True,
        test_window_only: bool = False,
    ) -> DbtInvocation:
        """`dbt build` with the run's --select and --full-refresh.

        Args:
            window: the business days whose event-time batches to rebuild; without one, dbt
                picks batches from the wall clock.
            history_begin: the first day of history, where a full build of the incremental
                facts starts (the var `history_begin`); it is fixed when the project is parsed,
                as is the size of the event-time batches, chosen from `window`.
            unit_tests: run dbt's unit tests too. They test the models' logic on fixed inputs,
                not the day's data: a scheduled run leaves them to CI and `run.py build`.
            test_window_only: data tests read only the window's business days, in the models
                that name their date column (the var `tested_window`, see
                macros/tests/tested_window.sql); the days before were tested when they loaded.
        """
        if not self.manifest_loaded:
            # Both are configs, fixed when the project is parsed.
            if history_begin is not None:
                self._parse_vars["history_begin"] = history_begin.isoformat()
            self._parse_vars[BATCH_SIZE_VAR] = event_time_batch_size(
                window, DuckDBResources.from_environment().memory_limit_bytes
            )
        args = ["build"]
        if self._settings.select:
            args += ["--select", self._settings.select]
        if self._settings.full_refresh:
            args.append("--full-refresh")
        if not unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        if window is not None:
            args += window_arguments(window)
            self._run_vars.update(window_vars(window))
        self._run_vars[TESTED_WINDOW_VAR] = test_window_only and window is not None
        return self._invoke(args)

    def docs_generate(self) -> DbtInvocation:
        """`dbt docs generate`: manifest.json, catalog.json and index.html in the target path."""
        return self._invoke(["docs", "generate"])

    def relation(self, model_name: str) -> str | None:
        """`schema.table` of a model of this project, or None if the project has no such model."""
        for node in self.manifest.nodes.values():
            if node.resource_type == "model" and node.name == model_name:
                return f'"{node.schema}"."{node.alias}"'
        return None

    def _parse(self) -> Any:
        # Imported late: importing dbt costs about 2 s, which `status` and `--help` skip.
        from dbt.cli.main import dbtRunner  # noqa: PLC0415

        with dbt_environment(self._settings):
            result = dbtRunner(callbacks=[self._on_event]).invoke(
                ["parse", *self._common(self._parse_vars)]
            )
        release_duckdb()
        if not result.success or result.result is None:
            raise DbtProjectError(str(result.exception))
        return result.result

    def _invoke(self, args: list[str]) -> DbtInvocation:
        from dbt.cli.main import dbtRunner  # noqa: PLC0415 (see _parse)

        command = " ".join(arg for arg in args[:2] if not arg.startswith("-"))
        manifest = self.manifest
        self._total_nodes = self._finished_nodes = 0
        started = time.time()
        logger.debug("dbt invoke args=%s", args)
        with dbt_environment(self._settings):
            runner = dbtRunner(manifest=manifest, callbacks=[self._on_event])
            try:
                result = runner.invoke([*args, *self._common(self._parse_vars | self._run_vars)])
            finally:
                release_duckdb()
        crashed = None if result.exception is None else str(result.exception)
        invocation_id, raw_results = self._read_run_results(started)
        nodes = tuple(self._node_result(command, invocation_id, raw) for raw in raw_results)
        return DbtInvocation(command, invocation_id, nodes, crashed)

    def _common(self, dbt_vars: dict[str, str | bool]) -> list[str]:
        settings = self._settings
        project = str(settings.project_dir)
        args = [
            "--project-dir", project,
            "--profiles-dir", project,
            "--target-path", str(settings.dbt_target_path),
            "--log-path", str(settings.log_dir),
            # The console is ours (events arrive through the callback). dbt.log keeps every
            # node's result; its debug level (each query, tens of thousands of lines a build)
            # only under --debug.
            "--log-level", "none",
            "--log-level-file", "debug" if settings.debug else "info",
            "--no-use-colors",
            "--no-send-anonymous-usage-stats",
            "--no-version-check",
        ]  # fmt: skip
        if settings.target:
            args += ["--target", settings.target]
        if dbt_vars:
            args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
        return args

    def _read_run_results(self, started: float) -> tuple[str | None, list[dict[str, Any]]]:
        path = self._settings.dbt_target_path / "run_results.json"
        try:
            if path.stat().st_mtime < started - 1:
                return None, []  # left over from an earlier invocation: this one wrote none
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, []
        return document["metadata"].get("invocation_id"), list(document.get("results", []))

    def _node_result(
        self, command: str, invocation_id: str | None, raw: dict[str, Any]
    ) -> NodeResult:
        unique_id = str(raw["unique_id"])
        node = self.manifest.nodes.get(unique_id) or self.manifest.unit_tests.get(unique_id)
        severity = None
        failures_relation = None
        if node is not None and node.resource_type == "test":
            severity = str(node.config.severity).lower()
            if node.config.store_failures:
                failures_relation = f'"{node.schema}"."{node.alias}"'
        rows = (raw.get("adapter_response") or {}).get("rows_affected")
        return NodeResult(
            invocation_id=invocation_id or "",
            command=command,
            unique_id=unique_id,
            resource_type=unique_id.split(".", 1)[0],
            status=str(raw["status"]),
            execution_time=float(raw.get("execution_time") or 0.0),
            rows_affected=int(rows) if isinstance(rows, int) and rows >= 0 else None,
            failures=raw.get("failures"),
            message=raw.get("message"),
            severity=severity,
            failures_relation=failures_relation,
        )

    def _on_event(self, event: Any) -> None:
        info = event.info
        level = _EVENT_LEVELS.get(info.level, logging.DEBUG)
        if events_logger.isEnabledFor(level) and info.msg:
            events_logger.log(level, "dbt %s", info.msg)
        total = getattr(event.data, "total", 0)
        if total:
            self._total_nodes = max(self._total_nodes, int(total))
        if info.name == "NodeFinished":
            self._finished_nodes += 1
            if self._on_progress is not None:
                self._on_progress(self._finished_nodes, self._total_nodes)


def window_arguments(window: Window) -> list[str]:
    """dbt arguments rebuilding the event-time batches of `window`'s business days.

    dbt's `--event-time-end` is exclusive, hence the day after the window's last day.
    """
    return [
        "--event-time-start", window.start.isoformat(),
        "--event-time-end", window.end_exclusive.isoformat(),
    ]  # fmt: skip


def event_time_batch_size(window: Window | None, memory_limit_bytes: int) -> str:
    """`month`, or `year` for a window of years: each batch of the reconciliation models
    reads all history for its rows' partners, so a five-year refresh runs six batches, not
    sixty. Under a memory limit too small for a year's batch, months: slower, but bounded.
    Without a window dbt picks batches from the wall clock: months.

    LIMITATION: the size follows the memory limit, not the data. A year of several times the
    five-year profile's volume can outgrow 4 GB too; sizing by the window's row count (raw
    holds it) would fix that.
    """
    spans_years = (
        window is not None and (window.end - window.start).days >= YEARLY_BATCHES_FROM_DAYS
    )
    if spans_years and memory_limit_bytes >= YEARLY_BATCHES_FROM_MEMORY_BYTES:
        return "year"
    return "month"


def window_vars(window: Window) -> dict[str, str]:
    """The window as dbt vars, for models that filter by business date themselves."""
    return {WINDOW_START_VAR: window.start.isoformat(), WINDOW_END_VAR: window.end.isoformat()}


@contextlib.contextmanager
def dbt_environment(settings: Settings) -> Iterator[None]:
    """Point profiles.yml at the run's warehouse (and lake) for the duration of a dbt call.

    profiles.yml reads TALLY_WAREHOUSE, and TALLY_LAKE and TALLY_SPARK_DIR for Spark. DuckDB's
    spill folder and Spark's metastore default to folders beside the warehouse rather than
    paths relative to wherever the runner was started.
    """
    overrides = {"TALLY_WAREHOUSE": str(settings.warehouse), "TALLY_LAKE": str(settings.lake)}
    if not os.environ.get("TALLY_SPARK_DIR"):
        # Spark's metastore and managed tables, beside the warehouse like DuckDB's spill folder.
        overrides["TALLY_SPARK_DIR"] = str(settings.warehouse.parent / "spark")
    if not os.environ.get("TALLY_TEMP_DIR"):
        overrides["TALLY_TEMP_DIR"] = str(settings.warehouse.parent / "tmp")
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open between invocations.

    dbt-duckdb holds its database handle in a class attribute after `dbtRunner.invoke`
    returns, which would block the runner's own writes and the next dlt load. Remove once
    dbt-duckdb closes its environment at the end of an invocation.
    """
    try:
        # Late for the same reason as dbtRunner; absent when only the Spark adapter is installed.
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager  # noqa: PLC0415
    except ImportError:
        return
    environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager.close_all_connections()
    if environment is not None:
        environment.close()
