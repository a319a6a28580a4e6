"""The dbt layer from raw to staging, quarantine, control totals and sales marts.

One module-scoped build on the small raw fixture of `fixtures_raw.py` (shaped like dlt's
output, with a bad row for every quarantine rule, a re-sent file, an incomplete load and a
manifest that disagrees with its file). Models and seeds build first, then the tests run on
their own, so a failing audit rule cannot skip the models the assertions read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.artifacts.schemas.results import NodeResult
from dbt.artifacts.schemas.run import RunExecutionResult
from dbt.cli.main import dbtRunner

from runner.dbt import release_duckdb
from tests.python import fixtures_raw

REPO_ROOT = Path(__file__).resolve().parents[2]
SELECTION = (
    "+staging",
    "+quarantine_rows",
    "+quarantine_files",
    "+int_deliveries_checked_per_day",
    "+int_bank_balances_checked",
    "+fct_orders",
    "+fct_daily_sales",
    "+dim_customers",
    "+dim_products",
    "+fct_payments",
    "+snp_shop__customers",
)
# The fixture's data start in October 2025; a later begin keeps the microbatch facts quick.
DBT_VARS = '{"history_begin": "2025-10-01"}'
# The audit tests the fixture breaks on purpose, and nothing else may fail. The manifest audit
# (assert_files_match_their_manifests) runs after the daily close, outside this selection; the
# flags it reads are checked in test_files_that_disagree_with_their_manifest_are_flagged.
EXPECTED_FAILING_TESTS = {
    "assert_bank_balances_are_continuous",
}


@dataclass(frozen=True)
class BuiltWarehouse:
    warehouse: Path
    test_statuses: dict[str, str]
    """Test name -> status of the test run."""


def _invoke(command: list[str], tmp: Path) -> list[NodeResult]:
    """Runs one dbt command on our selection and returns its node results."""
    args = [
        *command,
        "--select",
        *SELECTION,
        "--vars",
        DBT_VARS,
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
        result = dbtRunner().invoke(args)
    finally:
        # dbt-duckdb keeps the database open after invoke; the tests open it read-only next.
        release_duckdb()
    assert result.exception is None, f"dbt {command[0]} raised: {result.exception}"
    assert isinstance(result.result, RunExecutionResult), f"dbt {command[0]} ran nothing"
    return list(result.result.results)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltWarehouse]:
    tmp = tmp_path_factory.mktemp("dbt_staging")
    warehouse = tmp / "warehouse.duckdb"
    fixtures_raw.build_raw_fixture(warehouse)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TALLY_WAREHOUSE", str(warehouse))
        env.setenv("TALLY_TEMP_DIR", str(tmp / "duckdb_tmp"))
        env.chdir(REPO_ROOT)
        built_nodes = _invoke(
            [
                "build",
                "--resource-type",
                "seed",
                "--resource-type",
                "model",
                "--resource-type",
                "snapshot",
            ],
            tmp,
        )
        broken = [
            (node.node.unique_id, str(node.status))
            for node in built_nodes
            if str(node.status) != "success"
        ]
        assert broken == [], f"models, seeds or snapshots did not build: {broken}"
        # Only tests whose every parent is built: the reconciliation's tests are not ours.
        tested = _invoke(["test", "--indirect-selection", "cautious"], tmp)
    statuses = {node.node.name: str(node.status) for node in tested}
    yield BuiltWarehouse(warehouse, statuses)


def _query(built: BuiltWarehouse, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        cursor = con.execute(sql)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def test_only_the_planted_audit_rules_fail(built: BuiltWarehouse) -> None:
    failing = {name for name, status in built.test_statuses.items() if status == "fail"}
    errored = {name for name, status in built.test_statuses.items() if status == "error"}
    assert errored == set()
    assert failing == EXPECTED_FAILING_TESTS
    assert built.test_statuses["assert_raw_rows_are_staged_or_quarantined"] == "pass"


def test_bad_rows_land_in_quarantine_with_their_reason(built: BuiltWarehouse) -> None:
    rows = _query(
        built,
        "select source_file, source_line, source_key, reason, reasons "
        "from quarantine.quarantine_rows",
    )
    found = {
        (
            row["source_file"],
            str(row["source_line"]) if row["source_line"] is not None else row["source_key"],
        ): row["reason"]
        for row in rows
    }
    assert len(found) == len(rows), "a quarantined row is listed twice"
    assert found == fixtures_raw.EXPECTED_QUARANTINE
    for row in rows:
        assert row["reasons"].split(",")[0] == row["reason"]


def test_unreadable_files_are_listed(built: BuiltWarehouse) -> None:
    rows = _query(
        built, "select source_system, source_file, reason from quarantine.quarantine_files"
    )
    assert [(row["source_system"], row["source_file"], row["reason"]) for row in rows] == [
        (system, path, reason) for system, path, reason, _ in fixtures_raw.REJECTED
    ]


def test_raw_rows_equal_staged_plus_quarantined_per_file(built: BuiltWarehouse) -> None:
    staged = _query(
        built,
        "select source_file, count(*) as n from ("
        " select source_file from staging.stg_payments__balance_transactions"
        " union all select source_file from staging.stg_bank__statement_lines"
        " union all select source_file from staging.stg_ledger__journal_lines"
        ") group by 1",
    )
    quarantined = _query(
        built,
        "select source_file, count(*) as n from quarantine.quarantine_rows "
        "where source_line is not null group by 1",
    )
    counts: dict[str, int] = {}
    for row in [*staged, *quarantined]:
        counts[row["source_file"]] = counts.get(row["source_file"], 0) + row["n"]
    superseded = {
        (data_file.path, data_file.load)
        for data_file in fixtures_raw.PAYMENT_FILES
        if data_file.path == "payments/2025-11-04/balance_transactions.csv"
        and data_file.load == fixtures_raw.FILES_LOAD_1
    }
    visible_files = [
        data_file
        for data_file in [
            *fixtures_raw.PAYMENT_FILES,
            *fixtures_raw.BANK_FILES,
            *fixtures_raw.LEDGER_FILES,
        ]
        if data_file.load in (fixtures_raw.FILES_LOAD_1, fixtures_raw.FILES_LOAD_2)
        and (data_file.path, data_file.load) not in superseded
        and data_file.rows
    ]
    assert counts == {data_file.path: len(data_file.rows) for data_file in visible_files}


def test_a_resent_file_supersedes_the_one_before(built: BuiltWarehouse) -> None:
    ids = {
        row["transaction_id"]
        for row in _query(
            built, "select transaction_id from staging.stg_payments__balance_transactions"
        )
    }
    assert set(fixtures_raw.RESENT_KEYS) <= ids
    assert ids.isdisjoint(fixtures_raw.SUPERSEDED_KEYS)


def test_incomplete_loads_are_invisible(built: BuiltWarehouse) -> None:
    keys = {
        row["key"]
        for row in _query(
            built,
            "select transaction_id as key from staging.stg_payments__balance_transactions"
            " union all select customer_id from staging.stg_shop__customers"
            " union all select order_id from staging.stg_shop__orders"
            " union all select source_key from quarantine.quarantine_rows",
        )
    }
    assert keys.isdisjoint(fixtures_raw.INVISIBLE_KEYS)


def test_the_latest_shop_version_wins(built: BuiltWarehouse) -> None:
    customers = _query(built, "select customer_id, email from staging.stg_shop__customers")
    assert {row["customer_id"]: row["email"] for row in customers} == {
        "c_1": "new@example.com",
        "c_2": "two@example.com",
    }


def test_files_that_disagree_with_their_manifest_are_flagged(built: BuiltWarehouse) -> None:
    files = _query(
        built,
        "select source_file, is_matching_manifest, is_count_matching "
        "from intermediate.int_files_checked_against_manifests",
    )
    mismatched = {row["source_file"] for row in files if not row["is_matching_manifest"]}
    # The header-only file matches its manifest of 0 rows through dlt's landed_files record.
    assert "payments/2025-11-08/balance_transactions.csv" in {row["source_file"] for row in files}
    assert mismatched == set(fixtures_raw.MISMATCHED_FILES)
    days = _query(
        built,
        "select business_date, source_system, is_delivered, is_matching_manifest "
        "from intermediate.int_deliveries_checked_per_day "
        "where cast(business_date as varchar) = '2025-11-04'",
    )
    by_system = {row["source_system"]: row for row in days}
    assert not by_system["bank"]["is_matching_manifest"]
    assert by_system["payments"]["is_matching_manifest"]
    # No ledger export for 2025-11-04 was delivered, and one FX rate of the day is invalid.
    assert not by_system["ledger"]["is_delivered"]
    assert not by_system["fx"]["is_matching_manifest"]


def test_bank_statements_that_do_not_continue_are_flagged(built: BuiltWarehouse) -> None:
    rows = _query(
        built,
        "select source_file from intermediate.int_bank_balances_checked where not is_continuous",
    )
    assert [row["source_file"] for row in rows] == list(fixtures_raw.DISCONTINUOUS_STATEMENTS)


def test_order_totals_convert_to_eur(built: BuiltWarehouse) -> None:
    orders = _query(built, "select order_id, total_eur_minor from sales.fct_orders")
    # o_2: 25.00 USD at 1.25 USD per EUR on 2025-11-03.
    assert {row["order_id"]: row["total_eur_minor"] for row in orders} == {
        "o_1": 1000,
        "o_2": 2000,
    }
