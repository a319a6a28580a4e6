"""A small raw layer, shaped like dlt's output, for testing the dbt staging layer.

It writes the raw_* schemas of /tmp/spec.md ("Raw layer") into a DuckDB file: every source
column as text, the file lineage columns, and one `_dlt_loads` table per schema. The rows are
few and chosen on purpose: each quarantine rule fires at least once, one file is re-sent, one
load is incomplete, one load is missing from `_dlt_loads`, one manifest disagrees with its
file and one bank statement does not continue from the one before. `EXPECTED` lists what the
dbt layer must make of them, so the tests read their expectations from the same place.

Run `python tests/python/fixtures_raw.py <warehouse.duckdb>` to write the fixture by hand.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

Row = tuple[str | None, ...]

# Load ids as dlt writes them (unix time with a fraction); inserted_at orders them.
COMPLETE = 0
INCOMPLETE = 1


@dataclass(frozen=True)
class Load:
    load_id: str
    status: int
    inserted_at: str
    in_loads_table: bool = True


SHOP_LOAD_1 = Load("1762160000.000001", COMPLETE, "2025-11-03 22:00:00+00")
SHOP_LOAD_2 = Load("1762246400.000002", COMPLETE, "2025-11-04 22:00:00+00")
SHOP_LOAD_PARTIAL = Load("1762332800.000003", INCOMPLETE, "2025-11-05 22:00:00+00")
FILES_LOAD_1 = Load("1762160000.100001", COMPLETE, "2025-11-03 22:00:00+00")
FILES_LOAD_2 = Load("1762246400.100002", COMPLETE, "2025-11-04 22:00:00+00")
FILES_LOAD_PARTIAL = Load("1762332800.100003", INCOMPLETE, "2025-11-05 22:00:00+00")
FILES_LOAD_UNRECORDED = Load("1762419200.100004", COMPLETE, "", in_loads_table=False)

FILE_LOADS = (FILES_LOAD_1, FILES_LOAD_2, FILES_LOAD_PARTIAL, FILES_LOAD_UNRECORDED)
SHOP_LOADS = (SHOP_LOAD_1, SHOP_LOAD_2, SHOP_LOAD_PARTIAL)

PAYMENT_COLUMNS = (
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
BANK_COLUMNS = (
    "line_id",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty",
    "remittance_info",
)
LEDGER_COLUMNS = (
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
FILE_LINEAGE = ("_source_file", "_source_line", "_file_sha256", "_malformed_record")
DLT_COLUMNS = ("_dlt_load_id", "_dlt_id")
REJECTED_COLUMNS = ("_source_file", "_file_sha256", "reason", "detail", *DLT_COLUMNS)
LANDED_COLUMNS = ("_source_file", "_file_sha256", "size_bytes", "record_count", "columns")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class DataFile:
    """One delivered CSV file: its rows (raw text for a malformed line) and its load."""

    path: str
    load: Load
    rows: list[Row | str]
    manifest_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return _sha(f"{self.path}|{self.load.load_id}|{self.rows!r}")


def _payment(
    transaction_id: str | None,
    amount: str,
    *,
    currency: str = "EUR",
    created_at: str = "2025-11-03T10:00:00Z",
    kind: str = "charge",
    order_id: str | None = "o_1",
) -> Row:
    fee = "0" if kind != "charge" else "59"
    net = str(int(amount) - int(fee)) if amount.lstrip("-").isdigit() else amount
    return (
        transaction_id,
        kind,
        order_id,
        amount,
        fee,
        net,
        currency,
        created_at,
        "2025-11-05",
        "po_036543",
        "succeeded",
    )


PAYMENT_FILES = [
    DataFile(
        "payments/2025-11-03/balance_transactions.csv",
        FILES_LOAD_1,
        [
            _payment("txn_001", "1000", order_id="o_1"),
            _payment("txn_002", "2500", currency="USD", order_id="o_2"),
            # field_count: dlt keeps the raw text and nulls every data column.
            "txn_003,charge,o_9,100,33,67,EUR,2025-11-03T11:00:00Z,2025-11-05,,succeeded,extra",
            _payment("txn_004", "12.5"),
            _payment("txn_005", "700", currency="XYZ"),
            _payment(None, "300"),
            _payment("txn_007", "400", created_at="yesterday"),
            _payment("txn_008", "400", kind="chargeback"),
        ],
    ),
    # The first version of the 2025-11-04 file, superseded by a re-sent one in load 2.
    DataFile(
        "payments/2025-11-04/balance_transactions.csv",
        FILES_LOAD_1,
        [_payment("txn_101", "900", created_at="2025-11-04T09:00:00Z")],
    ),
    DataFile(
        "payments/2025-11-04/balance_transactions.csv",
        FILES_LOAD_2,
        [
            _payment("txn_111", "950", created_at="2025-11-04T09:00:00Z"),
            _payment("txn_112", "-950", kind="refund", created_at="2025-11-04T12:30:00+01:00"),
        ],
    ),
    # A header-only file: no rows, but dlt records it in landed_files.
    DataFile("payments/2025-11-08/balance_transactions.csv", FILES_LOAD_1, []),
    DataFile(
        "payments/2025-11-05/balance_transactions.csv",
        FILES_LOAD_PARTIAL,
        [_payment("txn_201", "100", created_at="2025-11-05T09:00:00Z")],
    ),
    DataFile(
        "payments/2025-11-06/balance_transactions.csv",
        FILES_LOAD_UNRECORDED,
        [_payment("txn_301", "100", created_at="2025-11-06T09:00:00Z")],
    ),
]

BANK_FILES = [
    DataFile(
        "bank/2025-11-03/statement.csv",
        FILES_LOAD_1,
        [
            (
                "bl_001",
                "2025-11-03",
                "2025-11-03",
                "1234.50",
                "EUR",
                "Payment processor",
                "PAYOUT po_036543",
            ),
            ("bl_002", "2025-11-03", "2025-11-03", "-800.00", "EUR", "Landlord", "Rent"),
            ("bl_003", "2025-11-03", "2025-11-03", "12.345", "EUR", "Shop", "Card"),
        ],
        {"opening_balance": "250000.00", "closing_balance": "250434.50"},
    ),
    DataFile(
        "bank/2025-11-04/statement.csv",
        FILES_LOAD_1,
        [
            ("bl_101", "2025-11-04", "2025-11-31", "-10.00", "EUR", "Shop", "Card"),
            ("bl_102", "2025-11-04", "2025-11-04", "-20.00", "GBP", "Shop", "Card"),
        ],
        # Opens at a different balance than the previous statement closed at.
        {"opening_balance": "250500.00", "closing_balance": "250470.00", "record_count": "3"},
    ),
]

LEDGER_FILES = [
    DataFile(
        "ledger/2025-11-03/journal_lines.csv",
        FILES_LOAD_1,
        [
            ("jr_00000001", "1", "2025-11-03T10:00:00Z", "1100", "1000", "0", "EUR", "o_1", "Paid"),
            ("jr_00000001", "2", "2025-11-03T10:00:00Z", "4000", "0", "1000", "EUR", "o_1", "Paid"),
            ("jr_00000002", "1", "not a time", "1100", "5", "0", "EUR", "o_2", "Paid"),
            ("jr_00000003", "x", "2025-11-03T10:00:00Z", "1100", "5", "0", "EUR", "o_3", "Paid"),
        ],
    ),
]

FX_FILES = [
    ("fx/2025-11-03.json", FILES_LOAD_1, {"USD": "1.2500", "GBP": "0.8000", "SEK": "11.0000"}),
    ("fx/2025-11-04.json", FILES_LOAD_1, {"USD": "1.2600", "GBP": "0.8100", "SEK": "eleven"}),
]

REJECTED = [
    ("payments", "payments/2025-11-07/balance_transactions.csv", "not_utf8", "byte 0xff at 12"),
]

CUSTOMERS: list[tuple[Load, Row]] = [
    (SHOP_LOAD_1, ("c_1", "old@example.com", "DE", "2025-10-01T08:00:00Z", "2025-10-01T08:00:00Z")),
    (SHOP_LOAD_2, ("c_1", "new@example.com", "DE", "2025-10-01T08:00:00Z", "2025-11-04T08:00:00Z")),
    (SHOP_LOAD_1, ("c_2", "two@example.com", "GB", "2025-10-02T08:00:00Z", "2025-10-02T08:00:00Z")),
    (
        SHOP_LOAD_PARTIAL,
        ("c_9", "nine@example.com", "SE", "2025-11-05T08:00:00Z", "2025-11-05T08:00:00Z"),
    ),
    (SHOP_LOAD_1, ("c_3", "three@example.com", "FR", "2025-10-03T08:00:00Z", "soon")),
]
PRODUCTS: list[tuple[Load, Row]] = [
    (SHOP_LOAD_1, ("p_1", "SKU-1", "Mug", "kitchen", "1000", "EUR", "2025-10-01T08:00:00Z")),
    (SHOP_LOAD_1, ("p_2", "SKU-2", "Lamp", "home", "2500", "USD", "2025-10-01T08:00:00Z")),
    (SHOP_LOAD_1, ("p_3", "SKU-3", "Rug", "home", "ten", "EUR", "2025-10-01T08:00:00Z")),
]
ORDERS: list[tuple[Load, Row]] = [
    (
        SHOP_LOAD_1,
        ("o_1", "c_1", "placed", "EUR", "1000", "2025-11-03T09:55:00Z", "2025-11-03T09:55:00Z"),
    ),
    (
        SHOP_LOAD_2,
        ("o_1", "c_1", "paid", "EUR", "1000", "2025-11-03T09:55:00Z", "2025-11-03T10:00:00Z"),
    ),
    (
        SHOP_LOAD_1,
        ("o_2", "c_2", "shipped", "USD", "2500", "2025-11-03T10:30:00Z", "2025-11-04T10:00:00Z"),
    ),
    (
        SHOP_LOAD_1,
        ("o_3", "c_2", "lost", "EUR", "500", "2025-11-03T11:00:00Z", "2025-11-03T11:00:00Z"),
    ),
    (
        SHOP_LOAD_1,
        ("o_4", "c_2", "paid", "EURO", "500", "2025-11-03T11:00:00Z", "2025-11-03T11:00:00Z"),
    ),
    (
        SHOP_LOAD_PARTIAL,
        ("o_9", "c_9", "paid", "SEK", "500", "2025-11-05T11:00:00Z", "2025-11-05T11:00:00Z"),
    ),
]
ORDER_LINES: list[tuple[Load, Row]] = [
    (SHOP_LOAD_1, ("ol_1", "o_1", "p_1", "1", "1000", "2025-11-03T09:55:00Z")),
    (SHOP_LOAD_1, ("ol_2", "o_2", "p_2", "1", "2500", "2025-11-03T10:30:00Z")),
    (SHOP_LOAD_1, ("ol_3", "o_3", "p_1", "0", "500", "2025-11-03T11:00:00Z")),
]
SHOP_TABLES: dict[str, tuple[tuple[str, ...], list[tuple[Load, Row]]]] = {
    "customers": (("customer_id", "email", "country_code", "created_at", "updated_at"), CUSTOMERS),
    "products": (
        ("product_id", "sku", "name", "category", "list_price_minor", "currency", "updated_at"),
        PRODUCTS,
    ),
    "orders": (
        (
            "order_id",
            "customer_id",
            "status",
            "currency",
            "total_minor",
            "ordered_at",
            "updated_at",
        ),
        ORDERS,
    ),
    "order_lines": (
        ("order_line_id", "order_id", "product_id", "quantity", "unit_price_minor", "updated_at"),
        ORDER_LINES,
    ),
}

# What the dbt layer must make of the rows above: (source file, line or key) -> first reason.
EXPECTED_QUARANTINE: dict[tuple[str, str], str] = {
    ("payments/2025-11-03/balance_transactions.csv", "4"): "field_count",
    ("payments/2025-11-03/balance_transactions.csv", "5"): "invalid_amount",
    ("payments/2025-11-03/balance_transactions.csv", "6"): "invalid_currency",
    ("payments/2025-11-03/balance_transactions.csv", "7"): "missing_key",
    ("payments/2025-11-03/balance_transactions.csv", "8"): "invalid_timestamp",
    ("payments/2025-11-03/balance_transactions.csv", "9"): "invalid_value",
    ("bank/2025-11-03/statement.csv", "4"): "invalid_amount",
    ("bank/2025-11-04/statement.csv", "2"): "invalid_date",
    ("ledger/2025-11-03/journal_lines.csv", "4"): "invalid_timestamp",
    ("ledger/2025-11-03/journal_lines.csv", "5"): "missing_key",
    ("fx/2025-11-04.json", "SEK"): "invalid_value",
    ("shop.customers", "c_3"): "invalid_timestamp",
    ("shop.products", "p_3"): "invalid_amount",
    ("shop.orders", "o_3"): "invalid_value",
    ("shop.orders", "o_4"): "invalid_currency",
    ("shop.order_lines", "ol_3"): "invalid_value",
}
# Keys that only arrived in an incomplete load, or one dlt never recorded: never visible.
INVISIBLE_KEYS = ("txn_201", "txn_301", "c_9", "o_9")
# The 2025-11-04 payments file was re-sent: only the second version's rows count.
SUPERSEDED_KEYS = ("txn_101",)
RESENT_KEYS = ("txn_111", "txn_112")
# The bank statement of 2025-11-04 states 3 rows for a 2-row file and opens at a balance the
# 2025-11-03 statement did not close at.
MISMATCHED_FILES = ("bank/2025-11-04/statement.csv",)
DISCONTINUOUS_STATEMENTS = ("bank/2025-11-04/_manifest.json",)


def _manifest_row(data_file: DataFile, columns: Sequence[str]) -> dict[str, str]:
    """The manifest the upstream system would write for `data_file`, as the spec computes it."""
    parsed = [row for row in data_file.rows if not isinstance(row, str)]
    manifest = {
        "file": data_file.path.rsplit("/", 1)[1],
        "record_count": str(len(data_file.rows)),
        "sha256": data_file.sha256,
        "generated_at": "2025-11-04T01:00:00Z",
    }

    def integer_sum(column: str) -> str:
        index = columns.index(column)
        values = [row[index] for row in parsed]
        return str(sum(int(v) for v in values if v is not None and v.lstrip("-").isdigit()))

    if "amount_minor" in columns:
        manifest["amount_minor_sum"] = integer_sum("amount_minor")
    if "debit_minor" in columns:
        manifest["debit_minor_sum"] = integer_sum("debit_minor")
        manifest["credit_minor_sum"] = integer_sum("credit_minor")
    if "amount" in columns:
        manifest["amount_sum"] = _decimal_sum([row[columns.index("amount")] for row in parsed])
    manifest.update(data_file.manifest_overrides)
    return manifest


def _decimal_sum(values: Sequence[str | None]) -> str:
    cents = 0
    for value in values:
        if value is None:
            continue
        whole, _, fraction = value.lstrip("-").partition(".")
        if not whole.isdigit() or len(fraction) != 2 or not fraction.isdigit():
            continue
        sign = -1 if value.startswith("-") else 1
        cents += sign * (int(whole) * 100 + int(fraction))
    minus = "-" if cents < 0 else ""
    return f"{minus}{abs(cents) // 100}.{abs(cents) % 100:02d}"


INTEGER_COLUMNS = ("_source_line", "size_bytes", "record_count")


def _create(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], *, metadata: bool = False
) -> None:
    """Creates a raw table: text columns, except the integers the ingest computes itself."""
    typed = ", ".join(
        f'"{name}" bigint'
        if name == "_source_line" or (metadata and name in INTEGER_COLUMNS)
        else f'"{name}" varchar'
        for name in columns
    )
    con.execute(f"create table {table} ({typed})")


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[object]]) -> None:
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        con.executemany(f"insert into {table} values ({marks})", [list(row) for row in rows])


def _write_loads(con: duckdb.DuckDBPyConnection, schema: str, loads: Sequence[Load]) -> None:
    con.execute(
        f"create table {schema}._dlt_loads (load_id varchar, schema_name varchar, "
        "status bigint, inserted_at timestamp with time zone, schema_version_hash varchar)"
    )
    _insert(
        con,
        f"{schema}._dlt_loads",
        [
            (load.load_id, schema, load.status, load.inserted_at, "hash")
            for load in loads
            if load.in_loads_table
        ],
    )


def _write_file_system(
    con: duckdb.DuckDBPyConnection,
    *,
    system: str,
    table: str,
    columns: tuple[str, ...],
    files: Sequence[DataFile],
    control_columns: tuple[str, ...],
) -> None:
    schema = f"raw_{system}"
    con.execute(f"create schema {schema}")
    _write_loads(con, schema, FILE_LOADS)
    _create(con, f"{schema}.{table}", (*columns, *FILE_LINEAGE, *DLT_COLUMNS))
    manifest_columns = ("file", "record_count", "sha256", "generated_at", *control_columns)
    _create(
        con,
        f"{schema}.manifests",
        (*manifest_columns, "_source_file", "_file_sha256", *DLT_COLUMNS),
    )
    _create(con, f"{schema}.rejected_files", REJECTED_COLUMNS)
    _create(con, f"{schema}.landed_files", (*LANDED_COLUMNS, *DLT_COLUMNS), metadata=True)
    data_rows: list[tuple[object, ...]] = []
    landed_rows: list[tuple[object, ...]] = []
    manifest_rows: list[tuple[object, ...]] = []
    for file_number, data_file in enumerate(files):
        for line, row in enumerate(data_file.rows, start=2):
            dlt_id = f"{file_number}-{line}"
            if isinstance(row, str):
                values: tuple[object, ...] = (None,) * len(columns)
                lineage: tuple[object, ...] = (data_file.path, line, data_file.sha256, row)
            else:
                values = row
                lineage = (data_file.path, line, data_file.sha256, None)
            data_rows.append((*values, *lineage, data_file.load.load_id, dlt_id))
        landed_rows.append(
            (
                data_file.path,
                data_file.sha256,
                100 * len(data_file.rows) + 50,
                len(data_file.rows),
                ",".join(columns),
                data_file.load.load_id,
                f"l-{file_number}",
            )
        )
        manifest = _manifest_row(data_file, columns)
        manifest_path = data_file.path.rsplit("/", 1)[0] + "/_manifest.json"
        manifest_rows.append(
            (
                *(manifest.get(name) for name in manifest_columns),
                manifest_path,
                _sha(repr(manifest)),
                data_file.load.load_id,
                f"m-{file_number}",
            )
        )
    _insert(con, f"{schema}.{table}", data_rows)
    _insert(con, f"{schema}.landed_files", landed_rows)
    _insert(con, f"{schema}.manifests", manifest_rows)
    _insert(
        con,
        f"{schema}.rejected_files",
        [
            (path, _sha(path), reason, detail, FILES_LOAD_1.load_id, f"r-{path}")
            for rejected_system, path, reason, detail in REJECTED
            if rejected_system == system
        ],
    )


def _write_fx(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema raw_fx")
    _write_loads(con, "raw_fx", FILE_LOADS)
    _create(
        con,
        "raw_fx.rates",
        ("base", "date", "currency", "rate", "_source_file", "_file_sha256", *DLT_COLUMNS),
    )
    _create(con, "raw_fx.rejected_files", REJECTED_COLUMNS)
    _create(con, "raw_fx.landed_files", (*LANDED_COLUMNS, *DLT_COLUMNS), metadata=True)
    _insert(
        con,
        "raw_fx.landed_files",
        [
            (path, _sha(path), 120, len(rates), "base,date,rates", load.load_id, f"l-{path}")
            for path, load, rates in FX_FILES
        ],
    )
    rows = [
        (
            "EUR",
            path.split("/")[1][:10],
            currency,
            rate,
            path,
            _sha(path),
            load.load_id,
            f"{path}{currency}",
        )
        for path, load, rates in FX_FILES
        for currency, rate in rates.items()
    ]
    _insert(con, "raw_fx.rates", rows)


def _write_shop(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema raw_shop")
    _write_loads(con, "raw_shop", SHOP_LOADS)
    for table, (columns, rows) in SHOP_TABLES.items():
        _create(con, f"raw_shop.{table}", (*columns, *DLT_COLUMNS))
        _insert(
            con,
            f"raw_shop.{table}",
            [(*row, load.load_id, f"{table}-{n}") for n, (load, row) in enumerate(rows)],
        )


def build_raw_fixture(warehouse: Path) -> None:
    """Writes the raw_* schemas of the fixture into a new DuckDB file.

    Args:
        warehouse: the DuckDB file to create; it must not exist yet.

    Raises:
        FileExistsError: when `warehouse` exists, so a real warehouse is never overwritten.
    """
    if warehouse.exists():
        raise FileExistsError(
            f"fixture warehouse `{warehouse}` exists; remove it or pick a new path"
        )
    with duckdb.connect(str(warehouse)) as con:
        _write_shop(con)
        _write_file_system(
            con,
            system="payments",
            table="balance_transactions",
            columns=PAYMENT_COLUMNS,
            files=PAYMENT_FILES,
            control_columns=("amount_minor_sum",),
        )
        _write_file_system(
            con,
            system="bank",
            table="statement_lines",
            columns=BANK_COLUMNS,
            files=BANK_FILES,
            control_columns=("amount_sum", "opening_balance", "closing_balance"),
        )
        _write_file_system(
            con,
            system="ledger",
            table="journal_lines",
            columns=LEDGER_COLUMNS,
            files=LEDGER_FILES,
            control_columns=("debit_minor_sum", "credit_minor_sum"),
        )
        _write_fx(con)


if __name__ == "__main__":
    build_raw_fixture(Path(sys.argv[1]))
