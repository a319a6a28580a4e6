"""The same demo on both engines: `python run.py` on DuckDB against `python run.py --target spark`.

Generates one demo landing zone, then runs the whole job on it once per engine, each in its own
process and folders (warehouse, lake, Spark metastore, target), alternating the order over the
rounds so that both see the machine's load. Each run's steps (ingest, build, docs) come from its
records in `ops.step_runs`; the Spark run's CPU includes the JVM's (the runner counts its child
processes). Figures in BENCHMARKS.md ("The same demo on both engines").

    python bench/engines.py --work /tmp/bench/engines --days 10 --orders-per-day 15
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

import duckdb
from common import PYTHON, Measured, machine, measure, recorded_peak_mib, report

from demo.generator import DemoConfig, generate

TARGETS = ("duckdb", "spark")
# run.py's exit code 4: an audit rule found rows. The demo injects breaks on purpose.
ACCEPTED_EXIT_CODES = (0, 4)


@dataclass(frozen=True)
class EngineRun:
    """One measured `python run.py` on one engine."""

    target: str
    run: Measured
    steps: dict[str, tuple[float, float]]
    count_nodes: int
    peak_mib: float

    def describe(self) -> str:
        steps = ", ".join(
            f"{step} {seconds:.1f} s ({cpu:.1f} CPU s)"
            for step, (seconds, cpu) in self.steps.items()
        )
        return (
            f"{self.run.seconds:6.1f} s ({self.run.cpu_seconds:.1f} CPU s),"
            f" peak RSS {self.peak_mib:,.0f} MiB, {self.count_nodes} dbt nodes;"
            f" {steps}"
        )


def _environment(folder: Path, landing: Path) -> dict[str, str]:
    return {
        "TALLY_LANDING": str(landing),
        "TALLY_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "TALLY_LAKE": str(folder / "lake"),
        "TALLY_SPARK_DIR": str(folder / "spark"),
        "TALLY_LOG_DIR": str(folder / "logs"),
        "TALLY_METRICS_FILE": str(folder / "tally.prom"),
        "TALLY_TEMP_DIR": str(folder / "spill"),
        "DBT_TARGET_PATH": str(folder / "target"),
        "TALLY_BACKUP_KEEP": "0",
    }


def run_engine(target: str, folder: Path, landing: Path) -> EngineRun:
    """A fresh warehouse, then the whole job on `target`."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    run = measure(
        [PYTHON, "run.py", "--target", target],
        env=_environment(folder, landing),
        accept_exit_codes=ACCEPTED_EXIT_CODES,
    )
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as db:
        (run_id,) = db.execute(
            "select run_id from ops.pipeline_runs order by started_at desc limit 1"
        ).fetchone() or ("",)
        steps = {
            step: (float(seconds), float(cpu))
            for step, seconds, cpu in db.execute(
                "select step, duration_seconds, cpu_seconds from ops.step_runs"
                " where run_id = ? order by started_at",
                [run_id],
            ).fetchall()
        }
        (count_nodes,) = db.execute(
            "select count(*) from ops.dbt_node_results where run_id = ? and command = 'build'",
            [run_id],
        ).fetchone() or (0,)
    peak = recorded_peak_mib(folder / "warehouse.duckdb", run_id)
    engine_run = EngineRun(target, run, steps, int(count_nodes), peak)
    report(f"{target} run.py", engine_run.describe())
    return engine_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="a scratch folder, emptied")
    parser.add_argument("--days", type=int, default=10, help="demo days (default 10)")
    parser.add_argument("--orders-per-day", type=int, default=15, help="demo volume")
    parser.add_argument("--rounds", type=int, default=2, help="runs per engine (default 2)")
    args = parser.parse_args()
    report("machine", machine())
    shutil.rmtree(args.work, ignore_errors=True)
    landing = args.work / "landing"
    summary = generate(
        DemoConfig(landing=landing, days=args.days, orders_per_day=args.orders_per_day)
    )
    report("generated", f"{summary.days} days, {summary.orders:,} orders")

    runs: dict[str, list[EngineRun]] = {target: [] for target in TARGETS}
    for round_number in range(args.rounds):
        order = TARGETS if round_number % 2 == 0 else TARGETS[::-1]
        for target in order:
            runs[target].append(run_engine(target, args.work / target, landing))

    medians = {
        target: statistics.median(engine_run.run.seconds for engine_run in engine_runs)
        for target, engine_runs in runs.items()
    }
    builds = {
        target: statistics.median(engine_run.steps["build"][0] for engine_run in engine_runs)
        for target, engine_runs in runs.items()
    }
    report(
        "whole job, median wall, spark / duckdb",
        f"{medians['spark']:.1f} s / {medians['duckdb']:.1f} s ="
        f" {medians['spark'] / medians['duckdb']:.1f}x",
    )
    report(
        "build step, median wall, spark / duckdb",
        f"{builds['spark']:.1f} s / {builds['duckdb']:.1f} s ="
        f" {builds['spark'] / builds['duckdb']:.1f}x",
    )
    report("machine after", machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
