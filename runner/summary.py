"""The short, human-readable summary printed at the end of a run, and the `status` table."""

from __future__ import annotations

from collections.abc import Sequence

from runner.records import PastRun
from runner.results import RunReport


def render_summary(report: RunReport) -> str:
    """A few aligned lines: outcome, rows per source, dbt results, breaks, days, steps, cost."""
    lines = [f"Run {report.run_id} ({report.command}): {report.outcome}"]
    if report.sources:
        rows = " ".join(f"{source.source}={source.rows_loaded}" for source in report.sources)
        lines.append(f"  rows loaded   {rows}")
    if any(node.command == "build" for node in report.node_results):
        tests = report.test_counts()
        lines.append(
            f"  dbt           {report.models_built()} models built; tests "
            f"{tests.get('pass', 0)} passed, {tests.get('warn', 0)} warned, "
            f"{tests.get('fail', 0)} failed, {tests.get('error', 0)} errored"
        )
    for node in report.failing_tests[:10]:
        lines.append(f"  failed test   {node.unique_id} ({node.failures} rows)")
    if report.breaks_by_type is not None:
        breaks = ", ".join(f"{kind}={count}" for kind, count in report.breaks_by_type.items())
        lines.append(f"  breaks        {breaks or 'none'}")
    if report.days_total is not None:
        lines.append(f"  days closed   {report.days_closed} of {report.days_total}")
    for step in report.steps:
        detail = f" ({step.error})" if step.error else ""
        lines.append(
            f"  step {step.step:<8} {step.outcome:<12} {step.duration_seconds:7.1f} s{detail}"
        )
    if report.ended_at is not None and report.usage is not None:
        seconds = (report.ended_at - report.started_at).total_seconds()
        lines.append(
            f"  took          {seconds:.1f} s, CPU {report.usage.cpu_seconds:.1f} s, "
            f"peak memory {format_bytes(report.usage.peak_memory_bytes)}"
        )
    return "\n".join(lines)


def render_runs(runs: Sequence[PastRun]) -> str:
    """The `status` table, newest run first."""
    if not runs:
        return "No runs recorded yet; `python run.py` makes the first one."
    header = [
        "run_id",
        "command",
        "started_at_utc",
        "seconds",
        "outcome",
        "exit",
        "rows",
        "cpu_s",
        "peak_mem",
    ]
    table = [header]
    for run in runs:
        seconds = (run.ended_at - run.started_at).total_seconds() if run.ended_at else None
        table.append(
            [
                run.run_id,
                run.command,
                run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                "-" if seconds is None else f"{seconds:.1f}",
                run.outcome,
                "-" if run.exit_code is None else str(run.exit_code),
                "-" if run.rows_loaded is None else str(run.rows_loaded),
                "-" if run.cpu_seconds is None else f"{run.cpu_seconds:.1f}",
                "-" if run.peak_memory_bytes is None else format_bytes(run.peak_memory_bytes),
            ]
        )
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in table
    ]
    failed = [run for run in runs if run.error]
    lines += [f"{run.run_id}: {run.error}" for run in failed[:3]]
    return "\n".join(line.rstrip() for line in lines)


def format_bytes(count: int) -> str:
    """`612 MiB` style sizes."""
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
