"""Ingest throughput: Tally's dlt pipelines against DuckDB reading the same CSV files itself.

Generates (or reuses) a demo landing zone, then in one process and on the same files:
  1. DuckDB: `create table ... as select * from read_csv(...)`, one table per delivered system;
  2. Tally: `run_ingest` of the same systems into a fresh warehouse.
Prints both rates in rows per second and their ratio (target: Tally >= 0.5x DuckDB).

    python bench/ingest_vs_duckdb.py --days 365 --orders-per-day 1000
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.generator import DemoConfig, generate
from ingest.contract import DELIVERIES
from ingest.pipeline import run_ingest


def duckdb_direct_load(landing: Path, warehouse: Path) -> tuple[int, float]:
    """Loads every delivered CSV with DuckDB's own reader; returns rows and seconds."""
    warehouse.parent.mkdir(parents=True)
    started = time.perf_counter()
    rows = 0
    with duckdb.connect(str(warehouse)) as connection:
        for spec in DELIVERIES.values():
            pattern = str(landing / spec.system / "*" / spec.file_name)
            connection.execute(
                f"create table {spec.table_name} as select * from read_csv("
                f"'{pattern}', filename = true, all_varchar = true,"
                " ignore_errors = true)"
            )
            rows += connection.execute(f"select count(*) from {spec.table_name}").fetchone()[0]
    return rows, time.perf_counter() - started


def tally_ingest(landing: Path, warehouse: Path) -> tuple[int, float]:
    """Loads the same files with Tally's pipelines; returns data rows and seconds."""
    warehouse.parent.mkdir(parents=True)
    started = time.perf_counter()
    run_ingest(landing, warehouse, sources=list(DELIVERIES), pipelines_dir=warehouse.parent / "dlt")
    elapsed = time.perf_counter() - started
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = sum(
            connection.execute(f"select count(*) from raw_{s.system}.{s.table_name}").fetchone()[0]
            for s in DELIVERIES.values()
        )
    return rows, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, help="reuse this landing zone")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--orders-per-day", type=int, default=1000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    work = Path(tempfile.mkdtemp(prefix="tally-bench-"))
    try:
        landing = args.landing
        if landing is None:
            landing = work / "landing"
            started = time.perf_counter()
            generate(
                DemoConfig(
                    landing=landing,
                    start=args.start,
                    days=args.days,
                    orders_per_day=args.orders_per_day,
                )
            )
            print(f"generated {args.days} days in {time.perf_counter() - started:.1f} s")
        duck_rows, duck_seconds = duckdb_direct_load(landing, work / "duckdb" / "direct.duckdb")
        tally_rows, tally_seconds = tally_ingest(landing, work / "tally" / "warehouse.duckdb")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    duck_rate = duck_rows / duck_seconds
    tally_rate = tally_rows / tally_seconds
    for label, rows, seconds in (
        ("duckdb read_csv", duck_rows, duck_seconds),
        ("tally run_ingest", tally_rows, tally_seconds),
    ):
        print(f"{label:<17}: {rows:>10,} rows in {seconds:7.2f} s = {rows / seconds:12,.0f} rows/s")
    print(f"ratio tally/duckdb = {tally_rate / duck_rate:.2f}x (target >= 0.50x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
