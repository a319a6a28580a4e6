"""Micro-batch latency: seconds from a file's arrival in the landing zone to its rows in the marts,
under `python run.py watch`.

In a scratch folder (--work, emptied) the script generates a history and, after it, one more
day whose payments and bank files come in intraday parts (`--parts-per-day`). It loads the
history with one nightly `python run.py`, starts `python run.py watch --interval S` over the
same landing zone, and then delivers the new day the way an upstream system would: first the
day's whole-day files (shop database, ledger, FX rates, payment files re-sent with payout ids),
then each part (its data file, then its manifest). Each file is written under a name outside
the contract and renamed into place, so the watcher never sees half a file; the next delivery
waits until the previous one's batch has recorded its freshness. SIGTERM then stops the watch.

Per delivery it prints, from the warehouse: arrival-to-mart seconds (`ops.file_freshness`, the
slowest file of the delivery), the wait until the watcher saw the files (at most one poll
interval), and the batch's wall and CPU seconds, with its ingest and build steps
(`ops.pipeline_runs`, `ops.step_runs`). The batch the watch runs at start over the files
already there is shown too; the median is taken over the parts.

    python bench/watch_latency.py --history-days 30 --parts-per-day 4 --interval 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import duckdb
from common import PROJECT_DIR, PYTHON, BenchError, machine, report
from nightly import Scenario

from demo.generator import DemoConfig, generate
from ingest.contract import classify
from runner.watch import FRESHNESS_METRIC

# run.py's exit code 4: an audit rule found rows. The demo injects breaks on purpose, and a
# day's parts reconcile only once the day has closed.
ACCEPTED_EXIT_CODES = (0, 4)
BATCH_FINISHED = "batch freshness run_id="
BATCH_STARTED = "batch started run_id="
BUILD_WINDOW = "build window from new loads"


@dataclass(frozen=True)
class Delivery:
    """Files an upstream system writes at one moment: a part of the day, or its whole-day files."""

    label: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Batch:
    """One watch batch, read back from the warehouse once the watch stopped.

    Attributes:
        arrival_to_mart: the slowest of its files, from `ops.file_freshness`.
        seen_after: how long its files lay in the landing zone before a poll saw them.
        wall: the batch's run, `ops.pipeline_runs` ended_at - started_at.
        cpu: the CPU seconds of its steps (`ops.step_runs`), summed.
        recorded_cpu: `ops.pipeline_runs.cpu_seconds` of the batch's run.
        steps: step -> (wall, CPU seconds).
    """

    run_id: str
    files: frozenset[str]
    arrival_to_mart: float
    seen_after: float
    outcome: str
    wall: float
    recorded_cpu: float
    steps: dict[str, tuple[float, float]]

    @property
    def cpu(self) -> float:
        return sum(cpu for _, cpu in self.steps.values())

    def describe(self) -> str:
        steps = ", ".join(
            f"{step} {wall:.1f}/{cpu:.1f}" for step, (wall, cpu) in self.steps.items()
        )
        return (
            f"{self.arrival_to_mart:6.1f} s to marts: seen after {self.seen_after:.1f},"
            f" batch {self.wall:.1f} s ({self.cpu:.1f} CPU s), other"
            f" {self.arrival_to_mart - self.seen_after - self.wall:.1f};"
            f" steps wall/CPU s: {steps}; {len(self.files)} files, {self.outcome}"
        )


def file_digests(landing: Path) -> dict[str, str]:
    """Every file below `landing`: relative path -> sha256 of its bytes."""
    return {
        path.relative_to(landing).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(landing.rglob("*"))
        if path.is_file()
    }


def day_deliveries(before: dict[str, str], after: dict[str, str], day: dt.date) -> list[Delivery]:
    """The new or changed files of `day`'s generation, in the order they are delivered."""
    changed = sorted(path for path, digest in after.items() if before.get(path) != digest)
    parts: dict[str, list[str]] = {}
    whole_day: list[str] = []
    for relative in changed:
        landing_file = classify(relative)
        if landing_file.part is not None and landing_file.delivery_date == day:
            parts.setdefault(landing_file.part, []).append(relative)
        else:
            whole_day.append(relative)
    deliveries = [Delivery("whole-day files", tuple(whole_day))] if whole_day else []
    for label in sorted(parts):
        # The manifest last: it announces a complete file, as upstream systems send them.
        files = sorted(parts[label], key=lambda path: classify(path).kind == "manifest")
        deliveries.append(Delivery(f"part {label}", tuple(files)))
    return deliveries


def deliver(upstream: Path, landing: Path, relative: str) -> None:
    """Copy one file into the landing zone under a temporary name, then rename it into place.

    The temporary name is outside the contract, so neither the watcher nor ingest reads it; the
    copy's mtime is the time of writing, which the watcher takes as the file's arrival.
    """
    target = landing / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(upstream / relative, temporary)
    os.replace(temporary, target)


class WatchProcess:
    """`python run.py watch` as a child process, its console log in a file."""

    def __init__(self, scenario: Scenario, interval: float, timeout: float) -> None:
        self.log = scenario.work / "watch.log"
        self.metrics = scenario.work / "logs" / "tally.prom"
        self.timeout = timeout
        env = {**os.environ, **scenario.env, "TALLY_METRICS_FILE": str(self.metrics)}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [PYTHON, "run.py", "watch", "--interval", str(interval)],
                cwd=PROJECT_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _tail(self) -> str:
        return "\n".join(self._text().splitlines()[-30:])

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not done():
            if self.process.poll() is not None:
                code = self.process.returncode
                raise BenchError(f"watch exited with {code} waiting for {what}:\n{self._tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"no {what} within {self.timeout:.0f} s:\n{self._tail()}")
            time.sleep(0.2)

    def wait_until_polling(self) -> None:
        self._wait(lambda: "watch started" in self._text(), "`watch started`")

    def wait_for_batches(self, count: int, what: str) -> None:
        """Wait until `count` batches recorded their freshness (rows and metrics written).

        The warehouse is not opened meanwhile: a reader would make the watcher's write fail.
        The freshness gauges are appended to the metrics file after the insert, and the batch's
        own metrics (written before) replaced the previous batch's gauges.
        """

        def recorded() -> bool:
            metrics = self.metrics.read_text() if self.metrics.exists() else ""
            return self._text().count(BATCH_FINISHED) >= count and FRESHNESS_METRIC in metrics

        self._wait(recorded, f"batch {count} ({what})")

    def started_batches(self) -> int:
        return self._text().count(BATCH_STARTED)

    def build_windows(self) -> dict[str, str]:
        """run id -> the business days its build covered, from the watch's console log."""
        windows: dict[str, str] = {}
        run_id = ""
        for line in self._text().splitlines():
            if BATCH_STARTED in line:
                run_id = line.split(BATCH_STARTED, 1)[1].split()[0]
                windows[run_id] = "all days (no window)"
            elif BUILD_WINDOW in line and run_id:
                start, end = (field.split("=", 1)[1] for field in line.split()[-2:])
                windows[run_id] = start if start == end else f"{start} .. {end}"
        return windows

    def stop(self) -> tuple[int, float]:
        """SIGTERM, then wait; returns the exit code and the process's CPU seconds in all."""
        self.process.send_signal(signal.SIGTERM)
        _, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        if self.process.returncode not in ACCEPTED_EXIT_CODES:
            raise BenchError(f"watch exited with {self.process.returncode}:\n{self._tail()}")
        return self.process.returncode, usage.ru_utime + usage.ru_stime


def read_batches(warehouse: Path) -> list[Batch]:
    """The watch batches in the order they ran, with their freshness and usage."""
    with duckdb.connect(str(warehouse), read_only=True) as db:
        runs = db.execute(
            """
            select
                runs.run_id,
                list(fresh.source_file),
                max(fresh.arrival_to_mart_seconds),
                max(epoch(fresh.seen_at) - epoch(fresh.arrived_at)),
                any_value(runs.outcome),
                any_value(epoch(runs.ended_at) - epoch(runs.started_at)),
                any_value(coalesce(runs.cpu_seconds, 0))
            from ops.pipeline_runs as runs
            inner join ops.file_freshness as fresh on runs.run_id = fresh.run_id
            where runs.command = 'watch'
            group by runs.run_id
            order by min(runs.started_at)
            """
        ).fetchall()
        batches = []
        for run_id, files, latency, seen_after, outcome, wall, recorded_cpu in runs:
            steps = db.execute(
                "select step, duration_seconds, coalesce(cpu_seconds, 0) from ops.step_runs"
                " where run_id = ? order by started_at",
                [run_id],
            ).fetchall()
            batches.append(
                Batch(
                    run_id,
                    frozenset(files),
                    latency,
                    seen_after,
                    outcome,
                    wall,
                    recorded_cpu,
                    {step: (step_wall, step_cpu) for step, step_wall, step_cpu in steps},
                )
            )
    return batches


def label_batches(batches: list[Batch], deliveries: list[Delivery]) -> list[tuple[str, Batch]]:
    """Name each batch by the delivery it brought to the marts.

    Raises:
        BenchError: a delivery was split over batches, or batches ran that no delivery explains.
    """
    labelled = []
    expected = {frozenset(delivery.files): delivery.label for delivery in deliveries}
    for position, batch in enumerate(batches):
        label = expected.pop(batch.files, None)
        if label is None and position == 0:
            label = "start (files already there)"
        if label is None:
            raise BenchError(f"batch {batch.run_id} holds files of no one delivery: {batch.files}")
        labelled.append((label, batch))
    if expected:
        raise BenchError(f"deliveries not in exactly one batch: {sorted(expected.values())}")
    return labelled


def prepare(scenario: Scenario, args: argparse.Namespace) -> tuple[Path, list[Delivery]]:
    """Generate the history and the new day upstream; load the history with one nightly."""
    upstream = scenario.work / "upstream" / "landing"
    config = DemoConfig(
        landing=upstream,
        days=args.history_days,
        orders_per_day=args.orders_per_day,
        parts_per_day=args.parts_per_day,
    )
    summary = generate(config)
    shutil.copytree(upstream, scenario.landing)
    before = file_digests(upstream)
    day = summary.end + timedelta(days=1)
    generate(replace(config, days=1))
    deliveries = day_deliveries(before, file_digests(upstream), day)
    report("history", f"{summary.start} .. {summary.end}, {summary.orders:,} orders")
    report(
        f"new day {day} ({day:%A})",
        ", ".join(f"{d.label}: {len(d.files)} files" for d in deliveries),
    )
    scenario.nightly("history load (nightly, not compared)")
    return upstream, deliveries


def run_watch(
    scenario: Scenario, upstream: Path, deliveries: list[Delivery], args: argparse.Namespace
) -> dict[str, str]:
    """Deliver the day, a delivery at a time, under a running watch; then stop it.

    Returns:
        run id -> the business days the batch's build covered.
    """
    watch = WatchProcess(scenario, args.interval, args.timeout)
    try:
        watch.wait_until_polling()
        # The first poll finds the files already there and runs a batch over them.
        time.sleep(max(1.0, min(args.interval, 5.0)))
        batches = watch.started_batches()
        if batches:
            watch.wait_for_batches(batches, "over the files already there")
        for delivery in deliveries:
            for relative in delivery.files:
                deliver(upstream, scenario.landing, relative)
            batches += 1
            watch.wait_for_batches(batches, delivery.label)
        exit_code, cpu = watch.stop()
    finally:
        if watch.process.poll() is None:
            watch.process.kill()
    report("watch exit code, its CPU s in all", f"{exit_code}, {cpu:.1f}")
    return watch.build_windows()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/bench/watch-latency"),
        help="a scratch folder, emptied (default /tmp/bench/watch-latency)",
    )
    parser.add_argument("--history-days", type=int, default=30, help="days before the new one")
    parser.add_argument("--orders-per-day", type=int, default=1000, help="orders per day")
    parser.add_argument("--parts-per-day", type=int, default=4, help="intraday parts of the day")
    parser.add_argument("--interval", type=float, default=5.0, help="watch's poll interval (s)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per batch, seconds")
    parser.add_argument("--memory-limit", default="1536MB", help="TALLY_MEMORY_LIMIT")
    args = parser.parse_args()  # fmt: skip
    report("machine", machine())
    scenario = Scenario(args.work, args.memory_limit)
    upstream, deliveries = prepare(scenario, args)
    report("machine before watch", machine())
    windows = run_watch(scenario, upstream, deliveries, args)
    labelled = label_batches(read_batches(scenario.warehouse), deliveries)
    report("poll interval", f"{args.interval:g} s (a file waits up to one interval to be seen)")
    for label, batch in labelled:
        report(label, batch.describe())
        report("  build window", windows.get(batch.run_id, "?"))
        # Read beside the steps' sum: a run's own figure should not exceed it by much.
        report("  run CPU s as ops.pipeline_runs records it", f"{batch.recorded_cpu:.1f}")
    parts = [batch for label, batch in labelled if label.startswith("part ")]
    if parts:
        report(
            f"median of {len(parts)} parts",
            f"{statistics.median(b.arrival_to_mart for b in parts):.1f} s to marts"
            f" ({statistics.median(b.arrival_to_mart - b.seen_after for b in parts):.1f} s"
            " after the poll saw the files);"
            f" batch {statistics.median(b.wall for b in parts):.1f} s,"
            f" {statistics.median(b.cpu for b in parts):.1f} CPU s",
        )
    report("machine after", machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
