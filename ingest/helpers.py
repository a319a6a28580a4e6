"""Shared helpers: reading landing zone files into Arrow tables, exactly as sent.

Every value is kept as text; typing happens in dbt, where a value that fails goes to quarantine
with a reason. Nothing here reads rows one by one into Python objects: CSV files are parsed by
Arrow's C++ reader, which is what keeps ingestion within reach of DuckDB's own CSV reader.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pa_csv

RejectReason = Literal["empty_file", "not_utf8", "not_csv", "header_mismatch", "unreadable_json"]

UTF8_BOM = b"\xef\xbb\xbf"
SOURCE_FILE = "_source_file"
SOURCE_LINE = "_source_line"
FILE_SHA256 = "_file_sha256"
MALFORMED_RECORD = "_malformed_record"


class RejectedFile(Exception):  # noqa: N818 -- a result of reading a file, not a failure of ours
    """A landing file that cannot be read at all; it is recorded, not loaded.

    Attributes:
        reason: one of `RejectReason`.
        detail: what exactly was wrong, without row contents.
    """

    def __init__(self, reason: RejectReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass
class ParsedCsv:
    """A CSV file read into Arrow, with its malformed records kept aside as raw text.

    Attributes:
        header: the column names as sent.
        table: one row per well-formed record, every column a string.
        malformed: (record number, raw text) of each record whose field count is wrong.
    """

    header: list[str]
    table: pa.Table
    malformed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def record_count(self) -> int:
        return self.table.num_rows + len(self.malformed)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_header(data: bytes) -> list[str]:
    """Reads the first record, which names the columns; a header never spans lines."""
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    return next(csv.reader([first_line]), [])


def read_csv_as_text(data: bytes, expected_columns: Sequence[str], key_column: str) -> ParsedCsv:
    """Parses a delivered CSV file into an Arrow table of strings.

    Records with the wrong number of fields are not dropped: they come back in `malformed` with
    their record number (the header is record 1), so they can be kept in raw and quarantined.

    Args:
        data: the file's bytes.
        expected_columns: the header the contract promises; extra or missing columns are
            accepted here and judged in dbt.
        key_column: a column that must be in the header, or the file is not this kind of file.

    Returns:
        The parsed file.

    Raises:
        RejectedFile: the bytes are empty, not UTF-8, not CSV, or the header is not this file's.
    """
    if not data.strip():
        raise RejectedFile("empty_file", "the file has no header row")
    if b"\x00" in data:
        raise RejectedFile("not_csv", "the file holds NUL bytes, so it is binary, not CSV")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RejectedFile("not_utf8", f"invalid UTF-8 at byte {err.start}") from err
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    try:
        header = _read_header(data)
    except csv.Error as err:
        raise RejectedFile("not_csv", f"the header row cannot be parsed: {err}") from err
    if key_column not in header:
        expected = ",".join(expected_columns)
        raise RejectedFile(
            "header_mismatch",
            f"header `{','.join(header)[:200]}` lacks `{key_column}`; expected `{expected}`"
            " (a wrong delimiter looks like this too)",
        )
    if len(set(header)) != len(header):
        raise RejectedFile("header_mismatch", f"header `{','.join(header)[:200]}` repeats a name")

    malformed: list[tuple[int, str]] = []

    def keep_malformed(row: pa_csv.InvalidRow) -> str:
        malformed.append((row.number, row.text))
        return "skip"

    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=keep_malformed
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as err:
        raise RejectedFile("not_csv", f"the body cannot be parsed as CSV: {err}") from err
    return ParsedCsv(header=header, table=table, malformed=malformed)


def with_lineage(parsed: ParsedCsv, source_file: str, file_sha256: str) -> pa.Table:
    """Adds where each record came from, and appends malformed records as raw text.

    Args:
        parsed: the file as read by `read_csv_as_text`.
        source_file: the file's path below the landing zone.
        file_sha256: the hex digest of the file's bytes.

    Returns:
        The file's rows with `_source_file`, `_source_line`, `_file_sha256` and
        `_malformed_record`, in record order.
    """
    total = parsed.record_count
    malformed_numbers = {number for number, _ in parsed.malformed}
    # Records are numbered from 2 (the header is 1); the well-formed ones are all the others.
    good_numbers = [n for n in range(2, total + 2) if n not in malformed_numbers]
    good = parsed.table.append_column(SOURCE_LINE, pa.array(good_numbers, pa.int64()))
    good = good.append_column(MALFORMED_RECORD, pa.nulls(good.num_rows, pa.string()))
    if parsed.malformed:
        bad = pa.table(
            {
                **{name: pa.nulls(len(parsed.malformed), pa.string()) for name in parsed.header},
                SOURCE_LINE: pa.array([number for number, _ in parsed.malformed], pa.int64()),
                MALFORMED_RECORD: pa.array([text for _, text in parsed.malformed], pa.string()),
            }
        )
        good = pa.concat_tables([good, bad]).sort_by(SOURCE_LINE)
    good = good.append_column(SOURCE_FILE, pa.repeat(pa.scalar(source_file), good.num_rows))
    return good.append_column(FILE_SHA256, pa.repeat(pa.scalar(file_sha256), good.num_rows))


def text_table(rows: Sequence[Mapping[str, str | None]], columns: Sequence[str] = ()) -> pa.Table:
    """Builds an Arrow table of strings from a few rows: `columns` first, then any other key.

    Args:
        rows: the rows, every value text or None.
        columns: the columns the table always has, in order, even when no row carries them.

    Returns:
        A table whose every column is a string column.
    """
    names = list(columns)
    for row in rows:
        names.extend(key for key in row if key not in names)
    return pa.table(
        {name: pa.array([row.get(name) for row in rows], pa.string()) for name in names}
    )


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def read_json_object(data: bytes) -> Mapping[str, object]:
    """Parses a JSON file that must hold one object.

    Raises:
        RejectedFile: the bytes are not UTF-8 JSON holding an object.
    """
    if not data.strip():
        raise RejectedFile("empty_file", "the file is empty")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise RejectedFile("not_utf8", f"invalid UTF-8 at byte {err.start}") from err
    except json.JSONDecodeError as err:
        detail = f"line {err.lineno} column {err.colno}: {err.msg}"
        raise RejectedFile("unreadable_json", detail) from err
    if not isinstance(document, dict):
        raise RejectedFile("unreadable_json", f"expected an object, got {type(document).__name__}")
    return document


def manifest_row(document: Mapping[str, object]) -> dict[str, str | None]:
    """Flattens a manifest into one row of text values, keeping every key it holds."""
    return {str(key): _as_text(value) for key, value in document.items()}


def fx_rows(document: Mapping[str, object]) -> list[dict[str, str | None]]:
    """Turns an FX file into one row per quoted currency, every value as text.

    Raises:
        RejectedFile: the file has no `rates` object.
    """
    rates = document.get("rates")
    if not isinstance(rates, dict):
        raise RejectedFile("unreadable_json", "the FX file has no `rates` object")
    base = _as_text(document.get("base"))
    rate_date = _as_text(document.get("date"))
    return [
        {"base": base, "date": rate_date, "currency": str(currency), "rate": _as_text(rate)}
        for currency, rate in sorted(rates.items())
    ]
