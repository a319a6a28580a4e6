"""Ingest throughput and memory: Tally's dlt pipelines against DuckDB reading the same CSV files.

Generates (or reuses) a demo landing zone, then on the same files, each in its own process:
  1. DuckDB: `create table ... as select * from read_csv(...)`, one table per delivered file
     kind, under the same memory limit and threads as Tally's loads;
  2. Tally: `run_ingest` of the same systems into a fresh warehouse.
Prints rows per second (target: Tally >= 0.5x DuckDB) and peak resident memory (target: Tally
<= 2.5x DuckDB). Figures in BENCHMARKS.md.

    python bench/ingest_vs_duckdb.py --profile one-year
    python bench/ingest_vs_duckdb.py --landing /tmp/bench/five/landing --repeat 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from common import PYTHON, Measured, machine, measure, report

from demo.generator import DemoConfig, generate
from demo.profiles import PROFILES, scale_profile
from ingest.contract import DELIVERIES
from ingest.pipeline import run_ingest
from ingest.resources import DuckDBResources

SCRIPT = Path(__file__).resolve()


def _count(db: duckdb.DuckDBPyConnection, table: str) -> int:
    row = db.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0


def duckdb_direct_load(landing: Path, warehouse: Path) -> int:
    """Loads every delivered CSV with DuckDB's own reader; returns the rows loaded."""
    settings = DuckDBResources.from_environment().settings()
    rows = 0
    with duckdb.connect(str(warehouse), config={k: str(v) for k, v in settings.items()}) as db:
        for spec in DELIVERIES.values():
            pattern = str(landing / spec.system / "*" / spec.file_name)
            db.execute(
                f"create table {spec.table_name} as select * from read_csv("
                f"'{pattern}', filename = true, all_varchar = true, ignore_errors = true)"
            )
            rows += _count(db, spec.table_name)
    return rows


def tally_ingest(landing: Path, warehouse: Path) -> int:
    """Loads the same files with Tally's pipelines; returns the data rows in raw."""
    run_ingest(landing, warehouse, sources=list(DELIVERIES), pipelines_dir=warehouse.parent / "dlt")
    with duckdb.connect(str(warehouse), read_only=True) as db:
        return sum(_count(db, f"raw_{s.system}.{s.table_name}") for s in DELIVERIES.values())


def _child(loader: str, landing: Path, warehouse: Path) -> int:
    """One measured load in this process; prints its rows and seconds as a JSON line."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load = duckdb_direct_load if loader == "duckdb" else tally_ingest
    rows = load(landing, warehouse)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
    return 0


def _measure_load(loader: str, landing: Path, work: Path) -> tuple[int, float, Measured]:
    folder = work / f"{loader}-{time.monotonic_ns()}"
    run = measure(
        [
            PYTHON,
            str(SCRIPT),
            "--child",
            loader,
            "--landing",
            str(landing),
            "--warehouse",
            str(folder / "warehouse.duckdb"),
        ]
    )
    shutil.rmtree(folder, ignore_errors=True)
    result = run.json_line()
    return int(result["rows"]), float(result["seconds"]), run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, help="reuse this landing zone")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="one-year")
    parser.add_argument("--days", type=int, help="override the profile's days")
    parser.add_argument("--orders-per-day", type=int, help="override the profile's volume")
    parser.add_argument("--repeat", type=int, default=2, help="load each way this many times")
    parser.add_argument("--child", choices=("duckdb", "tally"), help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child, args.landing, args.warehouse)

    work = Path(tempfile.mkdtemp(prefix="tally-bench-ingest-"))
    try:
        landing = args.landing
        if landing is None:
            options = scale_profile(args.profile).options()
            if args.days:
                options["days"] = args.days
            if args.orders_per_day:
                options["orders_per_day"] = args.orders_per_day
            landing = work / "landing"
            summary = generate(DemoConfig(landing=landing, **options))
            report("generated", f"{summary.orders:,} orders in {summary.elapsed_seconds:.0f} s")
        report("machine", machine())
        runs: dict[str, list[tuple[int, float, Measured]]] = {"duckdb": [], "tally": []}
        for _ in range(args.repeat):
            for loader, results in runs.items():  # alternate: both see the machine's load
                results.append(_measure_load(loader, landing, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rates = {}
    peaks = {}
    for loader, results in runs.items():
        rows = results[0][0]
        seconds = statistics.median(result[1] for result in results)
        rates[loader] = rows / seconds
        peaks[loader] = max(result[2].peak_rss_mib for result in results)
        times = ", ".join(f"{result[1]:.1f}" for result in results)
        cpu = ", ".join(f"{result[2].cpu_seconds:.1f}" for result in results)
        report(
            f"{loader} load",
            f"{rows:,} rows, median {seconds:.1f} s ({times}; CPU s {cpu})"
            f" = {rates[loader]:,.0f} rows/s,"
            f" peak RSS {peaks[loader]:,.0f} MiB",
        )
    report("(a) ingest rate tally/duckdb", f"{rates['tally'] / rates['duckdb']:.2f}x (>= 0.5x)")
    report("(f) peak RSS tally/duckdb", f"{peaks['tally'] / peaks['duckdb']:.2f}x (<= 2.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
