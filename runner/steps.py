"""The steps of a run (demo, ingest, build, docs, export) and the order that runs them.

A step that fails stops every step depending on it; the others still run. Each step is timed,
metered (CPU, peak memory) and recorded in `ops.step_runs` as soon as it ends. SIGTERM, like
Ctrl-C, stops the run: the running step ends as failed and the steps after it are skipped, so
the run is still recorded, alerted on and unlocked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingest.errors import TallyError
from ingest.lake import run_lake_ingest
from ingest.pipeline import run_ingest
from runner.dbt import DbtInvocation, DbtProject
from runner.docs_state import docs_are_current, docs_fingerprint, forget_docs, remember_docs
from runner.errors import DbtFailedError
from runner.export_ml import FEATURES_MODEL, ExportError, export_features
from runner.logs import StatusLine, step_context
from runner.records import OpsStore
from runner.results import (
    RunReport,
    SourceRows,
    StepName,
    StepOutcome,
    StepResult,
)
from runner.settings import Settings
from runner.usage import UsageMeter
from runner.windows import MATCHING_LAG_DAYS

logger = logging.getLogger(__name__)

# Marts the summary, metrics and alerts read when the project has them.
BREAKS_MODEL = "fct_reconciliation_breaks"
DAILY_CLOSE_MODEL = "fct_daily_close"


@dataclass(frozen=True)
class StepOutput:
    """What a step reports back: rows it handled and whether an audit rule failed."""

    rows: int | None = None
    outcome: StepOutcome = "succeeded"


@dataclass(frozen=True)
class PlannedStep:
    """A step to run and the steps whose failure must stop it."""

    name: StepName
    depends_on: tuple[StepName, ...] = ()


class RunSteps:
    """Runs the planned steps of one run and keeps what they produced in the run's report.

    Attributes:
        scheduled: a run of the whole job or a watch batch, which checks the data rather than
            the code: its build leaves out dbt's unit tests (`run.py build` and CI run them),
            its data tests read the days it loaded, and it generates the docs only when they
            would change.
        unexpected: the first exception that was not one of the project's own errors (a bug),
            kept so the run can exit with code 1 and show its traceback under --debug.
    """

    def __init__(
        self,
        settings: Settings,
        report: RunReport,
        store: OpsStore,
        status: StatusLine,
        demo_options: Mapping[str, Any] | None = None,
        *,
        export_dir: Path | None = None,
        scheduled: bool = False,
    ) -> None:
        self.settings = settings
        self.report = report
        self.store = store
        self.status = status
        self.demo_options = dict(demo_options or {})
        self.export_dir = export_dir
        self.scheduled = scheduled
        self.unexpected: BaseException | None = None
        self.interrupted: str | None = None
        self._dbt: DbtProject | None = None
        self._actions: dict[StepName, Callable[[], StepOutput]] = {
            "demo": self.demo,
            "ingest": self.ingest,
            "build": self.build,
            "docs": self.docs,
            "export": self.export,
        }

    @property
    def dbt(self) -> DbtProject:
        """The dbt project, parsed once on first use."""
        if self._dbt is None:
            self._dbt = DbtProject(self.settings, on_progress=self._show_dbt_progress)
        return self._dbt

    def execute(self, plan: Sequence[PlannedStep]) -> None:
        """Run `plan` in order, skipping steps whose dependencies did not succeed."""
        outcomes: dict[StepName, StepOutcome] = {}
        with self._sigterm_interrupts():
            for planned in plan:
                blocked_by = next(
                    (
                        dep
                        for dep in planned.depends_on
                        if outcomes.get(dep) in {"failed", "skipped"}
                    ),
                    None,
                )
                with step_context(planned.name):
                    if self.interrupted is not None:
                        result = self._skip_interrupted(planned.name)
                    elif blocked_by is not None:
                        result = self._skip(planned.name, blocked_by, outcomes[blocked_by])
                    else:
                        result = self._run_one(planned.name)
                outcomes[planned.name] = result.outcome
                self.report.steps.append(result)
                self._record_step(result)

    def _record_step(self, result: StepResult) -> None:
        """Record a step; a warehouse that cannot take the record (a full disk) must not turn
        the step's own outcome into a crash: the log, metrics and alert still tell it."""
        try:
            self.store.record_step(self.report.run_id, result)
        except (duckdb.Error, TallyError) as err:
            logger.error(
                "step record not written step=%s error=%s", result.step, str(err).splitlines()[0]
            )

    @contextlib.contextmanager
    def _sigterm_interrupts(self) -> Iterator[None]:
        """Let SIGTERM stop the steps the way Ctrl-C does, remembering which signal it was."""
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread may handle signals
            return
        if signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, []):
            yield  # the caller defers SIGTERM (watch: a batch always finishes) and handles it
            return

        def interrupt(signum: int, frame: object) -> None:
            self.interrupted = f"terminated by {signal.Signals(signum).name}"
            raise KeyboardInterrupt(self.interrupted)

        previous = signal.signal(signal.SIGTERM, interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _run_one(self, name: StepName) -> StepResult:
        logger.info("step started step=%s", name)
        started_at = _utc_now()
        clock = time.monotonic()
        error: str | None = None
        output = StepOutput()
        with self.status.show(name), UsageMeter() as meter:
            try:
                output = self._actions[name]()
            except TallyError as err:
                error = str(err)
                logger.error("step failed step=%s error=%s", name, error)
            except KeyboardInterrupt:
                self.interrupted = self.interrupted or "interrupted by SIGINT"
                error = (
                    f"{self.interrupted}; the step stopped part-way, and the next run finishes "
                    "its work (dlt resumes pending loads, dbt rebuilds)"
                )
                logger.error("step failed step=%s error=%s", name, error)
            except Exception as err:
                # A bug, not an expected failure: still record it, then exit with code 1.
                self.unexpected = self.unexpected or err
                error = f"unexpected {type(err).__name__}: {err}"
                logger.error("step failed step=%s error=%s", name, error, exc_info=True)
        result = StepResult(
            step=name,
            started_at=started_at,
            ended_at=_utc_now(),
            outcome="failed" if error is not None else output.outcome,
            usage=meter.usage,
            rows=output.rows,
            error=error,
        )
        logger.info(
            "step ended step=%s outcome=%s rows=%s seconds=%.1f cpu_seconds=%.1f peak_mib=%.0f",
            name,
            result.outcome,
            "-" if result.rows is None else result.rows,
            time.monotonic() - clock,
            result.usage.cpu_seconds,
            result.usage.peak_memory_bytes / 2**20,
        )
        return result

    def _skip(self, name: StepName, blocked_by: StepName, why: StepOutcome) -> StepResult:
        error = (
            f"skipped because step `{blocked_by}` {'failed' if why == 'failed' else 'was skipped'}"
        )
        logger.warning("step skipped step=%s because=%s", name, blocked_by)
        now = _utc_now()
        return StepResult(name, now, now, "skipped", UsageMeter().usage, error=error)

    def _skip_interrupted(self, name: StepName) -> StepResult:
        logger.warning("step skipped step=%s because=%s", name, self.interrupted)
        now = _utc_now()
        error = f"skipped because the run was {self.interrupted}"
        return StepResult(name, now, now, "skipped", UsageMeter().usage, error=error)

    def demo(self) -> StepOutput:
        """Generate the demo landing zone (and its ground truth, outside it)."""
        # Imported here: only runs that generate demo data need the generator.
        from demo.generator import DemoConfig, generate  # noqa: PLC0415

        config = DemoConfig(landing=self.settings.landing, **self.demo_options)
        summary = generate(config)
        rows = summary.orders + summary.transactions + summary.bank_lines + summary.journal_lines
        logger.info(
            "demo generated days=%d start=%s end=%s orders=%d files=%d truth=%s",
            summary.days,
            summary.start,
            summary.end,
            summary.orders,
            summary.files_written,
            summary.truth_dir,
        )
        return StepOutput(rows=rows)

    def ingest(self) -> StepOutput:
        """Load everything new in the landing zone into the raw layer (ingest logs each load)."""
        if self.settings.reads_raw_from_lake:
            ingest_report = run_lake_ingest(self.settings.landing, self.settings.lake)
        else:
            ingest_report = run_ingest(self.settings.landing, self.settings.warehouse)
        for load in ingest_report.loads:
            self.report.sources.append(
                SourceRows(load.source, load.rows_loaded, load.files_rejected)
            )
        return StepOutput(rows=ingest_report.rows_loaded)

    def build(self) -> StepOutput:
        """dbt build: models, tests, seeds and snapshots, as selected."""
        lake = self.settings.lake if self.settings.reads_raw_from_lake else None
        history = self.store.raw_history(lake)
        window = self.settings.window
        if window is None and self.settings.full_refresh:
            # Without a window, dbt runs every batch from `begin` to the wall clock, most empty.
            window = history.whole
            if window is not None:
                logger.info("build window of all raw start=%s end=%s", window.start, window.end)
        elif window is None and history.pending is not None:
            # The new loads' days, and the days whose records they may complete.
            window = history.pending.reaching_back(MATCHING_LAG_DAYS)
            logger.info("build window from new loads start=%s end=%s", window.start, window.end)
        invocation = self._record(
            self.dbt.build(
                window,
                history_begin=history.first_date,
                unit_tests=not self.scheduled,
                test_window_only=self.scheduled and not self.settings.full_refresh,
            )
        )
        if invocation.has_errors:
            raise DbtFailedError("build", self._describe_errors(invocation))
        if history.newest_load_id is not None and not self.settings.select:
            # Only a build of every model covers the loads; a --select build leaves them pending.
            self.store.record_build_watermark(self.report.run_id, history.newest_load_id)
        failing = [node for node in invocation.nodes if node.is_failing_audit]
        for node in failing:
            logger.error("audit rule failed test=%s failures=%s", node.unique_id, node.failures)
        built = [node for node in invocation.nodes if node.resource_type != "test"]
        rows = [node.rows_affected for node in built if node.rows_affected is not None]
        return StepOutput(
            rows=sum(rows) if rows else None,
            outcome="audit_failed" if failing else "succeeded",
        )

    def docs(self) -> StepOutput:
        """dbt docs generate into the target path; on a scheduled run, only when the project's
        files or the warehouse's relations changed since the site was generated."""
        target_path = self.settings.dbt_target_path
        fingerprint = None
        if not self.settings.reads_raw_from_lake:  # Spark's catalog is not read here
            shape = self.store.catalog_shape()
            fingerprint = docs_fingerprint(self.settings.project_dir, self.settings.target, shape)
        if (
            self.scheduled
            and fingerprint is not None
            and docs_are_current(target_path, fingerprint)
        ):
            logger.info("docs unchanged, not generated site=%s", target_path / "index.html")
            return StepOutput()
        forget_docs(target_path)
        invocation = self._record(self.dbt.docs_generate())
        if invocation.has_errors:
            raise DbtFailedError("docs generate", self._describe_errors(invocation))
        if fingerprint is not None:
            remember_docs(target_path, fingerprint)
        logger.info("docs generated site=%s", target_path / "index.html")
        return StepOutput()

    def export(self) -> StepOutput:
        """Write the ML feature mart to Parquet under `export_dir`, with its manifest."""
        if self.export_dir is None:
            raise ExportError(FEATURES_MODEL, self.settings.warehouse, "no output folder given")
        relation = self.dbt.relation(FEATURES_MODEL)
        if relation is None:
            raise ExportError(FEATURES_MODEL, self.settings.warehouse, "no such model")
        manifest = export_features(self.settings.warehouse, relation, self.export_dir)
        return StepOutput(rows=manifest.row_count)

    def collect_marts(self) -> None:
        """Read breaks by type and closed days into the report, where the marts exist."""
        if self._dbt is None or not self._dbt.manifest_loaded:
            return
        if self.settings.reads_raw_from_lake:
            # LIMITATION: the marts live on Spark, which the runner does not query; the
            # summary, metrics and alerts lack breaks by type and closed days there.
            return
        breaks = self._dbt.relation(BREAKS_MODEL)
        close = self._dbt.relation(DAILY_CLOSE_MODEL)
        try:
            if breaks is not None:
                self.report.breaks_by_type = self.store.breaks_by_type(breaks)
            if close is not None:
                closed, total = self.store.days_closed(close)
                self.report.days_closed, self.report.days_total = closed, total
        except duckdb.Error as err:
            # The marts may not be built yet (a failed or selective build); the run goes on.
            logger.warning("marts not read error=%s", str(err).splitlines()[0])

    def _record(self, invocation: DbtInvocation) -> DbtInvocation:
        self.report.node_results.extend(invocation.nodes)
        self.store.record_nodes(self.report.run_id, invocation.nodes)
        return invocation

    def _describe_errors(self, invocation: DbtInvocation) -> str:
        if invocation.crashed is not None:
            return f"dbt {invocation.command} could not run: {invocation.crashed}"
        errored = [node for node in invocation.nodes if node.is_error]
        first = errored[0]
        message = " ".join((first.message or "").split())[:300]
        return (
            f"{len(errored)} dbt node(s) errored, first `{first.unique_id}`: {message} "
            f"(details in {self.settings.log_dir / 'dbt.log'})"
        )

    def _show_dbt_progress(self, finished: int, total: int) -> None:
        self.status.update(f"{finished}/{total or '?'} nodes")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
