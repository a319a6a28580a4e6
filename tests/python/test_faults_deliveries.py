"""Bad deliveries: each case gets its outcome (accepted, quarantined with a reason, or the day
marked incomplete), and for every file rows in the landing zone = rows in raw = rows in staging
+ rows in quarantine.

One clean demo landing zone carries every case, each on its own file and day, so two runs
cover them all: the first over the zone as first delivered, the second after the re-sent,
repeated and late files arrive.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from faults_helpers import (
    folder_digest,
    make_clean_landing,
    raw_duplicates,
    run_tally,
    tally_env,
)

pytestmark = pytest.mark.slow

PAYMENTS = "payments/{day}/balance_transactions.csv"
BANK = "bank/{day}/statement.csv"
LEDGER = "ledger/{day}/journal_lines.csv"
INTEGER_SUMS = {"payments": {"amount_minor_sum": "amount_minor"}, "ledger": {
    "debit_minor_sum": "debit_minor", "credit_minor_sum": "credit_minor"}}  # fmt: skip

# The file each case is played on (each day and system is used once).
SENT_TWICE = PAYMENTS.format(day="2025-10-02")
RESENT_CORRECTED = PAYMENTS.format(day="2025-10-03")
LATE = LEDGER.format(day="2025-10-06")
EMPTY = BANK.format(day="2025-10-07")
HEADER_ONLY = LEDGER.format(day="2025-10-04")
BOM_CRLF = PAYMENTS.format(day="2025-10-05")
WRONG_ENCODING = LEDGER.format(day="2025-10-05")
TRUNCATED = BANK.format(day="2025-10-02")
NO_MANIFEST = PAYMENTS.format(day="2025-10-07")
EXTRA_COLUMN = LEDGER.format(day="2025-10-07")
MISSING_COLUMN = BANK.format(day="2025-10-08")
MALFORMED = PAYMENTS.format(day="2025-10-08")
MALFORMED_KINDS = (
    "field_count",
    "invalid_amount",
    "invalid_timestamp",
    "missing_key",
    "invalid_currency",
)


def _manifest_path(landing: Path, relative: str) -> Path:
    return (landing / relative).parent / "_manifest.json"


def _records(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig").replace("\r\n", "\n")
    return list(csv.DictReader(io.StringIO(text)))


def _restate_manifest(landing: Path, relative: str) -> None:
    """Make the manifest describe the file as it now is (count, sha256, integer sums)."""
    data = (landing / relative).read_bytes()
    manifest_file = _manifest_path(landing, relative)
    manifest = json.loads(manifest_file.read_text())
    records = _records(data)
    manifest["record_count"] = len(records)
    manifest["sha256"] = hashlib.sha256(data).hexdigest()
    # Like the generator: sums skip non-integers, and rows whose field count is wrong.
    whole = [record for record in records if None not in record and None not in record.values()]
    for total, column in INTEGER_SUMS.get(relative.split("/", maxsplit=1)[0], {}).items():
        values = [record.get(column) or "" for record in whole]
        manifest[total] = sum(int(value) for value in values if value.lstrip("-").isdigit())
    manifest_file.write_text(json.dumps(manifest, indent=2))


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue())


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    return rows[0], rows[1:]


def _malformed_rows(header: list[str], template: list[str]) -> list[list[str]]:
    """One corrupted copy of `template` per malformed kind, each under a fresh id."""
    column = {name: index for index, name in enumerate(header)}
    rows = []
    for number, kind in enumerate(MALFORMED_KINDS, start=1):
        row = list(template)
        row[column["transaction_id"]] = f"txn_bad{number:06d}"
        if kind == "field_count":
            row = row[:-2]
        elif kind == "invalid_amount":
            row[column["amount_minor"]] = "12,50"
        elif kind == "invalid_timestamp":
            row[column["created_at"]] = "yesterday noon"
        elif kind == "missing_key":
            row[column["transaction_id"]] = ""
        else:
            row[column["currency"]] = "XXQ"
        rows.append(row)
    return rows


def _first_delivery(landing: Path, held_back: Path) -> None:
    """Turn the clean zone into the first, faulty delivery (the late file is held back)."""
    resent = landing / RESENT_CORRECTED
    shutil.copy(resent, held_back / "corrected.csv")
    shutil.copy(_manifest_path(landing, RESENT_CORRECTED), held_back / "corrected_manifest.json")
    header, rows = _read_csv(resent)
    # The wrong version overstates one charge (amount and net alike); the re-send corrects it.
    for column in ("amount_minor", "net_minor"):
        index = header.index(column)
        rows[0][index] = str(int(rows[0][index]) + 100)
    _write_csv(resent, header, rows)
    _restate_manifest(landing, RESENT_CORRECTED)

    shutil.move(landing / LATE, held_back / "late.csv")
    shutil.move(_manifest_path(landing, LATE), held_back / "late_manifest.json")

    (landing / EMPTY).write_bytes(b"")

    header, _ = _read_csv(landing / HEADER_ONLY)
    _write_csv(landing / HEADER_ONLY, header, [])
    _restate_manifest(landing, HEADER_ONLY)

    text = (landing / BOM_CRLF).read_text()
    (landing / BOM_CRLF).write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    _restate_manifest(landing, BOM_CRLF)

    # An export in Windows-1252: the accented description is not valid UTF-8.
    header, rows = _read_csv(landing / WRONG_ENCODING)
    rows[0][header.index("description")] = "Café crème, Zürich"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    (landing / WRONG_ENCODING).write_bytes(buffer.getvalue().encode("cp1252"))

    header, rows = _read_csv(landing / TRUNCATED)
    assert len(rows) >= 2, "the truncated case needs a statement of two lines or more"
    _write_csv(landing / TRUNCATED, header, rows[:-1])  # the manifest still counts them all

    _manifest_path(landing, NO_MANIFEST).unlink()

    header, rows = _read_csv(landing / EXTRA_COLUMN)
    _write_csv(landing / EXTRA_COLUMN, [*header, "memo"], [[*row, "n/a"] for row in rows])
    _restate_manifest(landing, EXTRA_COLUMN)

    header, rows = _read_csv(landing / MISSING_COLUMN)
    dropped = header.index("counterparty")
    _write_csv(
        landing / MISSING_COLUMN,
        [name for index, name in enumerate(header) if index != dropped],
        [[value for index, value in enumerate(row) if index != dropped] for row in rows],
    )
    _restate_manifest(landing, MISSING_COLUMN)

    header, rows = _read_csv(landing / MALFORMED)
    _write_csv(landing / MALFORMED, header, [*rows, *_malformed_rows(header, rows[0])])
    _restate_manifest(landing, MALFORMED)


def _second_delivery(landing: Path, held_back: Path) -> None:
    """The corrected re-send, the same file sent again, and the late file arriving."""
    shutil.copy(held_back / "corrected.csv", landing / RESENT_CORRECTED)
    shutil.copy(held_back / "corrected_manifest.json", _manifest_path(landing, RESENT_CORRECTED))
    again = landing / SENT_TWICE
    again.write_bytes(again.read_bytes())  # same bytes, delivered anew (new mtime)
    shutil.copy(held_back / "late.csv", landing / LATE)
    shutil.copy(held_back / "late_manifest.json", _manifest_path(landing, LATE))


@dataclass
class Deliveries:
    landing: Path
    warehouse: Path
    first_run: dict[str, Any]
    second_run: dict[str, Any]
    landing_records: dict[str, int]
    exit_codes: tuple[int, int]
    digest_before: str
    digest_after: str


def _snapshot(warehouse: Path) -> dict[str, Any]:
    """Per file and per day, what the warehouse concluded."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        files = connection.execute(
            "select source_file, count_loaded_rows, count_staged_rows, count_quarantined_rows,"
            " has_manifest, is_loaded, is_matching_manifest"
            " from intermediate.int_files_checked_against_manifests"
        ).fetchall()
        rejected = connection.execute(
            "select source_file, reason from quarantine.quarantine_files"
        ).fetchall()
        quarantined = connection.execute(
            "select source_file, reason, count(*) from quarantine.quarantine_rows group by 1, 2"
        ).fetchall()
        payments = connection.execute(
            "select source_file, sum(amount_minor) from finance.fct_payments group by 1"
        ).fetchall()
        missing_counterparty = connection.execute(
            "select count(*) from staging.stg_bank__statement_lines"
            " where source_file = ? and counterparty is null",
            [MISSING_COLUMN],
        ).fetchone()
        days = connection.execute(
            "select cast(business_date as varchar), is_complete, ledger_revenue_total_eur"
            " from finance.fct_daily_close"
        ).fetchall()
        raw = {}
        for table in (
            "raw_payments.balance_transactions",
            "raw_bank.statement_lines",
            "raw_ledger.journal_lines",
        ):
            schema = table.split(".")[0]
            raw.update(
                dict(
                    connection.execute(
                        f"with latest as (select _source_file, max(_dlt_load_id) as load_id"
                        f" from {table} where _dlt_load_id in (select load_id from"
                        f" {schema}._dlt_loads where status = 0) group by 1)"
                        f" select t._source_file, count(*) from {table} as t inner join latest"
                        " on t._source_file = latest._source_file"
                        " and t._dlt_load_id = latest.load_id group by 1"
                    ).fetchall()
                )
            )
    return {
        "files": {row[0]: row[1:] for row in files},
        "rejected": dict(rejected),
        "quarantined": {(row[0], row[1]): row[2] for row in quarantined},
        "days": {row[0]: (row[1], row[2]) for row in days},
        "raw": raw,
        "payments_sum": dict(payments),
        "missing_counterparty": missing_counterparty[0] if missing_counterparty else 0,
    }


def _landing_records(landing: Path) -> dict[str, int]:
    counts = {}
    for path in landing.glob("*/*/*.csv"):
        try:
            records = _records(path.read_bytes())
        except UnicodeDecodeError:
            continue  # not readable as text: nothing of it can reach raw
        counts[path.relative_to(landing).as_posix()] = len(records)
    return counts


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deliveries]:
    root = tmp_path_factory.mktemp("deliveries")
    landing = make_clean_landing(root / "landing")
    held_back = root / "held_back"
    held_back.mkdir()
    _first_delivery(landing, held_back)
    env = tally_env(root)
    warehouse = root / "wh" / "wh.duckdb"
    digest_before = folder_digest(landing)
    first = run_tally(["ingest"], env), run_tally(["build"], env)
    digest_after = folder_digest(landing)
    first_run = _snapshot(warehouse)
    _second_delivery(landing, held_back)
    second = run_tally(["ingest"], env), run_tally(["build"], env)
    for done in (*first, *second):
        assert done.returncode in {0, 4}, done.stderr
    yield Deliveries(
        landing,
        warehouse,
        first_run,
        _snapshot(warehouse),
        _landing_records(landing),
        (first[1].returncode, second[1].returncode),
        digest_before,
        digest_after,
    )
    shutil.rmtree(root, ignore_errors=True)


def _landing_sum(landing: Path, relative: str) -> int:
    return sum(
        int(record["amount_minor"]) for record in _records((landing / relative).read_bytes())
    )


def test_every_readable_file_adds_up_landing_raw_staging_and_quarantine(
    deliveries: Deliveries,
) -> None:
    final = deliveries.second_run
    for path, records in deliveries.landing_records.items():
        if path in final["rejected"]:
            assert final["raw"].get(path, 0) == 0, path
            continue
        loaded, staged, quarantined, *_ = final["files"][path]
        assert records == final["raw"].get(path, 0) == loaded == staged + quarantined, path
    assert set(raw_duplicates(deliveries.warehouse).values()) == {0}


def test_the_runs_leave_the_landing_zone_untouched(deliveries: Deliveries) -> None:
    assert deliveries.digest_before == deliveries.digest_after
    assert deliveries.exit_codes == (4, 4), "contradicted files fail an audit rule: exit 4"


def test_the_same_file_delivered_twice_is_loaded_once(deliveries: Deliveries) -> None:
    records = deliveries.landing_records[SENT_TWICE]
    assert deliveries.second_run["files"][SENT_TWICE] == (records, records, 0, True, True, True)
    with duckdb.connect(str(deliveries.warehouse), read_only=True) as connection:
        loads = connection.execute(
            "select count(distinct _dlt_load_id) from raw_payments.balance_transactions"
            " where _source_file = ?",
            [SENT_TWICE],
        ).fetchone()
    assert loads == (1,), "the repeated delivery added no load"


def test_a_re_sent_corrected_file_replaces_the_first_version(deliveries: Deliveries) -> None:
    landing_sum = _landing_sum(deliveries.landing, RESENT_CORRECTED)
    assert deliveries.first_run["payments_sum"][RESENT_CORRECTED] == landing_sum + 100
    assert deliveries.second_run["payments_sum"][RESENT_CORRECTED] == landing_sum
    assert deliveries.second_run["files"][RESENT_CORRECTED][-1] is True


def test_a_late_file_reaches_the_close_of_its_day_on_the_next_run(deliveries: Deliveries) -> None:
    day = "2025-10-06"
    assert deliveries.first_run["days"][day] == (False, 0)
    is_complete, ledger_revenue = deliveries.second_run["days"][day]
    assert is_complete is True
    assert ledger_revenue > 0


def test_an_empty_file_is_rejected_and_its_day_incomplete(deliveries: Deliveries) -> None:
    assert deliveries.second_run["rejected"][EMPTY] == "empty_file"
    assert deliveries.second_run["days"]["2025-10-07"][0] is False


def test_a_header_only_file_with_its_manifest_is_an_empty_complete_day(
    deliveries: Deliveries,
) -> None:
    assert deliveries.second_run["files"][HEADER_ONLY] == (0, 0, 0, True, True, True)
    assert deliveries.second_run["days"]["2025-10-04"][0] is True


def test_a_bom_and_crlf_file_is_accepted_whole(deliveries: Deliveries) -> None:
    records = deliveries.landing_records[BOM_CRLF]
    assert deliveries.second_run["files"][BOM_CRLF] == (records, records, 0, True, True, True)
    assert deliveries.second_run["payments_sum"][BOM_CRLF] == _landing_sum(
        deliveries.landing, BOM_CRLF
    )


def test_a_file_in_the_wrong_encoding_is_rejected_and_its_day_incomplete(
    deliveries: Deliveries,
) -> None:
    assert deliveries.second_run["rejected"][WRONG_ENCODING] == "not_utf8"
    assert deliveries.second_run["days"]["2025-10-05"][0] is False


def test_a_truncated_file_its_manifest_contradicts_marks_the_day_incomplete(
    deliveries: Deliveries,
) -> None:
    records = deliveries.landing_records[TRUNCATED]
    loaded, staged, quarantined, has_manifest, is_loaded, matches = deliveries.second_run["files"][
        TRUNCATED
    ]
    assert (loaded, staged, quarantined) == (records, records, 0), "what came is kept"
    assert (has_manifest, is_loaded, matches) == (True, True, False)
    assert deliveries.second_run["days"]["2025-10-02"][0] is False


def test_a_file_without_manifest_is_loaded_but_its_day_incomplete(deliveries: Deliveries) -> None:
    records = deliveries.landing_records[NO_MANIFEST]
    assert deliveries.second_run["files"][NO_MANIFEST] == (
        records, records, 0, False, True, False
    )  # fmt: skip
    assert deliveries.second_run["days"]["2025-10-07"][0] is False


def test_an_extra_column_is_kept_in_raw_and_the_file_accepted(deliveries: Deliveries) -> None:
    records = deliveries.landing_records[EXTRA_COLUMN]
    assert deliveries.second_run["files"][EXTRA_COLUMN] == (records, records, 0, True, True, True)
    with duckdb.connect(str(deliveries.warehouse), read_only=True) as connection:
        memo = connection.execute(
            "select count(*) from raw_ledger.journal_lines where memo = 'n/a'"
        ).fetchone()
    assert memo == (records,)


def test_a_missing_column_is_accepted_as_null(deliveries: Deliveries) -> None:
    records = deliveries.landing_records[MISSING_COLUMN]
    assert deliveries.second_run["files"][MISSING_COLUMN] == (
        records, records, 0, True, True, True
    )  # fmt: skip
    assert deliveries.second_run["missing_counterparty"] == records


def test_each_kind_of_malformed_row_is_quarantined_with_its_reason(deliveries: Deliveries) -> None:
    final = deliveries.second_run
    quarantined = {reason for (path, reason) in final["quarantined"] if path == MALFORMED}
    assert quarantined == set(MALFORMED_KINDS)
    assert all(final["quarantined"][(MALFORMED, kind)] == 1 for kind in MALFORMED_KINDS)
    assert final["files"][MALFORMED][-1] is True, "the file still matches its manifest"
    assert final["days"]["2025-10-08"][0] is True, "quarantined rows leave the day complete"
