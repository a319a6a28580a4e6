"""The ML feature mart is point-in-time correct, and its Parquet export reads back whole.

One clean demo is ingested and built; its features are kept. Then the landing zone moves on:
ten more days arrive, and a payments file of an old day is re-sent with a late charge in it.
After a second ingest and build, no feature of a row built before the late data changed (only
labels may), the late charge is visible to the label of its week, and the export of either
warehouse reads back with the mart's row count and schema, the same bytes every time.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest

from demo.generator import DemoConfig, generate
from runner.cli import main
from runner.results import EXIT_AUDIT_FAILED, EXIT_OK

pytestmark = pytest.mark.slow

MART = "ml.fct_daily_category_features"
LATE_DAY = "2025-10-10"
LABEL = "label_sales_eur_next_7d"


@dataclass
class Workspace:
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "wh.duckdb"

    def features(self) -> dict[tuple[Any, str], dict[str, Any]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as connection:
            cursor = connection.execute(f"select * from {MART}")
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return {(row["feature_date"], row["category"]): row for row in rows}


def _build(workspace: Workspace) -> None:
    assert main(["ingest"]) == EXIT_OK
    assert main(["build"]) in {EXIT_OK, EXIT_AUDIT_FAILED}


def _add_late_charge(landing: Path) -> str:
    """Re-send the payments file of LATE_DAY with a charge for an order nobody had paid."""
    with sqlite3.connect(landing / "shop" / "shop.db") as shop:
        order_id, currency, total = shop.execute(
            "select order_id, currency, total_minor from orders "
            "where status in ('placed', 'cancelled') and ordered_at < ? "
            "order by status, order_id limit 1",
            [LATE_DAY],
        ).fetchone()
    folder = landing / "payments" / LATE_DAY
    data_file = folder / "balance_transactions.csv"
    text = data_file.read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    late = {
        "transaction_id": "txn_late_000001",
        "type": "charge",
        "order_id": order_id,
        "amount_minor": total,
        "fee_minor": "0",
        "net_minor": total,
        "currency": currency,
        "created_at": f"{LATE_DAY}T12:00:00Z",
        "available_on": "",
        "payout_id": "",
        "status": "succeeded",
    }
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow([late.get(name, "") for name in header])
    data = (text if text.endswith("\n") else text + "\n") + line.getvalue()
    data_file.write_text(data, encoding="utf-8")
    manifest_file = folder / "_manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    manifest["record_count"] += 1
    manifest["sha256"] = hashlib.sha256(data.encode()).hexdigest()
    manifest["amount_minor_sum"] = int(manifest["amount_minor_sum"]) + int(total)
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    return str(order_id)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("ml")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TALLY_LANDING", str(root / "landing"))
        env.setenv("TALLY_WAREHOUSE", str(root / "wh.duckdb"))
        env.setenv("TALLY_LOG_DIR", str(root / "logs"))
        env.setenv("DBT_TARGET_PATH", str(root / "target"))
        env.delenv("TALLY_ALERT_WEBHOOK", raising=False)
        env.delenv("TALLY_METRICS_FILE", raising=False)
        yield Workspace(root)


@pytest.fixture(scope="module")
def before_and_after(
    workspace: Workspace,
) -> tuple[dict[tuple[Any, str], dict[str, Any]], dict[tuple[Any, str], dict[str, Any]]]:
    clean = {"orders_per_day": 8, "anomaly_rate": 0.0, "malformed_rate": 0.0}
    generate(DemoConfig(landing=workspace.landing, days=35, **clean))  # type: ignore[arg-type]
    _build(workspace)
    before = workspace.features()
    generate(DemoConfig(landing=workspace.landing, days=10, **clean))  # type: ignore[arg-type]
    _add_late_charge(workspace.landing)
    _build(workspace)
    return before, workspace.features()


def test_late_data_never_changes_a_feature_already_built(
    before_and_after: tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]],
) -> None:
    before, after = before_and_after
    assert before, "the first build made no feature rows"
    assert set(before) < set(after), "the extension added no rows, or rows disappeared"
    changed = {
        key: name
        for key, row in before.items()
        for name, value in row.items()
        if name != LABEL and after[key][name] != value
    }
    assert changed == {}


def test_late_data_reaches_labels_and_rows_built_after_it(
    before_and_after: tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]],
) -> None:
    before, after = before_and_after
    label_changed = [
        key for key, row in before.items() if row[LABEL] != after[key][LABEL] and row[LABEL]
    ]
    # The late charge is on LATE_DAY: the labels of the seven days up to it now count it.
    assert {str(key[0]) for key in label_changed} == {f"2025-10-{day:02d}" for day in range(4, 11)}
    new_cutoffs = {row["feature_cutoff_at"] for key, row in after.items() if key not in before}
    old_cutoffs = {row["feature_cutoff_at"] for row in before.values()}
    assert len(old_cutoffs) == 1 and len(new_cutoffs) == 1 and new_cutoffs != old_cutoffs


def test_lags_and_means_are_by_calendar_day_within_a_category(
    before_and_after: tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]],
) -> None:
    # Every row of the first build shares one cutoff, so the lag of 7 days on day D is the lag
    # of 1 day on D - 6, and the 7-day mean is the mean of the lags of 1 day on D - 6 .. D.
    before, _ = before_and_after
    checked = 0
    for (day, category), row in before.items():
        week = [before.get((day - dt.timedelta(days=back), category)) for back in range(7)]
        if row["sales_eur_mean_7d"] is None or not all(week):
            continue
        lags = [earlier["sales_eur_lag_1d"] for earlier in week if earlier]
        assert row["sales_eur_lag_7d"] == lags[-1]
        assert row["sales_eur_mean_7d"] == round(sum(lags) / 7, 4)
        checked += 1
    assert checked > 20


def test_export_reads_back_whole_and_is_identical_twice(
    workspace: Workspace,
    before_and_after: tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]],
) -> None:
    _, after = before_and_after
    first, second = workspace.root / "export-1", workspace.root / "export-2"
    assert main(["export-ml", "--output", str(first)]) == EXIT_OK
    assert main(["export-ml", "--output", str(second)]) == EXIT_OK

    table = ds.dataset(
        first, format="parquet", partitioning="hive", exclude_invalid_files=True
    ).to_table()
    manifest = json.loads((first / "manifest.json").read_text())
    assert table.num_rows == len(after) == manifest["row_count"]
    mart_columns = list(next(iter(after.values())))
    assert table.column_names == [*mart_columns, "year", "month"]
    assert [column["name"] for column in manifest["schema"]] == mart_columns
    assert manifest["first_date"] == str(min(key[0] for key in after))
    assert manifest["warehouse_run_id"] is not None

    files = sorted(path.relative_to(first) for path in first.rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(second) for path in second.rglob("*") if path.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
