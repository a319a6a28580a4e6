"""Loads the FX reference rates: one JSON file per day, base EUR.

Reads `fx/YYYY-MM-DD.json` below the landing zone into `raw_fx.rates`, one row per quoted
currency with every value as text, plus `landed_files` and `rejected_files`. Config:
`landing_url`, passed by the runner. No secrets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from ingest.contract import FX_FIELDS, LandingFile
from ingest.helpers import FILE_SHA256, SOURCE_FILE, fx_rows, read_json_object, text_table
from ingest.landed_files import (
    LANDED_FILES_SCHEMA,
    LANDED_FILES_TABLE,
    REJECTED_FILES_SCHEMA,
    REJECTED_FILES_TABLE,
    FileTally,
    declared_tables,
    files_resource,
    landed_file_row,
    text_schema,
)

RATES_TABLE = "rates"
RATES_COLUMNS = (*FX_FIELDS, SOURCE_FILE, FILE_SHA256)
FX_TABLES = {
    RATES_TABLE: text_schema(RATES_COLUMNS),
    LANDED_FILES_TABLE: LANDED_FILES_SCHEMA,
    REJECTED_FILES_TABLE: REJECTED_FILES_SCHEMA,
}


def read_fx_file(landing_file: LandingFile, data: bytes, file_sha256: str) -> Iterator[Any]:
    """Yields one `rates` row per currency of an FX file, and the file's own record."""
    path = landing_file.relative_path
    rows = [
        {**row, SOURCE_FILE: path, FILE_SHA256: file_sha256}
        for row in fx_rows(read_json_object(data))
    ]
    yield dlt.mark.with_table_name(text_table(rows, RATES_COLUMNS), RATES_TABLE)
    yield dlt.mark.with_table_name(
        landed_file_row(path, file_sha256, len(data), len(rows), header=()), LANDED_FILES_TABLE
    )


@dlt.source(name="fx", max_table_nesting=0)
def fx(
    landing_url: str = dlt.config.value, tally: FileTally | None = None
) -> Iterator[DltResource]:
    """The FX rates files.

    Args:
        landing_url: the landing zone, as a local path or fsspec URL.
        tally: counts loaded, rejected and unchanged files for the run's report.

    Yields:
        One resource that reads every new or changed FX file.
    """
    yield declared_tables("fx", FX_TABLES)
    yield files_resource(
        landing_url, "fx", "fx/*.json", read_fx_file, tally if tally is not None else FileTally()
    )
