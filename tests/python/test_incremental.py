"""Incremental by event time: nightly runs over a growing landing zone build the same marts as a
full refresh of the same raw data, and a run with nothing new changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from runner.cli import main
from runner.results import EXIT_AUDIT_FAILED, EXIT_OK

pytestmark = pytest.mark.slow

MARTS = (
    "sales.fct_orders",
    "sales.fct_order_lines",
    "sales.fct_daily_sales",
    "sales.dim_customers",
    "sales.dim_products",
    "finance.fct_payments",
    "finance.fct_reconciliation_breaks",
    "finance.fct_daily_close",
    "quarantine.quarantine_rows",
    "ml.fct_daily_category_features",
)
# Nightly runs end in an audit failure on the demo (its planted breaks), not in an error.
BUILT = {EXIT_OK, EXIT_AUDIT_FAILED}


def mart_fingerprints(warehouse: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent hash of each mart's whole contents."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {
            mart: connection.execute(
                f"select count(*), md5(coalesce(string_agg(cast(mart as varchar), '|'"
                f" order by cast(mart as varchar)), '')) from {mart} as mart"
            ).fetchone()
            for mart in MARTS
        }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("incremental")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TALLY_LANDING", str(root / "landing"))
        env.setenv("TALLY_WAREHOUSE", str(root / "warehouse.duckdb"))
        env.setenv("TALLY_LOG_DIR", str(root / "logs"))
        env.setenv("DBT_TARGET_PATH", str(root / "target"))
        env.delenv("TALLY_ALERT_WEBHOOK", raising=False)
        env.delenv("TALLY_METRICS_FILE", raising=False)
        yield root


def _nightly(days: int) -> None:
    """The upstream systems deliver `days` more days; the nightly job loads and builds them."""
    assert main(["demo", "--days", str(days), "--orders-per-day", "12"]) == EXIT_OK
    assert main(["ingest"]) == EXIT_OK
    assert main(["build"]) in BUILT


def test_nightly_runs_equal_a_full_refresh(workspace: Path) -> None:
    warehouse = workspace / "warehouse.duckdb"
    # Three nights; the later ones re-send payment files whose payouts were paid out since,
    # and cross a month boundary of the monthly microbatches.
    for days in (20, 9, 9):
        _nightly(days)
    incremental = mart_fingerprints(warehouse)
    assert incremental["finance.fct_daily_close"][0] == 38

    assert main(["build"]) in BUILT
    assert mart_fingerprints(warehouse) == incremental, "a run with nothing new changes nothing"

    assert main(["build", "--full-refresh"]) in BUILT
    assert mart_fingerprints(warehouse) == incremental


def test_a_month_rebuilt_alone_equals_the_month_built_in_a_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill of years runs yearly batches (each reads all history for its rows' partners);
    a nightly or a backfill of days runs monthly ones. Both must give the same rows."""
    for name, folder in (("LANDING", "landing"), ("LOG_DIR", "logs")):
        monkeypatch.setenv(f"TALLY_{name}", str(tmp_path / folder))
    monkeypatch.setenv("TALLY_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.delenv("TALLY_ALERT_WEBHOOK", raising=False)
    monkeypatch.delenv("TALLY_METRICS_FILE", raising=False)
    assert main(["demo", "--start", "2024-11-01", "--days", "430", "--orders-per-day", "3"]) == 0
    assert main(["ingest"]) == EXIT_OK
    assert main(["build", "--full-refresh"]) in BUILT
    assert _batch_starts(tmp_path, "int_orders_matched_to_payments") == [
        "2024-01-01",
        "2025-01-01",
        "2026-01-01",
    ]
    built_in_years = mart_fingerprints(tmp_path / "warehouse.duckdb")

    assert main(["build", "--start", "2025-06-01", "--end", "2025-06-30"]) in BUILT
    assert _batch_starts(tmp_path, "int_orders_matched_to_payments") == ["2025-06-01"]
    assert mart_fingerprints(tmp_path / "warehouse.duckdb") == built_in_years


def _batch_starts(root: Path, model: str) -> list[str]:
    """The first days of the event-time batches the last build ran for `model`."""
    document = json.loads((root / "target" / "run_results.json").read_text())
    (result,) = [item for item in document["results"] if item["unique_id"].endswith(model)]
    return sorted(start[:10] for start, _ in result["batch_results"]["successful"])
