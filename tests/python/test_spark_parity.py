"""Parity: the same demo, built by the same models on DuckDB and on Spark, gives the same marts.

Both engines run through the runner (`run.py ingest` then `run.py build --target ...`), so
the test covers the lake ingest, the lake's registration on Spark and the runner's event-time
window as well as the models. Spark runs in session mode (pyspark in the runner's process); its
managed tables are Parquet files, which DuckDB reads afterwards, so the comparison needs no
second Spark session. Each engine builds twice, the second time after five more days, so
that the snapshots are created and then changed. Compared after the second build: per
business day, the row counts and the totals of every numeric column of the daily close, the
breaks and daily sales, the breaks' ids (stable across engines by design), every version in
the snapshots, and the outcome of every dbt test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from demo.generator import DemoConfig, generate
from runner.results import EXIT_AUDIT_FAILED, EXIT_OK

pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Small on purpose: Spark pays per query, not per row (about 1 s a node on two cores).
DEMO_DAYS = 10
DEMO_ORDERS_PER_DAY = 15
# The days delivered after the first build, for the second build to change the snapshots.
LATER_DAYS = 5
TARGETS = ("duckdb", "spark")

# The marts compared, with the day column their totals are grouped by.
MARTS = {
    "finance.fct_daily_close": "business_date",
    "finance.fct_reconciliation_breaks": "business_date",
    "sales.fct_daily_sales": "ordered_date",
}
NUMERIC_TYPES = ("BIGINT", "INTEGER", "DECIMAL", "HUGEINT", "DOUBLE")
SNAPSHOTS = ("snapshots.snp_shop__customers", "snapshots.snp_shop__products")


@dataclass(frozen=True)
class Build:
    """One engine's finished run: where its marts are and how the run exited."""

    target: str
    warehouse: Path
    spark_tables: Path | None
    exit_code: int
    seconds: float

    def relation(self, mart: str) -> str:
        """A DuckDB expression reading `mart` (`schema.table`) as this engine built it."""
        if self.spark_tables is None:
            return mart
        schema, table = mart.split(".")
        # Incremental facts are partitioned by day: `<table>/ordered_date=2025-10-01/*.parquet`.
        files = f"{self.spark_tables}/{schema}.db/{table}/**/*.parquet"
        return f"read_parquet('{files}', hive_partitioning = true)"


def _run(args: list[str], env: dict[str, str]) -> int:
    completed = subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode not in (EXIT_OK, EXIT_AUDIT_FAILED):
        pytest.fail(f"`run.py {' '.join(args)}` exited {completed.returncode}:\n{completed.stderr}")
    return completed.returncode


def _build(target: str, landing: Path, root: Path) -> Build:
    folder = root / target
    env = {
        **os.environ,
        "TALLY_LANDING": str(landing),
        "TALLY_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "TALLY_LAKE": str(folder / "lake"),
        "TALLY_SPARK_DIR": str(folder / "spark"),
        "TALLY_LOG_DIR": str(folder / "logs"),
        "TALLY_METRICS_FILE": str(folder / "tally.prom"),
        "DBT_TARGET_PATH": str(folder / "target"),
        "TALLY_DBT_THREADS": "1",
    }
    started = time.monotonic()
    _run(["ingest", "--target", target], env)
    exit_code = _run(["build", "--target", target], env)
    return Build(
        target=target,
        warehouse=folder / "warehouse.duckdb",
        spark_tables=folder / "spark" / "warehouse" if target == "spark" else None,
        exit_code=exit_code,
        seconds=round(time.monotonic() - started, 1),
    )


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Build]]:
    """Two nightlies per engine: the first creates the snapshots, the second, after days in
    which customers changed their e-mail, closes versions in them and adds new ones."""
    root = tmp_path_factory.mktemp("parity")
    landing = root / "landing"
    first_days = DEMO_DAYS - LATER_DAYS
    generate(DemoConfig(landing=landing, days=first_days, orders_per_day=DEMO_ORDERS_PER_DAY))
    for target in TARGETS:
        _build(target, landing, root)
    generate(DemoConfig(landing=landing, days=LATER_DAYS, orders_per_day=DEMO_ORDERS_PER_DAY))
    yield {target: _build(target, landing, root) for target in TARGETS}


def _totals_per_day(build: Build, mart: str, day_column: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(build.warehouse), read_only=True) as connection:
        relation = build.relation(mart)
        columns = connection.execute(f"describe select * from {relation}").fetchall()
        numeric = [name for name, data_type, *_ in columns if data_type.startswith(NUMERIC_TYPES)]
        sums = "".join(f", sum({name})" for name in numeric)
        return connection.execute(
            f"select {day_column}, count(*){sums} from {relation} group by 1 order by 1"
        ).fetchall()


def test_both_engines_finish_the_same_way(builds: dict[str, Build]) -> None:
    assert builds["spark"].exit_code == builds["duckdb"].exit_code, {
        target: (build.exit_code, build.seconds) for target, build in builds.items()
    }


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_marts_agree_per_business_day(builds: dict[str, Build], mart: str) -> None:
    duckdb_totals = _totals_per_day(builds["duckdb"], mart, MARTS[mart])
    spark_totals = _totals_per_day(builds["spark"], mart, MARTS[mart])
    assert duckdb_totals, f"{mart} is empty on DuckDB: the demo should fill it"
    assert spark_totals == duckdb_totals


def test_breaks_keep_their_ids_across_engines(builds: dict[str, Build]) -> None:
    ids = {}
    for target, build in builds.items():
        relation = build.relation("finance.fct_reconciliation_breaks")
        with duckdb.connect(str(build.warehouse), read_only=True) as connection:
            rows = connection.execute(f"select break_id, break_type from {relation}").fetchall()
        ids[target] = sorted(rows)
    assert ids["spark"] == ids["duckdb"]


def test_every_dbt_test_has_the_same_outcome(builds: dict[str, Build]) -> None:
    outcomes = {}
    for target, build in builds.items():
        with duckdb.connect(str(build.warehouse), read_only=True) as connection:
            outcomes[target] = dict(
                connection.execute(
                    "select unique_id, status from ops.dbt_node_results"
                    " where resource_type in ('test', 'unit_test')"
                ).fetchall()
            )
    assert outcomes["duckdb"], "the DuckDB build ran no test"
    assert outcomes["spark"] == outcomes["duckdb"]


def _versions(build: Build, snapshot: str) -> list[tuple[object, ...]]:
    """Every version the snapshot holds, every column as text, sorted.

    Left out: `dbt_scd_id`, a hash of the key and a timestamp cast to text, which each engine
    writes its own way, and `_dlt_load_id`, which each engine's own ingest assigned.
    """
    with duckdb.connect(str(build.warehouse), read_only=True) as connection:
        relation = build.relation(snapshot)
        columns = connection.execute(f"describe select * from {relation}").fetchall()
        # Timestamps as UTC text: Spark's Parquet and DuckDB's tables type them differently.
        as_text = [
            f"strftime(cast({name} as timestamp), '%Y-%m-%d %H:%M:%S.%f')"
            if data_type.startswith("TIMESTAMP")
            else f"cast({name} as varchar)"
            for name, data_type, *_ in columns
            if name not in ("dbt_scd_id", "_dlt_load_id")
        ]
        return connection.execute(
            f"select {', '.join(as_text)} from {relation} order by all"
        ).fetchall()


@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_snapshots_hold_the_same_versions(builds: dict[str, Build], snapshot: str) -> None:
    duckdb_versions = _versions(builds["duckdb"], snapshot)
    assert duckdb_versions, f"{snapshot} is empty on DuckDB: the demo should fill it"
    assert _versions(builds["spark"], snapshot) == duckdb_versions


@pytest.mark.parametrize("target", TARGETS)
def test_the_second_build_closed_customer_versions(builds: dict[str, Build], target: str) -> None:
    """A closed version proves that the second build merged changes into the snapshot."""
    relation = builds[target].relation("snapshots.snp_shop__customers")
    with duckdb.connect(str(builds[target].warehouse), read_only=True) as connection:
        row = connection.execute(
            f"select count(*) from {relation} where dbt_valid_to is not null"
        ).fetchone()
    assert row is not None and row[0] > 0, (
        "no customer changed between the builds: raise LATER_DAYS"
    )
