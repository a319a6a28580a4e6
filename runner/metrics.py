"""Run metrics in Prometheus text format, for node_exporter's textfile collector.

The file (TALLY_METRICS_FILE, default `<log dir>/tally.prom`) is replaced atomically at the end
of every run: written to a temporary file in the same folder, then renamed over the old one,
so a scraper never reads half a file. `tally_last_success_timestamp_seconds` survives failed
runs: it is carried over from the previous file.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from runner.results import RunOutcome, RunReport

logger = logging.getLogger(__name__)

_RUN_OUTCOMES: tuple[RunOutcome, ...] = ("succeeded", "audit_failed", "failed", "error")
_TEST_STATUSES = ("pass", "warn", "fail", "error", "skipped")
_LAST_SUCCESS = "tally_last_success_timestamp_seconds"
_LAST_SUCCESS_LINE = re.compile(rf"^{_LAST_SUCCESS}\s+(\S+)\s*$", re.MULTILINE)


@dataclass
class _Gauge:
    name: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, value))

    def render(self) -> str:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} gauge"]
        for labels, value in self.samples:
            lines.append(f"{self.name}{_render_labels(labels)} {_render_value(value)}")
        return "\n".join(lines)


def render_metrics(report: RunReport, last_success: float | None) -> str:
    """The metrics of `report` in Prometheus text exposition format.

    Args:
        report: a finished run (ended_at and usage set).
        last_success: the end time (Unix seconds) of the last successful run, if any.
    """
    gauges = [
        _run_gauges(report),
        _step_gauges(report),
        _data_gauges(report),
    ]
    if last_success is not None:
        gauge = _Gauge(_LAST_SUCCESS, "End time of the last run that succeeded (Unix seconds).")
        gauge.add(last_success)
        gauges.append([gauge])
    return "\n".join(gauge.render() for group in gauges for gauge in group) + "\n"


def write_metrics(path: Path, report: RunReport) -> None:
    """Replace the metrics file at `path` atomically with the metrics of `report`."""
    ended = report.ended_at.timestamp() if report.ended_at else None
    last_success = ended if report.outcome == "succeeded" else read_last_success(path)
    text = render_metrics(report, last_success)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as temp:
            temp.write(text)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    logger.debug("metrics written file=%s", path)


def read_last_success(path: Path) -> float | None:
    """The last-success timestamp kept in an existing metrics file, if there is one."""
    try:
        match = _LAST_SUCCESS_LINE.search(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if match is None:
        return None
    try:
        return float(match.group(1))
    except ValueError:
        logger.warning("ignored unreadable %s in metrics file=%s", _LAST_SUCCESS, path)
        return None


def _run_gauges(report: RunReport) -> list[_Gauge]:
    outcome = _Gauge("tally_run_outcome", "1 for the outcome of the last run, 0 for the others.")
    for name in _RUN_OUTCOMES:
        outcome.add(1.0 if report.outcome == name else 0.0, command=report.command, outcome=name)
    exit_code = _Gauge("tally_run_exit_code", "Exit code of the last run.")
    exit_code.add(float(report.exit_code or 0), command=report.command)
    ended = _Gauge("tally_run_end_timestamp_seconds", "End time of the last run (Unix seconds).")
    duration = _Gauge("tally_run_duration_seconds", "Wall-clock duration of the last run.")
    if report.ended_at is not None:
        ended.add(report.ended_at.timestamp(), command=report.command)
        duration.add((report.ended_at - report.started_at).total_seconds(), command=report.command)
    cpu = _Gauge("tally_run_cpu_seconds", "CPU seconds (user + system) of the last run.")
    memory = _Gauge("tally_run_peak_memory_bytes", "Peak resident memory of the last run.")
    if report.usage is not None:
        cpu.add(report.usage.cpu_seconds, command=report.command)
        memory.add(float(report.usage.peak_memory_bytes), command=report.command)
    return [outcome, exit_code, ended, duration, cpu, memory]


def _step_gauges(report: RunReport) -> list[_Gauge]:
    duration = _Gauge("tally_step_duration_seconds", "Wall-clock duration of each step.")
    cpu = _Gauge("tally_step_cpu_seconds", "CPU seconds used by each step.")
    memory = _Gauge("tally_step_peak_memory_bytes", "Peak resident memory during each step.")
    succeeded = _Gauge("tally_step_succeeded", "1 if the step succeeded, 0 if not.")
    for step in report.steps:
        duration.add(step.duration_seconds, step=step.step)
        cpu.add(step.usage.cpu_seconds, step=step.step)
        memory.add(float(step.usage.peak_memory_bytes), step=step.step)
        succeeded.add(1.0 if step.outcome == "succeeded" else 0.0, step=step.step)
    return [duration, cpu, memory, succeeded]


def _data_gauges(report: RunReport) -> list[_Gauge]:
    rows = _Gauge("tally_rows_loaded", "Rows loaded into raw by the last run, per source.")
    for source in report.sources:
        rows.add(float(source.rows_loaded), source=source.source)
    tests = _Gauge("tally_dbt_tests", "dbt tests of the last run by status.")
    if any(node.resource_type in {"test", "unit_test"} for node in report.node_results):
        counts = report.test_counts()
        for status in _TEST_STATUSES:
            tests.add(float(counts.get(status, 0)), status=status)
    failing = _Gauge("tally_test_failures", "Failing rows of each test that failed or warned.")
    for node in report.node_results:
        if node.status in {"fail", "warn"}:
            failing.add(float(node.failures or 0), test=node.unique_id, status=node.status)
    breaks = _Gauge("tally_reconciliation_breaks", "Open reconciliation breaks by type.")
    for break_type, count in sorted((report.breaks_by_type or {}).items()):
        breaks.add(float(count), break_type=break_type)
    days = _Gauge("tally_business_days", "Business days in fct_daily_close, closed or open.")
    if report.days_total is not None and report.days_closed is not None:
        days.add(float(report.days_closed), state="closed")
        days.add(float(report.days_total - report.days_closed), state="open")
    return [rows, tests, failing, breaks, days]


def _render_labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape_label(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _render_value(value: float) -> str:
    return repr(float(value)) if value != int(value) else f"{int(value)}"
