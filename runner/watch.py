"""`python run.py watch`: micro-batches of the nightly job as files land during the day.

The watcher polls the landing zone. When files appear or change, it runs one batch: the same
`ingest` and `build` steps as the nightly run, recorded as a run of command `watch`. Ingest
loads only new or changed files; the build's event-time window comes from the raw loads newer
than the last build (runner/windows.py), so a batch rebuilds only the days its files touch,
with the same models. There is no second, streaming code path.

A batch always finishes: SIGTERM and SIGINT only ask the watcher to stop. They are blocked
while a batch runs and handled once it ended, and no handler that would interrupt a step (dlt's
or the run's own) is installed meanwhile, so the watcher stops between batches and never leaves
a half-built window. The run lock is held only while a batch runs, so a nightly run or a
backfill can take its turn between batches.

Freshness: a file's arrival is its mtime (a file already there when the watcher started
arrives at the start: its real arrival predates the watcher). Once a batch has its rows in the
marts, the time from arrival to the batch's end goes to `ops.file_freshness` and to the
metrics file (`tally_watch_arrival_to_mart_seconds`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.contract import classify
from runner.errors import WarehouseBusyError, WarehouseLockedError
from runner.lock import warehouse_lock
from runner.records import OPS_SCHEMA
from runner.results import EXIT_AUDIT_FAILED, EXIT_LOCKED, EXIT_OK

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# dlt's setting (section `runtime`) that makes its normalize and load steps catch signals.
DLT_INTERCEPT_SIGNALS = "RUNTIME__INTERCEPT_SIGNALS"
FRESHNESS_METRIC = "tally_watch_arrival_to_mart_seconds"
FILES_METRIC = "tally_watch_files_in_last_batch"
_FRESHNESS_TABLE = f"""
    create table if not exists {OPS_SCHEMA}.file_freshness (
        run_id varchar not null,
        source_file varchar not null,
        source_system varchar,
        arrived_at timestamp not null,
        seen_at timestamp not null,
        in_marts_at timestamp not null,
        arrival_to_mart_seconds double not null,
        primary key (run_id, source_file)
    )
"""

BatchRunner = Callable[[str], int]
"""Runs one batch (ingest, then build) under the given run id; returns its exit code."""


@dataclass(frozen=True)
class FileStamp:
    """What the watcher knows of one landing file: enough to tell it changed, and when."""

    mtime_ns: int
    size: int
    seen_at: dt.datetime

    def arrived_at(self, watch_started_at: dt.datetime) -> dt.datetime:
        """The file's mtime, but never before the watcher started (see the module doc)."""
        modified = dt.datetime.fromtimestamp(self.mtime_ns / 1e9, dt.UTC).replace(tzinfo=None)
        return max(modified, watch_started_at)


@dataclass(frozen=True)
class Arrival:
    """A file whose new content has not reached the marts yet."""

    source_file: str
    arrived_at: dt.datetime
    seen_at: dt.datetime


@dataclass(frozen=True)
class Freshness:
    """One file's way from the landing zone to the marts, as `ops.file_freshness` holds it."""

    run_id: str
    source_file: str
    source_system: str | None
    arrived_at: dt.datetime
    seen_at: dt.datetime
    in_marts_at: dt.datetime

    @property
    def arrival_to_mart_seconds(self) -> float:
        return round((self.in_marts_at - self.arrived_at).total_seconds(), 3)

    def as_row(self) -> tuple[str, str, str | None, dt.datetime, dt.datetime, dt.datetime, float]:
        return (
            self.run_id,
            self.source_file,
            self.source_system,
            self.arrived_at,
            self.seen_at,
            self.in_marts_at,
            self.arrival_to_mart_seconds,
        )


@dataclass(frozen=True)
class WatchResult:
    """How a watch ended: batches run, the last batch's exit code, and why it stopped."""

    batches: int
    exit_code: int
    stopped_by: str


def scan_landing(landing: Path) -> dict[str, tuple[int, int]]:
    """Every contract file below `landing`: relative path -> (mtime in ns, size).

    Files outside the contract are left out: ingest reports them, and they never reach the
    marts, so they neither start a batch nor count for freshness.
    """
    found: dict[str, tuple[int, int]] = {}
    if not landing.is_dir():
        return found
    for path in landing.rglob("*"):
        relative = path.relative_to(landing).as_posix()
        if not classify(relative).in_contract:
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # removed between listing and stat: the next poll sees it gone
        if path.is_file():
            found[relative] = (stat.st_mtime_ns, stat.st_size)
    return found


class Watcher:
    """Polls the landing zone and runs a batch for each change it finds.

    Args:
        landing: the landing zone folder.
        warehouse: the DuckDB file (freshness records go to its `ops` schema).
        lock_file: the warehouse's run lock, taken again briefly to record freshness.
        metrics_file: the Prometheus text file the batches write; freshness is added to it.
        run_batch: runs one batch under a run id and returns its exit code.
    """

    def __init__(
        self,
        *,
        landing: Path,
        warehouse: Path,
        lock_file: Path,
        metrics_file: Path,
        run_batch: BatchRunner,
    ) -> None:
        self.landing = landing
        self.warehouse = warehouse
        self.lock_file = lock_file
        self.metrics_file = metrics_file
        self.run_batch = run_batch
        self.started_at = _utc_now()
        self._known: dict[str, FileStamp] = {}
        self._pending: dict[str, Arrival] = {}
        self._stop = threading.Event()
        self._stop_signal: str | None = None

    def request_stop(self, reason: str) -> None:
        """Stop once the current batch (if any) has ended."""
        self._stop_signal = self._stop_signal or reason
        self._stop.set()

    def run(
        self,
        *,
        interval_seconds: float,
        max_batches: int | None = None,
        max_polls: int | None = None,
    ) -> WatchResult:
        """Poll every `interval_seconds` until stopped, or `max_batches` batches or `max_polls`
        polls have run.

        Returns:
            The number of batches, the exit code of the last one (0 when none ran) and
            what stopped the watch (`signal SIGTERM`, `max_batches`).
        """
        batches, polls, exit_code = 0, 0, EXIT_OK
        logger.info(
            "watch started landing=%s interval_s=%s max_batches=%s",
            self.landing,
            interval_seconds,
            "-" if max_batches is None else max_batches,
        )
        with _stop_signals_handled(self.request_stop):
            while not self._stop.is_set():
                polls += 1
                if self._poll():
                    exit_code = self._batch()
                    batches += 1
                    if max_batches is not None and batches >= max_batches:
                        self.request_stop("max_batches")
                        break
                if max_polls is not None and polls >= max_polls:
                    self.request_stop("max_polls")
                    break
                self._stop.wait(interval_seconds)
        stopped_by = self._stop_signal or "stop requested"
        logger.info(
            "watch stopped reason=%s batches=%d last_exit_code=%d files_pending=%d",
            stopped_by,
            batches,
            exit_code,
            len(self._pending),
        )
        return WatchResult(batches, exit_code, stopped_by)

    def _poll(self) -> bool:
        """Note new and changed files; True when some file awaits a batch."""
        now = _utc_now()
        for relative, (mtime_ns, size) in sorted(scan_landing(self.landing).items()):
            known = self._known.get(relative)
            if known is not None and (known.mtime_ns, known.size) == (mtime_ns, size):
                continue
            stamp = FileStamp(mtime_ns, size, now)
            self._known[relative] = stamp
            self._pending[relative] = Arrival(relative, stamp.arrived_at(self.started_at), now)
            logger.info("file seen file=%s", relative)
        return bool(self._pending)

    def _batch(self) -> int:
        """Run one batch over what is pending; record freshness when its rows reached the marts."""
        batch_files = dict(self._pending)
        run_id = new_run_id()
        logger.info("batch started run_id=%s files=%d", run_id, len(batch_files))
        with _signals_deferred():
            try:
                exit_code = self.run_batch(run_id)
            except (WarehouseLockedError, WarehouseBusyError) as err:
                # Another run has the warehouse: this batch waits for the next poll.
                logger.warning("batch not started run_id=%s error=%s", run_id, err)
                exit_code = EXIT_LOCKED
        in_marts_at = _utc_now()
        if exit_code not in {EXIT_OK, EXIT_AUDIT_FAILED}:
            # The build did not finish: the files stay pending and the next poll retries.
            logger.warning("batch failed run_id=%s exit_code=%d retry=next poll", run_id, exit_code)
            return exit_code
        for relative, arrival in batch_files.items():
            # A file changed again during the batch stays pending for the next one.
            if self._pending.get(relative) == arrival:
                del self._pending[relative]
        self._record_freshness(run_id, list(batch_files.values()), in_marts_at)
        return exit_code

    def _record_freshness(
        self, run_id: str, arrivals: list[Arrival], in_marts_at: dt.datetime
    ) -> None:
        rows = [
            Freshness(
                run_id=run_id,
                source_file=arrival.source_file,
                source_system=classify(arrival.source_file).system,
                arrived_at=arrival.arrived_at,
                seen_at=arrival.seen_at,
                in_marts_at=in_marts_at,
            )
            for arrival in arrivals
        ]
        slowest = max(row.arrival_to_mart_seconds for row in rows)
        logger.info(
            "batch freshness run_id=%s files=%d max_arrival_to_mart_s=%.1f",
            run_id,
            len(rows),
            slowest,
        )
        try:
            with warehouse_lock(self.lock_file, run_id=run_id, started_at=in_marts_at.isoformat()):
                self._insert_freshness(rows)
        except (WarehouseLockedError, WarehouseBusyError, duckdb.Error) as err:
            logger.warning("freshness not recorded run_id=%s error=%s", run_id, err)
        try:
            add_freshness_metrics(self.metrics_file, rows)
        except OSError as err:
            logger.warning("freshness metrics not written file=%s error=%s", self.metrics_file, err)

    def _insert_freshness(self, rows: list[Freshness]) -> None:
        with duckdb.connect(str(self.warehouse)) as connection:
            connection.execute(f"create schema if not exists {OPS_SCHEMA}")
            connection.execute(_FRESHNESS_TABLE)
            connection.executemany(
                f"insert or replace into {OPS_SCHEMA}.file_freshness values (?, ?, ?, ?, ?, ?, ?)",
                [row.as_row() for row in rows],
            )


def add_freshness_metrics(metrics_file: Path, rows: list[Freshness]) -> None:
    """Add the last batch's freshness, per source system, to the run's metrics file.

    The batch's run has just replaced the file; the gauges are appended to it and the file is
    replaced again atomically, so a scraper never reads half of it.
    """
    slowest: dict[str, float] = {}
    files: dict[str, int] = {}
    for row in rows:
        system = row.source_system or "unknown"
        slowest[system] = max(slowest.get(system, 0.0), row.arrival_to_mart_seconds)
        files[system] = files.get(system, 0) + 1
    lines = [
        f"# HELP {FRESHNESS_METRIC} Slowest file of the last watch batch: seconds from its "
        "arrival in the landing zone to its rows in the marts.",
        f"# TYPE {FRESHNESS_METRIC} gauge",
        *(f'{FRESHNESS_METRIC}{{source_system="{s}"}} {v}' for s, v in sorted(slowest.items())),
        f"# HELP {FILES_METRIC} Files the last watch batch brought to the marts.",
        f"# TYPE {FILES_METRIC} gauge",
        *(f'{FILES_METRIC}{{source_system="{s}"}} {n}' for s, n in sorted(files.items())),
    ]
    current = metrics_file.read_text(encoding="utf-8") if metrics_file.exists() else ""
    kept = [
        line
        for line in current.splitlines()
        if FRESHNESS_METRIC not in line and FILES_METRIC not in line
    ]
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=metrics_file.parent, prefix=".tally-watch-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write("\n".join([*kept, *lines]) + "\n")
    os.replace(temporary, metrics_file)


def new_run_id() -> str:
    """A run id of the same shape as the nightly runs' ids."""
    return f"{_utc_now():%Y%m%dT%H%M%SZ}-{os.urandom(3).hex()}"


@contextmanager
def _stop_signals_handled(request_stop: Callable[[str], None]) -> Iterator[None]:
    """Turn SIGTERM and SIGINT into a stop request for the whole watch, never an interruption.

    During a batch the signals are blocked (`_signals_deferred`), but a thread started before
    the watch may still take one, and then this handler runs all the same. So nothing else may
    install a handler meanwhile: dlt is told not to (its `intercept_signals`), and the run's
    steps leave a blocked SIGTERM to their caller.
    """

    def handle(signum: int, _frame: object) -> None:
        request_stop(f"signal {signal.Signals(signum).name}")

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    previous_intercept = os.environ.get(DLT_INTERCEPT_SIGNALS)
    os.environ[DLT_INTERCEPT_SIGNALS] = "false"
    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if previous_intercept is None:
            os.environ.pop(DLT_INTERCEPT_SIGNALS, None)
        else:
            os.environ[DLT_INTERCEPT_SIGNALS] = previous_intercept


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGTERM and SIGINT back while a batch runs; they are handled when it ends.

    Threads started during the batch (dlt's and dbt's workers) inherit the blocked mask.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
