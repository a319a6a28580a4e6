"""Tests of the demo generator: the landing zone contract, determinism and the ground truth.

Every check re-derives what it expects from the files (the test does not trust the generator's
own bookkeeping), on a small landing zone generated once per module.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from demo.anomalies import BREAK_TYPES
from demo.calendar import SEED_PATH, add_business_days, calendar_days, is_business_day
from demo.generator import SETTLEMENT_BUSINESS_DAYS, DemoConfig, DemoError, generate
from demo.writers import BANK_HEADER, LEDGER_HEADER, PAYMENTS_HEADER

START = date(2025, 11, 10)
DAYS = 35
CURRENCY_INDEX = {"EUR": 0, "USD": 1, "GBP": 2, "SEK": 3}
INTEGER = re.compile(r"-?[0-9]{1,18}")
DECIMAL = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,2})?")
MALFORMED_REASONS = {
    "payments": {
        "field_count",
        "invalid_amount",
        "invalid_timestamp",
        "missing_key",
        "invalid_currency",
    },
    "bank": {"field_count", "invalid_amount", "invalid_date", "missing_key", "invalid_currency"},
    "ledger": {
        "field_count",
        "invalid_amount",
        "invalid_timestamp",
        "missing_key",
        "invalid_currency",
    },
}


def _config(landing: Path, **overrides: Any) -> DemoConfig:
    settings: dict[str, Any] = {"start": START, "days": DAYS, "orders_per_day": 30}
    settings.update(overrides)
    return DemoConfig(landing=landing, **settings)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "landing"
    generate(_config(root))
    return root


@pytest.fixture(scope="module")
def truth(landing: Path) -> list[dict[str, Any]]:
    path = landing.parent / "landing_truth" / "anomalies.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def malformed_lines(truth: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    return {
        (record["source_file"], record["source_line"]): record["reason"]
        for record in truth
        if record["kind"] == "malformed_row"
    }


def _breaks(truth: list[dict[str, Any]], break_type: str) -> list[dict[str, Any]]:
    return [r for r in truth if r["kind"] == "break" and r["break_type"] == break_type]


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _clean_rows(
    landing: Path, path: Path, malformed: dict[tuple[str, int], str]
) -> list[list[str]]:
    """The data rows of a file, without the ones the ground truth calls malformed."""
    relative = path.relative_to(landing).as_posix()
    _, rows = _read_csv(path)
    return [row for line, row in enumerate(rows, start=2) if (relative, line) not in malformed]


def _files(landing: Path, system: str, name: str) -> list[Path]:
    return sorted((landing / system).glob(f"*/{name}"))


def _all_bytes(*folders: Path) -> dict[str, bytes]:
    return {
        f"{folder.name}/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_same_config_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for landing, seed in ((first, 7), (second, 7), (other, 8)):
        generate(_config(landing, days=8, orders_per_day=20, seed=seed))
    first_files = _all_bytes(first, tmp_path / "a_truth")
    second_files = {
        name.replace("b/", "a/", 1).replace("b_truth/", "a_truth/", 1): content
        for name, content in _all_bytes(second, tmp_path / "b_truth").items()
    }
    assert first_files == second_files
    other_payments = other / "payments" / START.isoformat() / "balance_transactions.csv"
    first_payments = first / "payments" / START.isoformat() / "balance_transactions.csv"
    assert other_payments.read_bytes() != first_payments.read_bytes()


def test_every_day_has_its_files_and_bank_only_on_business_days(landing: Path) -> None:
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        folder = day.isoformat()
        assert (landing / "fx" / f"{folder}.json").exists()
        for system, name in (("payments", "balance_transactions.csv"),
                             ("ledger", "journal_lines.csv")):  # fmt: skip
            assert (landing / system / folder / name).exists()
            assert (landing / system / folder / "_manifest.json").exists()
        assert (landing / "bank" / folder).exists() == is_business_day(day)
    rates = json.loads((landing / "fx" / f"{START.isoformat()}.json").read_text())
    assert rates["base"] == "EUR" and rates["date"] == START.isoformat()
    assert set(rates["rates"]) == {"USD", "GBP", "SEK"}
    assert all(re.fullmatch(r"[0-9]+\.[0-9]{4}", rate) for rate in rates["rates"].values())


@pytest.mark.parametrize(
    ("system", "name", "header"),
    [
        ("payments", "balance_transactions.csv", PAYMENTS_HEADER),
        ("bank", "statement.csv", BANK_HEADER),
        ("ledger", "journal_lines.csv", LEDGER_HEADER),
    ],
)
def test_every_csv_has_the_contract_header(
    landing: Path, system: str, name: str, header: tuple[str, ...]
) -> None:
    files = _files(landing, system, name)
    assert files
    for path in files:
        assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(header)


@pytest.mark.parametrize(
    ("system", "name", "sums"),
    [
        ("payments", "balance_transactions.csv", {"amount_minor_sum": 3}),
        ("ledger", "journal_lines.csv", {"debit_minor_sum": 4, "credit_minor_sum": 5}),
        ("bank", "statement.csv", {"amount_sum": 3}),
    ],
)
def test_manifests_match_their_files(
    landing: Path, system: str, name: str, sums: dict[str, int]
) -> None:
    for path in _files(landing, system, name):
        manifest = json.loads((path.parent / "_manifest.json").read_text(encoding="utf-8"))
        header, rows = _read_csv(path)
        assert manifest["file"] == path.relative_to(landing).as_posix()
        assert manifest["record_count"] == len(rows)
        assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        day = date.fromisoformat(path.parent.name)
        assert manifest["generated_at"].startswith((day + timedelta(days=1)).isoformat())
        for key, column in sums.items():
            values = [row[column] for row in rows if len(row) == len(header)]
            if system == "bank":
                expected = sum(Decimal(v) for v in values if DECIMAL.fullmatch(v))
                assert Decimal(manifest[key]) == expected
                assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", manifest[key])
            else:
                assert manifest[key] == sum(int(v) for v in values if INTEGER.fullmatch(v))


def test_bank_balances_carry_over(landing: Path) -> None:
    previous_closing = Decimal("250000.00")
    for path in _files(landing, "bank", "statement.csv"):
        manifest = json.loads((path.parent / "_manifest.json").read_text(encoding="utf-8"))
        assert Decimal(manifest["opening_balance"]) == previous_closing
        closing = Decimal(manifest["opening_balance"]) + Decimal(manifest["amount_sum"])
        assert Decimal(manifest["closing_balance"]) == closing
        previous_closing = closing


def test_journals_balance_except_the_injected_unbalanced_ones(
    landing: Path, truth: list[dict[str, Any]], malformed_lines: dict[tuple[str, int], str]
) -> None:
    debits: Counter[str] = Counter()
    credits: Counter[str] = Counter()
    for path in _files(landing, "ledger", "journal_lines.csv"):
        for row in _clean_rows(landing, path, malformed_lines):
            debits[row[0]] += int(row[4])
            credits[row[0]] += int(row[5])
    unbalanced = {jid for jid in debits if debits[jid] != credits[jid]}
    assert unbalanced == {r["journal_id"] for r in _breaks(truth, "unbalanced_journal")}
    assert unbalanced


def test_ground_truth_holds_every_break_type_and_malformed_kind(
    truth: list[dict[str, Any]],
) -> None:
    break_types = {r["break_type"] for r in truth if r["kind"] == "break"}
    assert break_types == set(BREAK_TYPES)
    for system, reasons in MALFORMED_REASONS.items():
        found = {
            r["reason"]
            for r in truth
            if r["kind"] == "malformed_row" and r["source_system"] == system
        }
        assert found == reasons, system


def test_ground_truth_malformed_rows_are_broken_as_stated(
    landing: Path, malformed_lines: dict[tuple[str, int], str]
) -> None:
    currencies = set(CURRENCY_INDEX)
    for (source_file, line), reason in malformed_lines.items():
        header, rows = _read_csv(landing / source_file)
        row = rows[line - 2]
        system = source_file.split("/")[0]
        if reason == "field_count":
            assert len(row) != len(header)
            continue
        assert len(row) == len(header)
        key, amount, stamp, currency = {
            "payments": (0, 3, 7, 6),
            "bank": (0, 3, 1, 4),
            "ledger": (0, 4, 2, 6),
        }[system]
        assert (row[key] == "") == (reason == "missing_key")
        assert (row[currency] not in currencies) == (reason == "invalid_currency")
        pattern = DECIMAL if system == "bank" else INTEGER
        assert (pattern.fullmatch(row[amount]) is None) == (reason == "invalid_amount")
        stamp_ok = re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", row[stamp])
        assert (stamp_ok is None) == (reason in ("invalid_timestamp", "invalid_date"))


def test_days_ground_truth_agrees_with_anomalies(
    landing: Path, truth: list[dict[str, Any]]
) -> None:
    days_path = landing.parent / "landing_truth" / "days.jsonl"
    days = [json.loads(line) for line in days_path.read_text(encoding="utf-8").splitlines()]
    assert [d["business_date"] for d in days] == [
        (START + timedelta(days=offset)).isoformat() for offset in range(DAYS)
    ]
    breaks: defaultdict[str, Counter[str]] = defaultdict(Counter)
    malformed: Counter[str] = Counter()
    for record in truth:
        if record["kind"] == "break":
            breaks[record["business_date"]][record["break_type"]] += 1
        else:
            malformed[record["source_file"].split("/")[1]] += 1
    for day in days:
        counted = {k: v for k, v in day["breaks"].items() if v}
        assert counted == dict(breaks[day["business_date"]])
        assert day["malformed_rows"] == malformed[day["business_date"]]
        assert day["expected_closed"] == (not counted and not day["malformed_rows"])
    assert any(day["expected_closed"] for day in days)


def _payment_rows(landing: Path, malformed_lines: dict[tuple[str, int], str]) -> list[list[str]]:
    return [
        row
        for path in _files(landing, "payments", "balance_transactions.csv")
        for row in _clean_rows(landing, path, malformed_lines)
    ]


def test_payouts_follow_the_id_and_booking_rules(
    landing: Path, truth: list[dict[str, Any]], malformed_lines: dict[tuple[str, int], str]
) -> None:
    last_day = START + timedelta(days=DAYS - 1)
    late = {r["payout_id"] for r in _breaks(truth, "late_settlement")}
    missing = {r["payout_id"] for r in _breaks(truth, "payout_not_in_bank")}
    wrong_amount = {r["payout_id"] for r in _breaks(truth, "payout_amount_mismatch")}
    nets: Counter[str] = Counter()
    booked_on: dict[str, str] = {}
    for row in _payment_rows(landing, malformed_lines):
        created = date.fromisoformat(row[7][:10])
        if row[10] != "succeeded":
            assert row[8] == row[9] == ""
            continue
        available_on = date.fromisoformat(row[8])
        expected_id = (created - date(2000, 1, 1)).days * 4 + CURRENCY_INDEX[row[6]]
        assert is_business_day(available_on)
        if row[9] == "":
            assert available_on > last_day
            continue
        assert row[9] == f"po_{expected_id:06d}"
        limit = add_business_days(created, SETTLEMENT_BUSINESS_DAYS)
        assert (available_on > limit) == (row[9] in late)
        assert available_on > created
        nets[row[9]] += int(row[5])
        booked_on[row[9]] = row[8]
    bank_lines: dict[str, tuple[str, int]] = {}
    for path in _files(landing, "bank", "statement.csv"):
        for row in _clean_rows(landing, path, malformed_lines):
            if row[6].startswith("PAYOUT "):
                minor = int(Decimal(row[3]) * 100)
                bank_lines[row[6].removeprefix("PAYOUT ")] = (row[1], minor)
    assert missing and late and wrong_amount
    for payout, net in nets.items():
        if payout in missing:
            assert payout not in bank_lines
            continue
        booking, amount = bank_lines[payout]
        assert booking == booked_on[payout]
        assert (amount != net) == (payout in wrong_amount)
    unmatched = set(bank_lines) - set(nets)
    assert unmatched == {r["payout_id"] for r in _breaks(truth, "unmatched_bank_line")}


def test_ledger_posts_sales_refunds_and_payouts_as_the_sources_say(
    landing: Path, truth: list[dict[str, Any]], malformed_lines: dict[tuple[str, int], str]
) -> None:
    shop = sqlite3.connect(landing / "shop" / "shop.db")
    totals = dict(shop.execute("select order_id, cast(total_minor as integer) from orders"))
    shop.close()
    journals: defaultdict[str, list[list[str]]] = defaultdict(list)
    for path in _files(landing, "ledger", "journal_lines.csv"):
        for row in _clean_rows(landing, path, malformed_lines):
            journals[row[0]].append(row)
    refunds = {
        row[2]: -int(row[3])
        for row in _payment_rows(landing, malformed_lines)
        if row[1] == "refund"
    }
    mismatched = {r["journal_id"] for r in _breaks(truth, "ledger_mismatch")}
    sales = 0
    for journal, lines in journals.items():
        accounts = {line[3]: line for line in lines}
        if "4000" in accounts:
            sales += 1
            credited = int(accounts["4000"][5])
            assert (credited != totals[lines[0][7]]) == (journal in mismatched)
        elif "4100" in accounts:
            assert int(accounts["4100"][4]) == refunds[lines[0][7]]
    assert sales and mismatched


def test_shop_orders_add_up_and_move_through_statuses(landing: Path) -> None:
    shop = sqlite3.connect(landing / "shop" / "shop.db")
    mismatched = shop.execute(
        """
        select count(*) from orders
        join (
            select order_id, sum(cast(quantity as integer) * cast(unit_price_minor as integer))
                as lines_total
            from order_lines group by order_id
        ) using (order_id)
        where cast(total_minor as integer) != lines_total
        """
    ).fetchone()[0]
    statuses = dict(shop.execute("select status, count(*) from orders group by status"))
    types = {row[0] for row in shop.execute("select distinct typeof(total_minor) from orders")}
    changed_customers = shop.execute(
        "select count(*) from customers where updated_at > created_at"
    ).fetchone()[0]
    changed_products = shop.execute("select count(distinct updated_at) from products").fetchone()[0]
    shop.close()
    assert mismatched == 0
    assert {"paid", "shipped", "cancelled", "refunded"} <= set(statuses)
    assert types == {"text"}
    assert changed_customers > 0 and changed_products > 1


def test_peak_days_sell_about_three_times_more(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(_config(landing, start=date(2025, 11, 21), days=11, orders_per_day=40))
    shop = sqlite3.connect(landing / "shop" / "shop.db")
    per_day = dict(
        shop.execute("select substr(ordered_at, 1, 10), count(*) from orders group by 1")
    )
    shop.close()
    assert per_day["2025-11-28"] > 2.2 * per_day["2025-11-21"]
    assert per_day["2025-12-01"] > 2.2 * per_day["2025-11-24"]


def test_calendar_seed_matches_the_generator_calendar() -> None:
    with SEED_PATH.open(encoding="utf-8", newline="") as handle:
        seed_rows = list(csv.DictReader(handle))
    days = list(calendar_days())
    assert len(seed_rows) == len(days)
    for row, day in zip(seed_rows, days, strict=True):
        assert row["calendar_date"] == day.calendar_date.isoformat()
        assert int(row["day_of_week"]) == day.day_of_week
        assert (row["is_business_day"] == "true") == day.is_business_day
        assert (row["is_holiday"] == "true") == day.is_holiday
        assert (row["is_peak_day"] == "true") == day.is_peak_day
        assert (row["peak_name"] or None) == day.peak_name
    peaks = {row["calendar_date"]: row["peak_name"] for row in seed_rows if row["peak_name"]}
    assert peaks["2025-11-28"] == "Black Friday" and peaks["2025-12-01"] == "Cyber Monday"


def test_a_later_run_extends_the_landing_zone(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(_config(landing, days=12))
    with pytest.raises(DemoError, match="must start on `2025-11-22`"):
        generate(_config(landing, start=START, days=5))
    summary = generate(_config(landing, start=date(2025, 11, 22), days=10))
    assert summary.start == date(2025, 11, 22)
    generate(_config(landing, start=None, days=3))
    truth_dir = tmp_path / "landing_truth"
    days = (truth_dir / "days.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(days) == 25
    statements = _files(landing, "bank", "statement.csv")
    closing = Decimal("250000.00")
    for path in statements:
        manifest = json.loads((path.parent / "_manifest.json").read_text(encoding="utf-8"))
        assert Decimal(manifest["opening_balance"]) == closing
        closing = Decimal(manifest["closing_balance"])
    # Payouts pending at the end of the first run were paid out later: the re-sent files
    # name them, and each named payout has its bank line.
    first_run_files = _files(landing, "payments", "balance_transactions.csv")[:12]
    paid_out = {row[9] for path in first_run_files for row in _read_csv(path)[1] if row[9:10]}
    booked = {
        row[6].removeprefix("PAYOUT ")
        for path in statements
        for row in _read_csv(path)[1]
        if len(row) == 7 and row[6].startswith("PAYOUT ")
    }
    records = [
        json.loads(line)
        for line in (truth_dir / "anomalies.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    malformed = {
        (r["source_file"], r["source_line"]): r["reason"]
        for r in records
        if r["kind"] == "malformed_row"
    }
    last_first_run_day = (START + timedelta(days=11)).isoformat()
    tail_path = landing / "payments" / last_first_run_day / "balance_transactions.csv"
    tail = _clean_rows(landing, tail_path, malformed)
    assert all(row[9] for row in tail if row[10] == "succeeded")
    assert (paid_out - {""}) - booked <= {
        r["payout_id"] for r in records if r.get("break_type") == "payout_not_in_bank"
    }
    shop = sqlite3.connect(landing / "shop" / "shop.db")
    orders, distinct = shop.execute(
        "select count(*), count(distinct order_id) from orders"
    ).fetchone()
    shop.close()
    assert orders == distinct and orders > 25 * 20


def test_a_foreign_landing_zone_is_refused(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "payments").mkdir(parents=True)
    with pytest.raises(DemoError, match="no generator state"):
        generate(_config(landing))


@pytest.mark.parametrize(
    "overrides",
    [{"days": 0}, {"orders_per_day": 0}, {"anomaly_rate": 1.5}, {"start": date(2019, 1, 1)}],
)
def test_invalid_configuration_is_refused(tmp_path: Path, overrides: dict[str, Any]) -> None:
    with pytest.raises(DemoError):
        generate(_config(tmp_path / "landing", **overrides))


def test_zero_rates_give_a_clean_landing_zone(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    config = DemoConfig(
        landing=landing, days=35, orders_per_day=15, anomaly_rate=0.0, malformed_rate=0.0
    )
    summary = generate(config)
    assert sum(summary.breaks.values()) == 0
    assert sum(summary.malformed_rows.values()) == 0
    truth = (tmp_path / "landing_truth" / "anomalies.jsonl").read_text()
    assert truth == ""
