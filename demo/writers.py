"""Writers for the landing zone's files: CSV deliveries with manifests, FX JSON, ground truth.

A delivery is one CSV file plus its `_manifest.json`. Malformed rows are added here, as extra
corrupted copies of real rows, so that the manifest and the ground truth describe the file
exactly as written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from random import Random
from typing import Any, Literal

SourceSystem = Literal["payments", "bank", "ledger"]

PAYMENTS_HEADER = (
    "transaction_id",
    "type",
    "order_id",
    "amount_minor",
    "fee_minor",
    "net_minor",
    "currency",
    "created_at",
    "available_on",
    "payout_id",
    "status",
)
BANK_HEADER = (
    "line_id",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty",
    "remittance_info",
)
LEDGER_HEADER = (
    "journal_id",
    "line_number",
    "posted_at",
    "account_code",
    "debit_minor",
    "credit_minor",
    "currency",
    "reference",
    "description",
)

# The shapes the warehouse accepts (macros/casting/text_checks.sql); manifest control totals
# skip any value of another shape, as the warehouse cannot sum it either.
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,18}")
_DECIMAL_TEXT = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,2})?")

# How a currency code gets mangled by a badly configured export.
_MANGLED_CURRENCY = {"EUR": "EURO", "USD": "US$", "GBP": "£", "SEK": "KR"}

Row = list[str]


@dataclass(frozen=True)
class DeliverySpec:
    """Where one system's daily file lives and which columns its corruptions touch."""

    system: SourceSystem
    file_name: str
    header: tuple[str, ...]
    key_column: int
    amount_column: int
    time_column: int
    currency_column: int
    # `invalid_timestamp` for timestamp columns, `invalid_date` for the bank's dates.
    time_reason: str
    integer_sums: tuple[tuple[str, int], ...] = ()
    decimal_sums: tuple[tuple[str, int], ...] = ()

    def variants(self) -> tuple[str, ...]:
        """Every way a row of this file can be malformed (two of them are `field_count`)."""
        return (
            "too_many_fields",
            "too_few_fields",
            "invalid_amount",
            self.time_reason,
            "missing_key",
            "invalid_currency",
        )

    def relative_path(self, day: date, part: str | None = None) -> str:
        """The file's path; an intraday part's name ends with its window's `-HHMM`."""
        if part is None:
            return f"{self.system}/{day.isoformat()}/{self.file_name}"
        stem, suffix = self.file_name.rsplit(".", 1)
        return f"{self.system}/{day.isoformat()}/{stem}-{part}.{suffix}"

    def delivered_parts(self, landing: Path, day: date) -> list[str | None]:
        """The parts of `day` in the landing zone: [None] for a whole day's file."""
        stem, suffix = self.file_name.rsplit(".", 1)
        folder = landing / self.system / day.isoformat()
        parts: list[str | None] = [
            path.name[len(stem) + 1 : -len(suffix) - 1]
            for path in sorted(folder.glob(f"{stem}-????.{suffix}"))
        ]
        return parts or [None]


PAYMENTS = DeliverySpec(
    system="payments",
    file_name="balance_transactions.csv",
    header=PAYMENTS_HEADER,
    key_column=0,
    amount_column=3,
    time_column=7,
    currency_column=6,
    time_reason="invalid_timestamp",
    integer_sums=(("amount_minor_sum", 3),),
)
BANK = DeliverySpec(
    system="bank",
    file_name="statement.csv",
    header=BANK_HEADER,
    key_column=0,
    amount_column=3,
    time_column=1,
    currency_column=4,
    time_reason="invalid_date",
    decimal_sums=(("amount_sum", 3),),
)
LEDGER = DeliverySpec(
    system="ledger",
    file_name="journal_lines.csv",
    header=LEDGER_HEADER,
    key_column=0,
    amount_column=4,
    time_column=2,
    currency_column=6,
    time_reason="invalid_timestamp",
    integer_sums=(("debit_minor_sum", 4), ("credit_minor_sum", 5)),
)


def malformed_reason(variant: str) -> str:
    """The quarantine reason the warehouse gives a row corrupted by `variant`."""
    return "field_count" if variant in ("too_many_fields", "too_few_fields") else variant


@dataclass
class Delivery:
    """What was written for one CSV file: enough for its manifest and the ground truth."""

    relative_path: str
    record_count: int
    sha256: str
    part: str | None = None
    integer_sums: dict[str, int] = field(default_factory=dict)
    decimal_sums: dict[str, int] = field(default_factory=dict)
    # (physical line, reason) of every malformed row.
    malformed: list[tuple[int, str]] = field(default_factory=list)


def _corrupt(spec: DeliverySpec, row: Row, variant: str, fresh_key: Callable[[], str]) -> Row:
    """A copy of `row` broken in exactly one way; every copy but `missing_key` gets a new id."""
    copy = list(row)
    if variant != "missing_key":
        copy[spec.key_column] = fresh_key()
    if variant == "too_many_fields":
        return [*copy, "unexpected"]
    if variant == "too_few_fields":
        return copy[:-2]
    if variant == "invalid_amount":
        # A decimal comma: neither an integer nor a dot decimal.
        value = copy[spec.amount_column]
        if spec.integer_sums:
            sign = "-" if value.startswith("-") else ""
            whole, cents = divmod(abs(int(value)), 100)
            copy[spec.amount_column] = f"{sign}{whole},{cents:02d}"
        else:
            copy[spec.amount_column] = value.replace(".", ",")
    elif variant in ("invalid_timestamp", "invalid_date"):
        # Day-first local formats, e.g. `03/11/2025 14:03:07` or `03.11.2025`.
        value = copy[spec.time_column]
        year, month, day_of_month = value[0:4], value[5:7], value[8:10]
        if variant == "invalid_date":
            copy[spec.time_column] = f"{day_of_month}.{month}.{year}"
        else:
            copy[spec.time_column] = f"{day_of_month}/{month}/{year} {value[11:19]}"
    elif variant == "missing_key":
        copy[spec.key_column] = ""
    elif variant == "invalid_currency":
        copy[spec.currency_column] = _MANGLED_CURRENCY[copy[spec.currency_column]]
    return copy


def add_malformed_rows(
    spec: DeliverySpec,
    rows: list[Row],
    variants: Sequence[str],
    rng: Random,
    fresh_key: Callable[[], str],
) -> list[tuple[int, str]]:
    """Insert one corrupted copy per variant at random places in `rows` (in place).

    Returns:
        The (physical line, reason) of each inserted row; the header is line 1.
    """
    if not rows or not variants:
        return []
    originals = list(rows)
    marked: list[tuple[Row, str | None]] = [(row, None) for row in rows]
    for variant in variants:
        # Copy only clean rows, so that each copy breaks exactly one rule.
        source = originals[rng.randrange(len(originals))]
        broken = _corrupt(spec, source, variant, fresh_key)
        marked.insert(rng.randrange(len(marked) + 1), (broken, malformed_reason(variant)))
    rows[:] = [row for row, _ in marked]
    return [(index + 2, reason) for index, (_, reason) in enumerate(marked) if reason]


def _control_sums(spec: DeliverySpec, rows: Sequence[Row]) -> tuple[dict[str, int], dict[str, int]]:
    """Sums per manifest control total, over rows of the right width with well-shaped values."""
    width = len(spec.header)
    integer_sums = dict.fromkeys((name for name, _ in spec.integer_sums), 0)
    decimal_sums = dict.fromkeys((name for name, _ in spec.decimal_sums), 0)
    for row in rows:
        if len(row) != width:
            continue
        for name, column in spec.integer_sums:
            value = row[column]
            if _INTEGER_TEXT.fullmatch(value):
                integer_sums[name] += int(value)
        for name, column in spec.decimal_sums:
            value = row[column]
            if _DECIMAL_TEXT.fullmatch(value):
                whole, _, fraction = value.partition(".")
                sign = -1 if whole.startswith("-") else 1
                decimal_sums[name] += sign * (abs(int(whole)) * 100 + int(fraction.ljust(2, "0")))
    return integer_sums, decimal_sums


def write_delivery(
    landing: Path, spec: DeliverySpec, day: date, rows: Sequence[Row], part: str | None = None
) -> Delivery:
    """Write one day's CSV file, or one part of it (header first, rows as given).

    Returns:
        The file's measures, for its manifest.
    """
    relative = spec.relative_path(day, part)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(spec.header)
    writer.writerows(rows)
    payload = buffer.getvalue().encode("utf-8")
    target = landing / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)
    integer_sums, decimal_sums = _control_sums(spec, rows)
    return Delivery(
        relative_path=relative,
        record_count=len(rows),
        sha256=hashlib.sha256(payload).hexdigest(),
        part=part,
        integer_sums=integer_sums,
        decimal_sums=decimal_sums,
    )


def read_delivery(
    landing: Path, spec: DeliverySpec, day: date, part: str | None = None
) -> list[Row]:
    """The data rows of a delivered file or part, as written (used to re-send a file)."""
    with (landing / spec.relative_path(day, part)).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return list(reader)


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write `document` as indented JSON with a final newline, keys in the given order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_manifest(
    landing: Path, delivery: Delivery, generated_at: str, extra: Mapping[str, Any] | None = None
) -> None:
    """Write the `_manifest.json` beside a delivered file (`_manifest-HHMM.json` for a part).

    `file` is the data file's path relative to the landing zone, the same text the raw tables
    carry in `_source_file`.
    """
    document: dict[str, Any] = {
        "file": delivery.relative_path,
        "record_count": delivery.record_count,
        "sha256": delivery.sha256,
        "generated_at": generated_at,
    }
    document.update(delivery.integer_sums)
    if extra:
        document.update(extra)
    name = "_manifest.json" if delivery.part is None else f"_manifest-{delivery.part}.json"
    write_json((landing / delivery.relative_path).parent / name, document)
