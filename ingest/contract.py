"""The landing zone contract (DESIGN.md, "Landing zone contract"), as data.

Upstream systems write the landing zone and the project only reads it. This module says which
paths belong to the contract and what each file holds, so that every file found there is either
loaded, rejected with a reason, or reported as outside the contract: nothing is skipped in
silence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

SystemName = Literal["shop", "payments", "bank", "ledger", "fx"]
FileKind = Literal["data", "manifest", "fx_rates", "shop_database"]

SYSTEMS: tuple[SystemName, ...] = ("shop", "payments", "bank", "ledger", "fx")


@dataclass(frozen=True)
class DeliverySpec:
    """A system that delivers one CSV file and one manifest per day folder.

    Attributes:
        system: the upstream system, also the landing folder's name.
        file_name: the CSV file's name inside `<system>/YYYY-MM-DD/`.
        table_name: the raw table the file's rows land in.
        columns: the header the contract promises, in order.
        key_column: the column that identifies a record; a header without it is not this file.
        manifest_totals: the control totals the system's manifests carry.
        delivers_parts: whether a day may also come in intraday parts, each file and manifest
            named by the end of its time window: `<stem>-HHMM.csv` with `_manifest-HHMM.json`.
    """

    system: SystemName
    file_name: str
    table_name: str
    columns: tuple[str, ...]
    key_column: str
    manifest_totals: tuple[str, ...]
    delivers_parts: bool = False

    @property
    def data_pattern(self) -> re.Pattern[str]:
        stem, suffix = self.file_name.rsplit(".", 1)
        name = rf"{re.escape(stem)}{self._part_suffix}\.{re.escape(suffix)}"
        return re.compile(rf"^{self.system}/(\d{{4}}-\d{{2}}-\d{{2}})/{name}$")

    @property
    def manifest_pattern(self) -> re.Pattern[str]:
        name = rf"_manifest{self._part_suffix}\.json"
        return re.compile(rf"^{self.system}/(\d{{4}}-\d{{2}}-\d{{2}})/{name}$")

    @property
    def _part_suffix(self) -> str:
        # An optional `-HHMM` group; systems without parts get a group that never matches.
        return r"(?:-(\d{4}))?" if self.delivers_parts else r"()"


PAYMENTS = DeliverySpec(
    system="payments",
    file_name="balance_transactions.csv",
    table_name="balance_transactions",
    columns=(
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
    ),
    key_column="transaction_id",
    manifest_totals=("amount_minor_sum",),
    delivers_parts=True,
)

BANK = DeliverySpec(
    system="bank",
    file_name="statement.csv",
    table_name="statement_lines",
    columns=(
        "line_id",
        "booking_date",
        "value_date",
        "amount",
        "currency",
        "counterparty",
        "remittance_info",
    ),
    key_column="line_id",
    manifest_totals=("amount_sum", "opening_balance", "closing_balance"),
    delivers_parts=True,
)

LEDGER = DeliverySpec(
    system="ledger",
    file_name="journal_lines.csv",
    table_name="journal_lines",
    columns=(
        "journal_id",
        "line_number",
        "posted_at",
        "account_code",
        "debit_minor",
        "credit_minor",
        "currency",
        "reference",
        "description",
    ),
    key_column="journal_id",
    manifest_totals=("debit_minor_sum", "credit_minor_sum"),
)

MANIFEST_FIELDS: tuple[str, ...] = ("file", "record_count", "sha256", "generated_at")
FX_FIELDS: tuple[str, ...] = ("base", "date", "currency", "rate")

DELIVERIES: dict[SystemName, DeliverySpec] = {
    spec.system: spec for spec in (PAYMENTS, BANK, LEDGER)
}

FX_PATTERN = re.compile(r"^fx/(\d{4}-\d{2}-\d{2})\.json$")
SHOP_DATABASE_PATH = "shop/shop.db"
SHOP_TABLES: tuple[str, ...] = ("customers", "products", "orders", "order_lines")


@dataclass(frozen=True)
class LandingFile:
    """A file of the landing zone, classified against the contract.

    Attributes:
        relative_path: the path below the landing zone, with forward slashes.
        system: the upstream system it belongs to, or None when outside the contract.
        kind: what the file is, or None when outside the contract.
        delivery_date: the business date its folder or name carries, when it has one.
        problem: why the file is outside the contract, when it is.
        part: the `HHMM` end of an intraday part's time window, None for a whole day's file.
    """

    relative_path: str
    system: SystemName | None
    kind: FileKind | None
    delivery_date: date | None = None
    problem: str | None = None
    part: str | None = None

    @property
    def in_contract(self) -> bool:
        return self.kind is not None


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def is_part_label(text: str) -> bool:
    """Whether `text` is a part's `HHMM` window end: 0001 to 2400 (2400 ends the day)."""
    if len(text) != 4 or not text.isdigit():
        return False
    hours, minutes = int(text[:2]), int(text[2:])
    return minutes < 60 and 0 < hours * 60 + minutes <= 24 * 60


def classify(relative_path: str) -> LandingFile:
    """Says where a landing zone path stands in the contract.

    Args:
        relative_path: the file's path below the landing zone, with forward slashes.

    Returns:
        The classified file; `kind` is None for anything the contract does not name.
    """
    if relative_path == SHOP_DATABASE_PATH:
        return LandingFile(relative_path, "shop", "shop_database")
    if relative_path.startswith("shop/") and relative_path.startswith(SHOP_DATABASE_PATH):
        # SQLite's own journal and WAL files sit beside the database while the shop writes it.
        return LandingFile(relative_path, None, None, problem="a SQLite side file")
    candidates: list[tuple[re.Pattern[str], SystemName, FileKind]] = [
        (FX_PATTERN, "fx", "fx_rates"),
    ]
    for spec in DELIVERIES.values():
        candidates.append((spec.data_pattern, spec.system, "data"))
        candidates.append((spec.manifest_pattern, spec.system, "manifest"))
    for pattern, system, kind in candidates:
        match = pattern.match(relative_path)
        if match is None:
            continue
        delivery_date = _parse_date(match.group(1))
        if delivery_date is None:
            return LandingFile(
                relative_path, None, None, problem=f"`{match.group(1)}` is not a valid date"
            )
        part = match.group(2) if kind in ("data", "manifest") else None
        if part and not is_part_label(part):
            return LandingFile(
                relative_path,
                None,
                None,
                problem=f"`{part}` is not a part's window end: HHMM from 0001 to 2400",
            )
        return LandingFile(relative_path, system, kind, delivery_date, part=part or None)
    return LandingFile(relative_path, None, None, problem="no contract entry names this path")
