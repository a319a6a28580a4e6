"""Ingestion: every landing file is loaded, rejected with a reason, or reported as outside the
contract, and raw holds each record exactly as sent."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from demo.generator import DemoConfig, generate
from ingest.errors import LandingZoneError
from ingest.pipeline import IngestReport, run_ingest

PAYMENTS_HEADER = (
    "transaction_id,type,order_id,amount_minor,fee_minor,net_minor,currency,created_at,"
    "available_on,payout_id,status"
)
GOOD_ROW = "tx_1,charge,o_1,1000,59,941,EUR,2025-10-01T10:00:00Z,2025-10-02,po_1,succeeded"


def _query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _snapshot(landing: Path) -> dict[str, tuple[str, int]]:
    return {
        path.relative_to(landing).as_posix(): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(landing.rglob("*"))
        if path.is_file()
    }


def _csv_records(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def _load(report: IngestReport, source: str) -> int:
    return next(load.rows_loaded for load in report.loads if load.source == source)


@pytest.fixture(scope="module")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    landing = root / "landing"
    generate(DemoConfig(landing=landing, start=date(2025, 11, 20), days=12, orders_per_day=40))
    return landing


@pytest.fixture(scope="module")
def ingested(
    demo_landing: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, IngestReport, IngestReport, dict[str, tuple[str, int]]]]:
    before = _snapshot(demo_landing)
    warehouse = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    first = run_ingest(demo_landing, warehouse)
    second = run_ingest(demo_landing, warehouse)
    yield warehouse, first, second, before


def test_every_landing_file_has_its_rows_in_raw(
    demo_landing: Path, ingested: tuple[Path, IngestReport, IngestReport, dict]
) -> None:
    warehouse = ingested[0]
    tables = {
        "payments": "balance_transactions",
        "bank": "statement_lines",
        "ledger": "journal_lines",
    }
    for system, table in tables.items():
        in_raw = dict(
            _query(warehouse, f"select _source_file, count(*) from raw_{system}.{table} group by 1")
        )
        files = sorted(demo_landing.glob(f"{system}/*/*.csv"))
        assert files, f"the demo wrote no {system} files"
        for path in files:
            relative = path.relative_to(demo_landing).as_posix()
            assert in_raw.get(relative, 0) == _csv_records(path), relative
        manifests = _query(warehouse, f"select count(*) from raw_{system}.manifests")[0][0]
        assert manifests == len(list(demo_landing.glob(f"{system}/*/_manifest.json")))
    fx_files = sorted(demo_landing.glob("fx/*.json"))
    quoted = sum(len(json.loads(path.read_text())["rates"]) for path in fx_files)
    assert _query(warehouse, "select count(*) from raw_fx.rates")[0][0] == quoted


def test_shop_tables_land_with_every_row(
    demo_landing: Path, ingested: tuple[Path, IngestReport, IngestReport, dict]
) -> None:
    warehouse = ingested[0]
    with sqlite3.connect(demo_landing / "shop" / "shop.db") as shop:
        for table in ("customers", "products", "orders", "order_lines"):
            expected = shop.execute(f"select count(*) from {table}").fetchone()[0]
            assert _query(warehouse, f"select count(*) from raw_shop.{table}")[0][0] == expected


def test_raw_values_are_text_exactly_as_sent(
    demo_landing: Path, ingested: tuple[Path, IngestReport, IngestReport, dict]
) -> None:
    warehouse = ingested[0]
    path = sorted(demo_landing.glob("payments/*/balance_transactions.csv"))[0]
    relative = path.relative_to(demo_landing).as_posix()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, first = rows[0], rows[1]
    columns = ", ".join(header)
    loaded = _query(
        warehouse,
        f"select {columns} from raw_payments.balance_transactions"
        f" where _source_file = '{relative}' and _source_line = 2",
    )
    assert loaded == [tuple(first)]
    types = dict(
        _query(
            warehouse,
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'raw_payments' and table_name = 'manifests'",
        )
    )
    assert {types[name] for name in ("record_count", "generated_at", "sha256")} == {"VARCHAR"}


def test_second_ingest_loads_nothing(
    ingested: tuple[Path, IngestReport, IngestReport, dict],
) -> None:
    _, first, second, _ = ingested
    assert first.rows_loaded > 0
    assert second.rows_loaded == 0
    assert all(load.files_loaded == 0 for load in second.loads)
    assert sum(load.files_unchanged for load in second.loads) == sum(
        load.files_loaded + load.files_rejected for load in first.loads
    )


def test_landing_zone_is_never_modified(
    demo_landing: Path, ingested: tuple[Path, IngestReport, IngestReport, dict]
) -> None:
    assert _snapshot(demo_landing) == ingested[3]


def test_a_new_day_loads_only_that_day(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    warehouse = tmp_path / "warehouse.duckdb"
    generate(DemoConfig(landing=landing, start=date(2025, 10, 6), days=5, orders_per_day=20))
    run_ingest(landing, warehouse)
    before = _snapshot(landing)
    generate(DemoConfig(landing=landing, start=date(2025, 10, 11), days=1, orders_per_day=20))
    new_files = {
        path for path, stamp in _snapshot(landing).items() if before.get(path) != stamp
    } - {path for path in before if path.startswith("shop/")}
    new_files.discard("shop/shop.db")
    report = run_ingest(landing, warehouse)
    loaded = {load.source: load.files_loaded + load.files_rejected for load in report.loads}
    for system in ("payments", "bank", "ledger", "fx"):
        assert loaded[system] == sum(1 for path in new_files if path.startswith(f"{system}/"))
    dates = _query(
        warehouse,
        "select distinct _source_file from raw_payments.balance_transactions"
        f" where _dlt_load_id = '{_load_id(report, 'payments')}'",
    )
    assert dates == [("payments/2025-10-11/balance_transactions.csv",)]
    assert _load(report, "shop") > 0, "the new day's orders and their updates reach raw_shop"


def _load_id(report: IngestReport, source: str) -> str | None:
    return next(load.load_id for load in report.loads if load.source == source)


def test_shop_keeps_every_version_of_a_row(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    warehouse = tmp_path / "warehouse.duckdb"
    generate(DemoConfig(landing=landing, start=date(2025, 10, 6), days=3, orders_per_day=10))
    run_ingest(landing, warehouse, sources=["shop"])
    with sqlite3.connect(landing / "shop" / "shop.db") as shop:
        customer_id, updated_at = shop.execute(
            "select customer_id, updated_at from customers order by customer_id limit 1"
        ).fetchone()
        shop.execute(
            "update customers set email = 'changed@example.com', updated_at = ?"
            " where customer_id = ?",
            ("2030-01-01T00:00:00Z", customer_id),
        )
    report = run_ingest(landing, warehouse, sources=["shop"])
    assert _load(report, "shop") == 1
    versions = _query(
        warehouse,
        f"select updated_at from raw_shop.customers where customer_id = '{customer_id}'"
        " order by updated_at",
    )
    assert versions == [(updated_at,), ("2030-01-01T00:00:00Z",)]


def _write_day(landing: Path, body: bytes, day: str = "2025-10-01") -> Path:
    folder = landing / "payments" / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "balance_transactions.csv"
    path.write_bytes(body)
    return path


def test_a_resent_file_is_loaded_again_and_told_apart(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    path = _write_day(landing, f"{PAYMENTS_HEADER}\n{GOOD_ROW}\n".encode())
    first = run_ingest(landing, warehouse, sources=["payments"])
    corrected = GOOD_ROW.replace("1000,59,941", "1100,62,1038")
    path.write_bytes(f"{PAYMENTS_HEADER}\n{corrected}\n".encode())
    second = run_ingest(landing, warehouse, sources=["payments"])
    assert second.loads[0].files_loaded == 1
    versions = _query(
        warehouse,
        "select amount_minor, _file_sha256, _dlt_load_id from raw_payments.balance_transactions"
        " order by _dlt_load_id",
    )
    assert [row[0] for row in versions] == ["1000", "1100"]
    assert versions[0][1] != versions[1][1]
    assert [row[2] for row in versions] == [first.loads[0].load_id, second.loads[0].load_id]
    assert versions[1][1] == hashlib.sha256(path.read_bytes()).hexdigest()


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_csv"),
    ("wrong_delimiter", f"{PAYMENTS_HEADER.replace(',', ';')}\n".encode(), "header_mismatch"),
    ("wrong_encoding", f"{PAYMENTS_HEADER}\n{GOOD_ROW},Zürich\n".encode("latin-1"), "not_utf8"),
    ("empty", b"", "empty_file"),
]


@pytest.mark.parametrize(("case", "body", "reason"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_an_unreadable_file_is_rejected_with_its_reason(
    tmp_path: Path, case: str, body: bytes, reason: str
) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    _write_day(landing, body)
    report = run_ingest(landing, warehouse, sources=["payments"])
    assert report.loads[0].files_rejected == 1, case
    rejected = _query(warehouse, "select _source_file, reason from raw_payments.rejected_files")
    assert rejected == [("payments/2025-10-01/balance_transactions.csv", reason)]


def test_malformed_records_stay_in_raw_flagged(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    body = "\r\n".join(
        [PAYMENTS_HEADER, GOOD_ROW, "tx_2,charge,o_2", GOOD_ROW.replace("tx_1", "tx_3") + ",extra"]
    )
    _write_day(landing, b"\xef\xbb\xbf" + body.encode() + b"\r\n")
    run_ingest(landing, warehouse, sources=["payments"])
    rows = _query(
        warehouse,
        "select _source_line, transaction_id, _malformed_record"
        " from raw_payments.balance_transactions order by _source_line",
    )
    assert rows == [
        (2, "tx_1", None),
        (3, None, "tx_2,charge,o_2"),
        (4, None, GOOD_ROW.replace("tx_1", "tx_3") + ",extra"),
    ]


def test_header_only_file_is_recorded_as_landed(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    _write_day(landing, f"{PAYMENTS_HEADER}\n".encode())
    report = run_ingest(landing, warehouse, sources=["payments"])
    assert report.loads[0].files_loaded == 1
    assert _query(warehouse, "select record_count from raw_payments.landed_files") == [(0,)]


def test_extra_and_missing_columns_are_kept_as_sent(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    _write_day(landing, f"{PAYMENTS_HEADER},channel\n{GOOD_ROW},web\n".encode(), "2025-10-01")
    without_status = PAYMENTS_HEADER.rsplit(",", 1)[0]
    _write_day(landing, f"{without_status}\n{GOOD_ROW.rsplit(',', 1)[0]}\n".encode(), "2025-10-02")
    run_ingest(landing, warehouse, sources=["payments"])
    rows = _query(
        warehouse,
        "select _source_file, channel, status from raw_payments.balance_transactions order by 1",
    )
    assert rows == [
        ("payments/2025-10-01/balance_transactions.csv", "web", "succeeded"),
        ("payments/2025-10-02/balance_transactions.csv", None, None),
    ]


def test_files_outside_the_contract_are_reported_and_left_alone(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    _write_day(landing, f"{PAYMENTS_HEADER}\n{GOOD_ROW}\n".encode())
    (landing / "payments" / "2025-10-01" / "notes.txt").write_text("call the bank")
    (landing / "payments" / "2025-13-40").mkdir()
    (landing / "payments" / "2025-13-40" / "balance_transactions.csv").write_text(PAYMENTS_HEADER)
    (landing / "README").write_text("hello")
    report = run_ingest(landing, warehouse, sources=["payments"])
    assert sorted(item.relative_path for item in report.outside_contract) == [
        "README",
        "payments/2025-10-01/notes.txt",
        "payments/2025-13-40/balance_transactions.csv",
    ]
    assert report.loads[0].files_outside_contract == 2
    assert report.loads[0].files_loaded == 1


def test_a_manifest_is_loaded_as_text(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    path = _write_day(landing, f"{PAYMENTS_HEADER}\n{GOOD_ROW}\n".encode())
    manifest = {
        "file": "balance_transactions.csv",
        "record_count": 1,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "generated_at": "2025-10-02T00:00:00Z",
        "amount_minor_sum": 1000,
    }
    (path.parent / "_manifest.json").write_text(json.dumps(manifest))
    (landing / "payments" / "2025-10-02").mkdir()
    (landing / "payments" / "2025-10-02" / "_manifest.json").write_text("{not json")
    run_ingest(landing, warehouse, sources=["payments"])
    loaded = _query(
        warehouse, "select record_count, amount_minor_sum, generated_at from raw_payments.manifests"
    )
    assert loaded == [("1", "1000", "2025-10-02T00:00:00Z")]
    rejected = _query(warehouse, "select reason from raw_payments.rejected_files")
    assert rejected == [("unreadable_json",)]


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_a_missing_or_empty_landing_zone_says_what_to_do(tmp_path: Path, make: str) -> None:
    landing = tmp_path / "landing"
    if make == "empty":
        landing.mkdir()
    with pytest.raises(LandingZoneError) as raised:
        run_ingest(landing, tmp_path / "warehouse.duckdb")
    message = str(raised.value)
    assert str(landing) in message
    assert "python run.py demo" in message
    assert "\n" not in message


def test_every_raw_table_exists_from_the_first_load(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    _write_day(landing, f"{PAYMENTS_HEADER}\n".encode())
    run_ingest(landing, warehouse, sources=["payments", "bank", "fx"])
    tables = set(
        _query(
            warehouse,
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_name not like '\\_dlt%' escape '\\'",
        )
    )
    expected = {
        f"raw_{system}.{table}"
        for system, data_table in (
            ("payments", "balance_transactions"),
            ("bank", "statement_lines"),
            ("fx", "rates"),
        )
        for table in (data_table, "landed_files", "rejected_files")
    } | {"raw_payments.manifests", "raw_bank.manifests"}
    assert {row[0] for row in tables} == expected
    columns = [
        row[0]
        for row in _query(
            warehouse,
            "select column_name from information_schema.columns where table_schema = 'raw_bank'"
            " and table_name = 'manifests' order by ordinal_position",
        )
    ]
    assert columns[:7] == [
        "file",
        "record_count",
        "sha256",
        "generated_at",
        "amount_sum",
        "opening_balance",
        "closing_balance",
    ]
