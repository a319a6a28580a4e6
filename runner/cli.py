"""`python run.py`: the command line of the nightly job.

Without a command it runs the whole job: makes the demo landing zone when there is none,
ingests, builds and tests, generates the docs, then prints a summary. Commands run one step:
`demo`, `ingest`, `build`, `docs` (`--serve` serves the site on 127.0.0.1), `export-ml` (the ML
features as Parquet), and `status` shows
the last runs; `watch` runs ingest and build in micro-batches as files land (runner/watch.py).
Options and TALLY_* variables are described in docs/runner.md and `--help`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import logging
import os
import secrets
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from demo.profiles import PROFILES, scale_profile
from ingest.errors import TallyError
from runner import alerts, backup, metrics
from runner.docs_server import make_docs_server, site_url
from runner.errors import (
    UsageError,
    WarehouseBusyError,
    WarehouseLockedError,
    WarehouseUnusableError,
)
from runner.lock import warehouse_lock
from runner.logs import ContextFilter, JsonFormatter, Redactor, RunLogging, TextFormatter
from runner.records import OpsStore, RunContextInfo
from runner.results import (
    EXIT_AUDIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_STEP_FAILED,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    RunReport,
    Usage,
)
from runner.settings import Settings, parse_date, resolve_settings
from runner.steps import PlannedStep, RunSteps
from runner.summary import render_runs, render_summary
from runner.usage import cpu_seconds, process_peak_bytes
from runner.watch import Watcher

logger = logging.getLogger(__name__)

DEFAULT_ML_EXPORT_DIR = "data/exports/ml"

EXIT_CODES_HELP = """\
exit codes:
  0  the run succeeded
  1  unexpected error (a bug; re-run with --debug for the traceback)
  2  usage error: a bad option, variable or value
  3  a step failed (the message names it); steps depending on it were skipped
  4  an audit rule failed: a dbt test of severity error found rows
  5  another run holds the warehouse lock
"""

ENVIRONMENT_HELP = """\
environment (options win over variables):
  TALLY_LANDING        landing zone folder (default data/landing)
  TALLY_WAREHOUSE      DuckDB file (default data/warehouse.duckdb)
  TALLY_TARGET         dbt target in profiles.yml (default duckdb)
  TALLY_ALERT_WEBHOOK  URL that receives alerts as JSON; unset: no alerts
  TALLY_METRICS_FILE   Prometheus text file (default <TALLY_LOG_DIR>/tally.prom)
  TALLY_LOG_DIR        run logs and dbt.log (default logs)
  TALLY_MEMORY_LIMIT   DuckDB memory limit of loads and build (default 4GB)
  TALLY_DUCKDB_THREADS DuckDB threads of loads and build (default 2)
  TALLY_TEMP_DIR       where DuckDB spills beyond its memory limit (default data/tmp)
  TALLY_BACKUP_KEEP    warehouse copies kept after good runs (default 3; 0: none)
"""

_EXIT_CODE_OF_ERROR: dict[type[TallyError], int] = {
    UsageError: EXIT_USAGE,
    WarehouseLockedError: EXIT_LOCKED,
    WarehouseBusyError: EXIT_LOCKED,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code (see EXIT_CODES_HELP)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        options = parser.parse_args(arguments)
    except SystemExit as exit_request:  # argparse: --help (0) or a usage error (2)
        return int(exit_request.code or 0)
    debug = bool(getattr(options, "debug", False))
    try:
        return _dispatch(options, arguments)
    except KeyboardInterrupt:
        sys.stderr.write("tally: interrupted\n")
        return 130
    except TallyError as err:
        return _fail(err, _EXIT_CODE_OF_ERROR.get(type(err), EXIT_STEP_FAILED), debug)
    except Exception as err:
        return _fail(err, EXIT_UNEXPECTED, debug, unexpected=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global options, then one sub-parser per command."""
    common = _common_options()
    dbt_options = _dbt_options()
    parser = argparse.ArgumentParser(
        prog="python run.py",
        description=(
            "Tally's nightly job. Without a command: make the demo landing zone if there is "
            "none, ingest, build and test with dbt, generate the docs, print a summary."
        ),
        epilog=EXIT_CODES_HELP + "\n" + ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common, dbt_options],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    _add_demo_command(commands, common)
    commands.add_parser(
        "ingest",
        parents=[common],
        help="load new landing-zone files into the raw schemas",
        description="Load everything new in the landing zone into the raw_* schemas with dlt.",
    )
    commands.add_parser(
        "build",
        parents=[common, dbt_options],
        help="dbt build: models, seeds, snapshots and tests",
        description="Run `dbt build` in-process: models, seeds, snapshots and tests.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    docs = commands.add_parser(
        "docs",
        parents=[common],
        help="dbt docs generate (and --serve it on 127.0.0.1)",
        description="Generate the dbt docs site into target/, optionally serve it locally.",
    )
    docs.add_argument("--serve", action="store_true", help="serve the site after generating it")
    docs.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    status = commands.add_parser(
        "status",
        parents=[common],
        help="show the last runs recorded in the warehouse",
        description="Show the last runs from ops.pipeline_runs, newest first.",
    )
    status.add_argument("--limit", type=int, default=10, help="runs to show (default 10)")
    _add_export_command(commands, common)
    _add_watch_command(commands, common)
    return parser


def _add_watch_command(commands: Any, common: argparse.ArgumentParser) -> None:
    watch = commands.add_parser(
        "watch",
        parents=[common],
        help="ingest and build in micro-batches as files land",
        description=(
            "Poll the landing zone; on new or changed files run one batch (ingest, then a "
            "build of the business days they touch). SIGTERM or Ctrl-C stops it between batches."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = watch.add_argument_group("watch options")
    group.add_argument(
        "--interval", type=float, default=60.0, metavar="SECONDS", help="poll period (default 60)"
    )
    group.add_argument(
        "--max-batches", type=int, metavar="N", help="stop after N batches (default: never)"
    )
    group.add_argument(
        "--once", action="store_true", help="run one batch if anything is new, then stop"
    )


def _add_export_command(commands: Any, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser(
        "export-ml",
        parents=[common],
        help="write the ML feature mart to Parquet, by year and month",
        description=(
            "Write the ML feature mart to Parquet partitioned by year and month, with a "
            "manifest.json (row count, schema, date range, the run that built the mart). "
            "The same warehouse always gives the same files."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument(
        "--output",
        metavar="DIR",
        default=DEFAULT_ML_EXPORT_DIR,
        help=f"export folder, replaced as a whole (default {DEFAULT_ML_EXPORT_DIR})",
    )


def _common_options() -> argparse.ArgumentParser:
    # SUPPRESS keeps a sub-command's unset options from overwriting values given before it.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = common.add_argument_group("common options")
    group.add_argument("--landing", metavar="DIR", help="landing zone (env TALLY_LANDING)")
    group.add_argument("--warehouse", metavar="FILE", help="DuckDB file (env TALLY_WAREHOUSE)")
    group.add_argument("--target", metavar="NAME", help="dbt target (env TALLY_TARGET)")
    group.add_argument(
        "--log-format", choices=("text", "json"), help="console log format (default text)"
    )
    group.add_argument(
        "--log-level", metavar="LEVEL", help="DEBUG, INFO, WARNING or ERROR (default INFO)"
    )
    group.add_argument(
        "--debug", action="store_true", help="show tracebacks and DEBUG logs on errors"
    )
    return common


def _dbt_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = options.add_argument_group("build options")
    group.add_argument(
        "--select", metavar="SELECTOR", help="dbt selector, e.g. `staging+` or `tag:daily`"
    )
    group.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from raw"
    )
    group.add_argument(
        "--start", metavar="DATE", help="backfill: first business date to rebuild (YYYY-MM-DD)"
    )
    group.add_argument(
        "--end", metavar="DATE", help="backfill: last business date to rebuild, inclusive"
    )
    return options


def _add_demo_command(commands: Any, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="generate the demo landing zone and its ground truth",
        description=(
            "Generate the demo upstream systems into the landing zone, and the injected "
            "anomalies (ground truth) beside it. Unset options take the generator's defaults."
        ),
        argument_default=argparse.SUPPRESS,
    )
    group = demo.add_argument_group("demo options")
    group.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        help="a named scale (start, days, orders per day); options given beside it win",
    )
    group.add_argument("--seed", type=int, help="random seed (same seed, same data)")
    group.add_argument("--start", dest="demo_start", metavar="DATE", help="first day (YYYY-MM-DD)")
    group.add_argument("--days", type=int, help="calendar days to generate")
    group.add_argument("--orders-per-day", type=int, help="average shop orders per day")
    group.add_argument("--anomaly-rate", type=float, help="share of records given a break")
    group.add_argument("--malformed-rate", type=float, help="share of file rows corrupted")
    group.add_argument(
        "--parts-per-day", type=int, help="intraday parts of payments and bank files (default 1)"
    )


def _settings(options: argparse.Namespace) -> Settings:
    return resolve_settings(
        landing=getattr(options, "landing", None),
        warehouse=getattr(options, "warehouse", None),
        target=getattr(options, "target", None),
        select=getattr(options, "select", None),
        full_refresh=getattr(options, "full_refresh", False),
        start=getattr(options, "start", None),
        end=getattr(options, "end", None),
        log_format=getattr(options, "log_format", "text"),
        log_level=getattr(options, "log_level", "INFO"),
        debug=getattr(options, "debug", False),
    )


# One return per command reads plainer than a table of handlers with different arguments.
def _dispatch(options: argparse.Namespace, arguments: list[str]) -> int:  # noqa: PLR0911
    settings = _settings(options)
    command: str | None = options.command
    if command == "status":
        if options.limit < 1:
            raise UsageError("--limit", str(options.limit), "must be 1 or more")
        _out(render_runs(OpsStore(settings.warehouse).last_runs(options.limit)))
        return EXIT_OK
    if command == "demo":
        return _run(settings, "demo", [PlannedStep("demo")], arguments, _demo_options(options))
    if command == "ingest":
        return _run(settings, "ingest", [PlannedStep("ingest")], arguments)
    if command == "build":
        return _run(settings, "build", [PlannedStep("build")], arguments)
    if command == "export-ml":
        export_dir = Path(options.output).expanduser().resolve()
        return _run(settings, command, [PlannedStep("export")], arguments, export_dir=export_dir)
    if command == "watch":
        return _watch(settings, options, arguments)
    if command == "docs":
        exit_code = _run(settings, "docs", [PlannedStep("docs")], arguments)
        if options.serve and exit_code in {EXIT_OK, EXIT_AUDIT_FAILED}:
            _serve(settings, options.port)
        return exit_code
    plan = [PlannedStep("ingest"), PlannedStep("build", ("ingest",))]
    plan.append(PlannedStep("docs", ("build",)))
    if not _has_files(settings.landing):
        plan.insert(0, PlannedStep("demo"))
        plan[1] = PlannedStep("ingest", ("demo",))
    return _run(settings, "all", plan, arguments, scheduled=True)


def _watch(settings: Settings, options: argparse.Namespace, arguments: list[str]) -> int:
    """Run micro-batches until stopped; the exit code is the last batch's (0 if none ran)."""
    if options.interval <= 0:
        raise UsageError("--interval", str(options.interval), "must be more than 0 seconds")
    max_batches: int | None = 1 if options.once else options.max_batches
    if max_batches is not None and max_batches < 1:
        raise UsageError("--max-batches", str(max_batches), "must be 1 or more")
    plan = [PlannedStep("ingest"), PlannedStep("build", ("ingest",))]
    watcher = Watcher(
        landing=settings.landing,
        warehouse=settings.warehouse,
        lock_file=settings.lock_file,
        metrics_file=settings.metrics_file,
        run_batch=lambda run_id: _run(
            settings, "watch", plan, arguments, run_id=run_id, scheduled=True
        ),
    )
    with _watch_logging(settings):
        # --once polls once: an empty landing zone must not keep it waiting.
        result = watcher.run(
            interval_seconds=options.interval,
            max_batches=max_batches,
            max_polls=1 if options.once else None,
        )
    return result.exit_code


@contextlib.contextmanager
def _watch_logging(settings: Settings) -> Iterator[None]:
    """Show the watcher's own lines (between batches, outside any run's log) on stderr."""
    watch_logger = logging.getLogger(Watcher.__module__)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter("watch"))
    watch_logger.addHandler(handler)
    watch_logger.setLevel("DEBUG" if settings.debug else settings.log_level)
    watch_logger.propagate = False
    try:
        yield
    finally:
        watch_logger.removeHandler(handler)
        watch_logger.propagate = True


def _demo_options(options: argparse.Namespace) -> dict[str, Any]:
    names = ("seed", "days", "orders_per_day", "anomaly_rate", "malformed_rate", "parts_per_day")
    chosen: dict[str, Any] = {}
    if "profile" in options:
        chosen.update(scale_profile(options.profile).options())
    chosen.update({name: getattr(options, name) for name in names if name in options})
    if "demo_start" in options:
        chosen["start"] = parse_date("--start", options.demo_start)
    return chosen


def _run(
    settings: Settings,
    command: str,
    plan: list[PlannedStep],
    arguments: list[str],
    demo_options: dict[str, Any] | None = None,
    *,
    run_id: str | None = None,
    export_dir: Path | None = None,
    scheduled: bool = False,
) -> int:
    """Run `plan` under the warehouse lock, record it, write metrics, alert, summarise."""
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_id = run_id or f"{started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    redactor = Redactor.from_environment(os.environ, [settings.alert_webhook])
    report = RunReport(
        run_id, command, started_at, [redactor.redact(argument) for argument in arguments]
    )
    log_level = "DEBUG" if settings.debug else settings.log_level
    with RunLogging(
        run_id=run_id,
        log_dir=settings.log_dir,
        log_format=settings.log_format,
        level=log_level,
        redactor=redactor,
        show_tracebacks=settings.debug,
    ) as run_logging:
        logger.info(
            "run started command=%s landing=%s warehouse=%s log=%s",
            command,
            settings.landing,
            settings.warehouse,
            run_logging.log_file,
        )
        try:
            with warehouse_lock(
                settings.lock_file, run_id=run_id, started_at=started_at.isoformat()
            ):
                steps = RunSteps(
                    settings,
                    report,
                    OpsStore(settings.warehouse),
                    run_logging.status,
                    demo_options,
                    export_dir=export_dir,
                    scheduled=scheduled,
                )
                _execute_and_finish(settings, steps, plan, run_logging.log_file)
                _back_up_if_good(settings, report, plan)
        except WarehouseLockedError:
            raise  # another run of ours holds the warehouse; refusing leaves that run alone
        except TallyError as err:
            if report.outcome == "running":  # the run could not even be recorded
                _publish_not_started(settings, report, err)
            raise
    _out(render_summary(report))
    if steps.unexpected is not None and settings.debug:
        traceback.print_exception(steps.unexpected, file=sys.stderr)
    if report.error:
        sys.stderr.write(f"tally: {report.error}\n")
    assert report.exit_code is not None
    return report.exit_code


def _execute_and_finish(
    settings: Settings, steps: RunSteps, plan: list[PlannedStep], log_file: Path | None
) -> None:
    report = steps.report
    store = steps.store
    cpu_at_start = cpu_seconds()
    store.ensure_tables()
    try:
        store.start_run(report, _context_info(settings, log_file))
    except duckdb.Error as err:  # e.g. the disk filled up as the run's row was written
        raise WarehouseUnusableError(str(settings.warehouse), str(err)) from err
    try:
        steps.execute(plan)
        steps.collect_marts()
    except BaseException as err:
        steps.unexpected = steps.unexpected or err
        raise
    finally:
        _conclude(report, steps.unexpected, cpu_at_start)
        _publish(settings, steps)


def _conclude(report: RunReport, unexpected: BaseException | None, cpu_at_start: float) -> None:
    """Settle the run's outcome and exit code: a failed step beats a failed audit rule.

    The run's usage is its own, not the process's: a watch runs many batches in one process.
    """
    report.ended_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    step_peaks = [step.usage.peak_memory_bytes for step in report.steps]
    report.usage = Usage(
        round(cpu_seconds() - cpu_at_start, 3),
        max(step_peaks) if step_peaks else process_peak_bytes(),
    )
    failed = report.failed_step
    failing_tests = report.failing_tests
    if unexpected is not None:
        report.outcome, report.exit_code = "error", EXIT_UNEXPECTED
        report.error = f"unexpected error: {type(unexpected).__name__}: {unexpected}"
    elif failed is not None:
        report.outcome, report.exit_code = "failed", EXIT_STEP_FAILED
        report.error = f"step `{failed.step}` failed: {failed.error}"
    elif failing_tests:
        report.outcome, report.exit_code = "audit_failed", EXIT_AUDIT_FAILED
        names = ", ".join(node.unique_id for node in failing_tests[:3])
        more = f" and {len(failing_tests) - 3} more" if len(failing_tests) > 3 else ""
        report.error = f"{len(failing_tests)} audit rule(s) failed: {names}{more}"
    else:
        report.outcome, report.exit_code = "succeeded", EXIT_OK
    log = logger.info if report.exit_code == EXIT_OK else logger.error
    log("run ended outcome=%s exit_code=%d", report.outcome, report.exit_code)


def _publish(settings: Settings, steps: RunSteps) -> None:
    """Record, measure and alert; each independently, so one failing spares the others."""
    report = steps.report
    try:
        steps.store.finish_run(report)
    except Exception:
        logger.exception("run record not finished run_id=%s", report.run_id)
    try:
        metrics.write_metrics(settings.metrics_file, report)
    except OSError:
        logger.exception("metrics not written file=%s", settings.metrics_file)
    alerts.alert_if_needed(report, settings.alert_webhook, None)


def _back_up_if_good(settings: Settings, report: RunReport, plan: list[PlannedStep]) -> None:
    """Copy the warehouse after a run that loaded or built and whose steps all succeeded."""
    changed_data = any(planned.name in {"ingest", "build"} for planned in plan)
    if not changed_data or report.outcome not in {"succeeded", "audit_failed"}:
        return
    try:
        backup.back_up(settings.warehouse, report.run_id, backup.copies_to_keep())
    except TallyError as err:
        # The run itself is good; a missing copy only weakens recovery, so it does not fail.
        logger.warning("warehouse not backed up error=%s", " ".join(str(err).split()))


def _publish_not_started(settings: Settings, report: RunReport, err: TallyError) -> None:
    """Measure and alert a run that failed before its record could be written."""
    report.ended_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report.outcome, report.exit_code = (
        "failed",
        _EXIT_CODE_OF_ERROR.get(type(err), EXIT_STEP_FAILED),
    )
    report.error = " ".join(str(err).split())
    logger.error("run not started error=%s", report.error)
    try:
        metrics.write_metrics(settings.metrics_file, report)
    except OSError:
        logger.exception("metrics not written file=%s", settings.metrics_file)
    alerts.alert_if_needed(report, settings.alert_webhook, None)


def _context_info(settings: Settings, log_file: Path | None) -> RunContextInfo:
    try:
        user: str | None = getpass.getuser()
    except (KeyError, OSError):
        user = None
    return RunContextInfo(
        git_commit=_git_commit(settings.project_dir),
        user=user,
        host=socket.gethostname(),
        target=settings.target or "default",
        warehouse=settings.warehouse,
        log_file=log_file,
    )


def _git_commit(project_dir: Path) -> str | None:
    """HEAD's commit, suffixed `+dirty` when tracked files have local changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(project_dir), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        changes = subprocess.run(
            ["git", "-C", str(project_dir), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if changes else head


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(path.is_file() for path in folder.rglob("*"))


def _serve(settings: Settings, port: int) -> None:
    server = make_docs_server(settings.dbt_target_path, port)
    _out(f"Serving the docs site at {site_url(server)} (Ctrl-C stops it)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


def _fail(err: BaseException, exit_code: int, debug: bool, *, unexpected: bool = False) -> int:
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    prefix = f"unexpected {type(err).__name__}: " if unexpected else ""
    hint = "" if debug or not unexpected else " (re-run with --debug for the traceback)"
    message = " ".join(str(err).split())
    sys.stderr.write(f"tally: {prefix}{message}{hint}\n")
    return exit_code


def _out(text: str) -> None:
    """User-facing output (the summary, the status table) goes to stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
