"""The models rely on the landing zone contract, not on the demo generator's habits.

A landing zone written here by hand, the way another upstream program would write the contract,
with two anomalies of its own choosing: the warehouse finds exactly those two breaks, closes
exactly the clean day, and passes every audit rule.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.contract import BANK, LEDGER, PAYMENTS
from runner.cli import main
from runner.results import EXIT_OK

pytestmark = pytest.mark.slow

FILES = {spec.system: (spec.file_name, spec.columns) for spec in (PAYMENTS, BANK, LEDGER)}


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _deliver(
    landing: Path,
    system: str,
    day: str,
    rows: Sequence[Sequence[object]],
    totals: dict[str, str | int],
) -> None:
    name, header = FILES[system]
    folder = landing / system / day
    folder.mkdir(parents=True)
    body = _csv(header, rows)
    (folder / name).write_bytes(body)
    manifest = {
        "file": name,
        "record_count": len(rows),
        "sha256": hashlib.sha256(body).hexdigest(),
        "generated_at": f"{day}T23:59:00+00:00",
        **totals,
    }
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2))


def _write_shop(landing: Path) -> None:
    (landing / "shop").mkdir(parents=True)
    with sqlite3.connect(landing / "shop" / "shop.db") as shop:
        shop.executescript(
            """
            create table customers (customer_id text primary key, email text,
                country_code text, created_at text, updated_at text);
            create table products (product_id text primary key, sku text, name text,
                category text, list_price_minor text, currency text, updated_at text);
            create table orders (order_id text primary key, customer_id text, status text,
                currency text, total_minor text, ordered_at text, updated_at text);
            create table order_lines (order_line_id text primary key, order_id text,
                product_id text, quantity text, unit_price_minor text, updated_at text);
            """
        )
        shop.execute(
            "insert into customers values ('C-1', 'ada@example.org', 'NL',"
            " '2025-10-01T08:00:00Z', '2025-10-01T08:00:00Z')"
        )
        shop.execute(
            "insert into products values ('P-1', 'BK-1', 'Ledger Lore', 'books', '500', 'EUR',"
            " '2025-10-01T08:00:00Z')"
        )
        orders = [
            ("O-1", "2000", "2025-11-03T10:00:00Z", "4"),
            ("O-2", "1500", "2025-11-03T11:30:00Z", "3"),
            ("O-3", "1000", "2025-11-04T09:15:00Z", "2"),
        ]
        for order_id, total, ordered_at, quantity in orders:
            shop.execute(
                "insert into orders values (?, 'C-1', 'paid', 'EUR', ?, ?, ?)",
                (order_id, total, ordered_at, ordered_at),
            )
            shop.execute(
                "insert into order_lines values (?, ?, 'P-1', ?, '500', ?)",
                (f"{order_id}-L1", order_id, quantity, ordered_at),
            )


def _write_files(landing: Path) -> None:
    days = ("2025-11-03", "2025-11-04", "2025-11-05")
    for day in days:
        fx = {
            "base": "EUR",
            "date": day,
            "rates": {"USD": "1.1500", "GBP": "0.8800", "SEK": "11.2000"},
        }
        (landing / "fx").mkdir(exist_ok=True)
        (landing / "fx" / f"{day}.json").write_text(json.dumps(fx))

    # Anomaly 1: the processor charged O-2 14.00 for an order of 15.00.
    payments = {
        "2025-11-03": [
            [
                "ch_1",
                "charge",
                "O-1",
                2000,
                88,
                1912,
                "EUR",
                "2025-11-03T10:00:05Z",
                "2025-11-04",
                "po_A",
                "succeeded",
            ],
            [
                "ch_2",
                "charge",
                "O-2",
                1400,
                71,
                1329,
                "EUR",
                "2025-11-03T11:30:05Z",
                "2025-11-04",
                "po_A",
                "succeeded",
            ],
        ],
        "2025-11-04": [
            [
                "ch_3",
                "charge",
                "O-3",
                1000,
                59,
                941,
                "EUR",
                "2025-11-04T09:15:05Z",
                "2025-11-05",
                "po_B",
                "succeeded",
            ],
        ],
        "2025-11-05": [],
    }
    for day, rows in payments.items():
        _deliver(
            landing,
            "payments",
            day,
            rows,
            {"amount_minor_sum": sum(int(row[3]) for row in rows)},
        )

    # Anomaly 2: the bank credits a payout the processor never made.
    bank = {
        "2025-11-03": [
            ["b_1", "2025-11-03", "2025-11-03", "-500.00", "EUR", "Landlord BV", "RENT NOVEMBER"]
        ],
        "2025-11-04": [
            ["b_2", "2025-11-04", "2025-11-04", "32.41", "EUR", "Processor", "PAYOUT po_A"],
            ["b_3", "2025-11-04", "2025-11-04", "10.00", "EUR", "Processor", "PAYOUT po_Z"],
        ],
        "2025-11-05": [
            ["b_4", "2025-11-05", "2025-11-05", "9.41", "EUR", "Processor", "PAYOUT po_B"]
        ],
    }
    balance = Decimal("1000.00")
    for day, rows in bank.items():
        amount = sum(Decimal(row[3]) for row in rows)
        _deliver(
            landing,
            "bank",
            day,
            rows,
            {
                "amount_sum": f"{amount:.2f}",
                "opening_balance": f"{balance:.2f}",
                "closing_balance": f"{balance + amount:.2f}",
            },
        )
        balance += amount

    ledger = {
        "2025-11-03": [
            ["J-1", 1, "2025-11-03T10:00:05Z", "1100", 2000, 0, "EUR", "O-1", "sale"],
            ["J-1", 2, "2025-11-03T10:00:05Z", "4000", 0, 2000, "EUR", "O-1", "sale"],
            ["J-2", 1, "2025-11-03T11:30:05Z", "1100", 1500, 0, "EUR", "O-2", "sale"],
            ["J-2", 2, "2025-11-03T11:30:05Z", "4000", 0, 1500, "EUR", "O-2", "sale"],
            ["J-3", 1, "2025-11-03T12:00:00Z", "6200", 50000, 0, "EUR", "b_1", "rent"],
            ["J-3", 2, "2025-11-03T12:00:00Z", "1000", 0, 50000, "EUR", "b_1", "rent"],
        ],
        "2025-11-04": [
            ["J-4", 1, "2025-11-04T09:15:05Z", "1100", 1000, 0, "EUR", "O-3", "sale"],
            ["J-4", 2, "2025-11-04T09:15:05Z", "4000", 0, 1000, "EUR", "O-3", "sale"],
            ["J-5", 1, "2025-11-04T09:00:00Z", "1000", 3241, 0, "EUR", "po_A", "payout"],
            ["J-5", 2, "2025-11-04T09:00:00Z", "6100", 159, 0, "EUR", "po_A", "payout"],
            ["J-5", 3, "2025-11-04T09:00:00Z", "1100", 0, 3400, "EUR", "po_A", "payout"],
        ],
        "2025-11-05": [
            ["J-6", 1, "2025-11-05T09:00:00Z", "1000", 941, 0, "EUR", "po_B", "payout"],
            ["J-6", 2, "2025-11-05T09:00:00Z", "6100", 59, 0, "EUR", "po_B", "payout"],
            ["J-6", 3, "2025-11-05T09:00:00Z", "1100", 0, 1000, "EUR", "po_B", "payout"],
        ],
    }
    for day, rows in ledger.items():
        _deliver(
            landing,
            "ledger",
            day,
            rows,
            {
                "debit_minor_sum": sum(int(row[4]) for row in rows),
                "credit_minor_sum": sum(int(row[5]) for row in rows),
            },
        )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("foreign")
    landing = root / "landing"
    _write_shop(landing)
    _write_files(landing)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TALLY_LANDING", str(landing))
        env.setenv("TALLY_WAREHOUSE", str(root / "warehouse.duckdb"))
        env.setenv("TALLY_LOG_DIR", str(root / "logs"))
        env.setenv("DBT_TARGET_PATH", str(root / "target"))
        env.delenv("TALLY_ALERT_WEBHOOK", raising=False)
        env.delenv("TALLY_METRICS_FILE", raising=False)
        assert main(["ingest"]) == EXIT_OK
        assert main(["build"]) == EXIT_OK, "no audit rule fails on two fresh, known breaks"
        yield root / "warehouse.duckdb"


def _query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_exactly_the_planted_breaks_are_found(warehouse: Path) -> None:
    breaks = _query(
        warehouse,
        "select break_type, cast(business_date as varchar), order_id, transaction_id,"
        " payout_id, bank_line_id, expected_minor, actual_minor"
        " from finance.fct_reconciliation_breaks order by 1",
    )
    assert breaks == [
        ("amount_mismatch", "2025-11-03", "O-2", "ch_2", None, None, 1500, 1400),
        ("unmatched_bank_line", "2025-11-04", None, None, "po_Z", "b_3", 0, 1000),
    ]


def test_only_the_clean_day_closes(warehouse: Path) -> None:
    days = _query(
        warehouse,
        "select cast(business_date as varchar), is_complete, is_closed"
        " from finance.fct_daily_close order by 1",
    )
    assert days == [
        ("2025-11-03", True, False),
        ("2025-11-04", True, False),
        ("2025-11-05", True, True),
    ]


def test_nothing_is_quarantined_and_every_row_is_staged(warehouse: Path) -> None:
    assert _query(warehouse, "select count(*) from quarantine.quarantine_rows") == [(0,)]
    assert _query(warehouse, "select count(*) from finance.fct_payments") == [(3,)]
    assert _query(warehouse, "select count(*) from sales.fct_orders") == [(3,)]
