"""End to end: the warehouse finds exactly the anomalies the demo generator injected.

One module-scoped build: the demo writes a landing zone with anomalies and its ground truth,
ingest loads it, dbt builds everything in-process. The tests then hold the marts against the
ground truth: every injected break is found with its type and ids (recall 100%), nothing else
is reported (no false breaks), quarantine holds exactly the injected malformed rows, and the
daily close closes exactly the days the generator says should close.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from demo.generator import DemoConfig, generate
from ingest.pipeline import run_ingest
from runner.dbt import release_duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DAYS = 40
# Small days keep the build fast; the generator still forces every break type and malformed
# row variant into any run of 30 days or more.
DEMO_ORDERS_PER_DAY = 20
# The reconciliation marts, quarantine and everything upstream, with their tests; sales and
# other marts are not needed to judge the close.
BUILD_SELECTION = ("+fct_reconciliation_breaks", "+fct_daily_close", "+quarantine_rows")
# Ids a break may name; the ground truth sets those that apply and leaves the rest null.
BREAK_KEYS = ("order_id", "transaction_id", "payout_id", "bank_line_id", "journal_id")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class BuiltWarehouse:
    warehouse: Path
    truth_dir: Path
    relations: dict[str, str]
    """Model name -> relation name, as dbt built it."""
    failed_nodes: list[tuple[str, str, str]]
    """(unique_id, resource type, status) of every node that did not succeed."""


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _dbt_build(tmp: Path) -> dbtRunnerResult:
    args = [
        "build",
        "--select",
        *BUILD_SELECTION,
        # Only tests whose every parent is built; others would read tables that do not exist.
        "--indirect-selection",
        "cautious",
        "--project-dir",
        str(REPO_ROOT),
        "--profiles-dir",
        str(REPO_ROOT),
        "--target-path",
        str(tmp / "target"),
        "--log-path",
        str(tmp / "logs"),
    ]
    try:
        return dbtRunner().invoke(args)
    finally:
        # dbt-duckdb keeps the database open after invoke; the tests open it read-only next.
        release_duckdb()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltWarehouse]:
    tmp = tmp_path_factory.mktemp("reconciliation")
    landing = tmp / "landing"
    truth_dir = tmp / "truth"
    warehouse = tmp / "warehouse.duckdb"
    generate(
        DemoConfig(
            landing=landing,
            truth_dir=truth_dir,
            days=DEMO_DAYS,
            orders_per_day=DEMO_ORDERS_PER_DAY,
        )
    )
    run_ingest(landing, warehouse)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("TALLY_WAREHOUSE", str(warehouse))
        env.setenv("TALLY_TEMP_DIR", str(tmp / "duckdb_tmp"))
        env.chdir(REPO_ROOT)
        result = _dbt_build(tmp)

    assert result.exception is None, f"dbt build raised: {result.exception}"
    relations: dict[str, str] = {}
    failed: list[tuple[str, str, str]] = []
    for node_result in result.result:
        node = node_result.node
        if node.resource_type == "model":
            relations[node.name] = node.relation_name
        if str(node_result.status) not in ("success", "pass"):
            failed.append((node.unique_id, str(node.resource_type), str(node_result.status)))
    yield BuiltWarehouse(warehouse, truth_dir, relations, failed)


def _query(built: BuiltWarehouse, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        cursor = con.execute(sql)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def test_every_model_builds_even_when_audit_rules_fail(built: BuiltWarehouse) -> None:
    """Injected anomalies may fail audit tests, but no model may fail or be skipped."""
    broken_nodes = [failed for failed in built.failed_nodes if failed[1] != "test"]
    assert broken_nodes == []


def test_every_injected_break_is_found_and_nothing_else(built: BuiltWarehouse) -> None:
    truth = [
        record
        for record in _read_jsonl(built.truth_dir / "anomalies.jsonl")
        if record["kind"] == "break"
    ]
    found = _query(
        built,
        f"select break_type, business_date, {', '.join(BREAK_KEYS)} "
        f"from {built.relations['fct_reconciliation_breaks']}",
    )
    assert {record["break_type"] for record in truth} >= {"missing_payment", "late_settlement"}

    unmatched_found = list(found)
    missed = []
    for expected in truth:
        match = next(
            (
                row
                for row in unmatched_found
                if row["break_type"] == expected["break_type"]
                and row["business_date"] == date.fromisoformat(expected["business_date"])
                and all(
                    row[key] == expected[key] for key in BREAK_KEYS if expected[key] is not None
                )
            ),
            None,
        )
        if match is None:
            missed.append(expected)
        else:
            unmatched_found.remove(match)

    assert missed == [], f"{len(missed)} injected breaks not found (recall below 100%)"
    assert unmatched_found == [], f"{len(unmatched_found)} breaks reported on clean data"


def test_quarantine_holds_exactly_the_malformed_rows(built: BuiltWarehouse) -> None:
    truth = {
        (record["source_file"], record["source_line"], record["reason"])
        for record in _read_jsonl(built.truth_dir / "anomalies.jsonl")
        if record["kind"] == "malformed_row"
    }
    quarantined = {
        (row["source_file"], row["source_line"], row["reason"])
        for row in _query(
            built,
            "select source_file, cast(source_line as bigint) as source_line, reason "
            f"from {built.relations['quarantine_rows']}",
        )
    }
    assert truth, "the demo injected no malformed rows; the check would prove nothing"
    assert quarantined - truth == set(), "rows quarantined that were not malformed"
    assert truth - quarantined == set(), "malformed rows that were not quarantined"


def test_daily_close_closes_exactly_the_clean_days(built: BuiltWarehouse) -> None:
    expected = {
        date.fromisoformat(day["business_date"]): day["expected_closed"]
        for day in _read_jsonl(built.truth_dir / "days.jsonl")
    }
    closed = {
        row["business_date"]: row["is_closed"]
        for row in _query(
            built,
            f"select business_date, is_closed from {built.relations['fct_daily_close']}",
        )
    }
    assert set(closed) == set(expected), "the close does not cover the generated days"
    wrong = {day: closed[day] for day in expected if closed[day] != expected[day]}
    assert wrong == {}, f"days closed (True) or left open (False) against the ground truth: {wrong}"
    assert any(expected.values()) and not all(expected.values())
