"""The dlt resources shared by every system that delivers daily CSV files with manifests.

Payments, bank and ledger deliver alike (`<system>/YYYY-MM-DD/<file>.csv` + `_manifest.json`),
so their sources differ only in their `DeliverySpec`. Files are listed with dlt's `filesystem`
resource and read by the transformer below, which remembers each file's size, modification
time and sha256 in the resource state: a file is read once, a new file is picked up on the next
run whatever its timestamp, and a file re-sent with new content is loaded again under a new load
id, told apart by its sha256.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource
from dlt.sources.filesystem import filesystem

from ingest.contract import MANIFEST_FIELDS, DeliverySpec, LandingFile, SystemName, classify
from ingest.helpers import (
    FILE_SHA256,
    MALFORMED_RECORD,
    SOURCE_FILE,
    SOURCE_LINE,
    RejectedFile,
    manifest_row,
    read_csv_as_text,
    read_json_object,
    sha256_hex,
    text_table,
    with_lineage,
)

logger = logging.getLogger(__name__)

MANIFESTS_TABLE = "manifests"
LANDED_FILES_TABLE = "landed_files"
REJECTED_FILES_TABLE = "rejected_files"

LANDED_FILES_SCHEMA = pa.schema(
    [
        (SOURCE_FILE, pa.string()),
        (FILE_SHA256, pa.string()),
        ("size_bytes", pa.int64()),
        ("record_count", pa.int64()),
        ("columns", pa.string()),
    ]
)
REJECTED_FILES_SCHEMA = pa.schema(
    [
        (SOURCE_FILE, pa.string()),
        (FILE_SHA256, pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)


@dataclass
class FileTally:
    """What one run did with the files of one system; the runner reports it."""

    loaded: int = 0
    rejected: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class FileFingerprint:
    """What the state remembers of a file: enough to skip it without reading it again."""

    size: int
    modified: str
    sha256: str

    def as_state(self) -> list[Any]:
        return [self.size, self.modified, self.sha256]

    @classmethod
    def from_state(cls, value: list[Any]) -> FileFingerprint:
        return cls(size=int(value[0]), modified=str(value[1]), sha256=str(value[2]))


def text_schema(columns: Sequence[str]) -> pa.Schema:
    return pa.schema([(name, pa.string()) for name in columns])


def delivery_tables(spec: DeliverySpec) -> dict[str, pa.Schema]:
    """The raw tables of a delivering system, with the columns they always have."""
    data = text_schema(spec.columns)
    for name, data_type in ((SOURCE_LINE, pa.int64()), (MALFORMED_RECORD, pa.string())):
        data = data.append(pa.field(name, data_type))
    return {
        spec.table_name: data.append(pa.field(SOURCE_FILE, pa.string())).append(
            pa.field(FILE_SHA256, pa.string())
        ),
        MANIFESTS_TABLE: text_schema(
            [*MANIFEST_FIELDS, *spec.manifest_totals, SOURCE_FILE, FILE_SHA256]
        ),
        LANDED_FILES_TABLE: LANDED_FILES_SCHEMA,
        REJECTED_FILES_TABLE: REJECTED_FILES_SCHEMA,
    }


def _one_row(schema: pa.Schema, **values: Any) -> pa.Table:
    return pa.Table.from_pylist([values], schema=schema)


def rejected_row(relative_path: str, file_sha256: str, rejection: RejectedFile) -> pa.Table:
    return _one_row(
        REJECTED_FILES_SCHEMA,
        **{SOURCE_FILE: relative_path, FILE_SHA256: file_sha256},
        reason=rejection.reason,
        detail=rejection.detail,
    )


def declared_tables(system: SystemName, tables: Mapping[str, pa.Schema]) -> DltResource:
    """Creates every raw table of a system on its first load, before any file fills it.

    Models can then read `rejected_files`, say, on a warehouse where no file was ever rejected.
    Empty Arrow tables make dlt create the tables and load nothing.

    Args:
        system: the upstream system.
        tables: each table's name and the columns it always has.

    Returns:
        A resource that yields the empty tables once per warehouse.
    """

    @dlt.resource(name=f"{system}_tables", write_disposition="append")
    def declare() -> Iterator[Any]:
        state = dlt.current.resource_state()
        if state.get("declared") == sorted(tables):
            return
        for table_name, schema in tables.items():
            yield dlt.mark.with_table_name(schema.empty_table(), table_name)
        state["declared"] = sorted(tables)

    return declare()


class SeenFiles:
    """The resource state's record of files already loaded, keyed by their relative path."""

    def __init__(self, state: dict[str, Any]) -> None:
        self._files: dict[str, list[Any]] = state.setdefault("files", {})

    def is_unchanged(self, file: FileItemDict) -> bool:
        """True when size and modification time match what was loaded: no need to read it."""
        seen = self._files.get(file["relative_path"])
        if seen is None:
            return False
        fingerprint = FileFingerprint.from_state(seen)
        return fingerprint.size == file["size_in_bytes"] and fingerprint.modified == str(
            file["modification_date"]
        )

    def has_content(self, relative_path: str, file_sha256: str) -> bool:
        seen = self._files.get(relative_path)
        return seen is not None and FileFingerprint.from_state(seen).sha256 == file_sha256

    def remember(self, file: FileItemDict, file_sha256: str) -> None:
        fingerprint = FileFingerprint(
            size=int(file["size_in_bytes"]),
            modified=str(file["modification_date"]),
            sha256=file_sha256,
        )
        self._files[file["relative_path"]] = fingerprint.as_state()


def landed_file_row(
    relative_path: str, file_sha256: str, size: int, record_count: int, header: Sequence[str]
) -> pa.Table:
    """The `landed_files` row of a file that was read; `header` is empty for JSON files."""
    return _one_row(
        LANDED_FILES_SCHEMA,
        **{SOURCE_FILE: relative_path, FILE_SHA256: file_sha256},
        size_bytes=size,
        record_count=record_count,
        columns=",".join(header) if header else None,
    )


def read_delivery_file(
    spec: DeliverySpec, landing_file: LandingFile, data: bytes, file_sha256: str
) -> Iterator[Any]:
    """Yields the rows a delivered CSV or manifest contributes, each marked with its table."""
    path = landing_file.relative_path
    if landing_file.kind == "manifest":
        row = {**manifest_row(read_json_object(data)), SOURCE_FILE: path, FILE_SHA256: file_sha256}
        columns = delivery_tables(spec)[MANIFESTS_TABLE].names
        yield dlt.mark.with_table_name(text_table([row], columns), MANIFESTS_TABLE)
        return
    parsed = read_csv_as_text(data, spec.columns, spec.key_column)
    if parsed.record_count:
        yield dlt.mark.with_table_name(with_lineage(parsed, path, file_sha256), spec.table_name)
    yield dlt.mark.with_table_name(
        landed_file_row(path, file_sha256, len(data), parsed.record_count, parsed.header),
        LANDED_FILES_TABLE,
    )


FileReader = Callable[[LandingFile, bytes, str], Iterator[Any]]
"""Turns one landing file (its classification, bytes and sha256) into marked raw rows."""


def new_files_reader(system: SystemName, read_file: FileReader, tally: FileTally) -> Any:
    """Builds the transformer that reads a system's new or changed files into raw tables.

    Args:
        system: the upstream system; listed files of other systems are passed over.
        read_file: yields the raw rows of one file; raises `RejectedFile` for unreadable ones.
        tally: counts what the run did with the files, for the run's report.

    Returns:
        A dlt transformer taking pages of `FileItemDict` from the `filesystem` resource.
    """

    @dlt.transformer(name=f"{system}_files", write_disposition="append")
    def read_files(pages: list[FileItemDict]) -> Iterator[Any]:
        seen = SeenFiles(dlt.current.resource_state())
        for file in sorted(pages, key=lambda item: item["relative_path"]):
            landing_file = classify(file["relative_path"])
            if landing_file.system != system:
                # Outside-the-contract files were already reported by the landing inventory.
                continue
            if seen.is_unchanged(file):
                tally.unchanged += 1
                continue
            data = file.read_bytes()
            file_sha256 = sha256_hex(data)
            if seen.has_content(landing_file.relative_path, file_sha256):
                # Touched but not changed: the same bytes are already in raw.
                seen.remember(file, file_sha256)
                tally.unchanged += 1
                continue
            try:
                yield from read_file(landing_file, data, file_sha256)
            except RejectedFile as rejection:
                logger.warning(
                    "rejected file=%s reason=%s detail=%s",
                    landing_file.relative_path,
                    rejection.reason,
                    rejection.detail,
                )
                tally.rejected += 1
                yield dlt.mark.with_table_name(
                    rejected_row(landing_file.relative_path, file_sha256, rejection),
                    REJECTED_FILES_TABLE,
                )
            else:
                tally.loaded += 1
            seen.remember(file, file_sha256)

    return read_files


def files_resource(
    landing_url: str, system: SystemName, file_glob: str, read_file: FileReader, tally: FileTally
) -> DltResource:
    """Lists files below the landing zone with dlt's `filesystem` and reads the new ones.

    Args:
        landing_url: the landing zone as a local path or a URL that fsspec understands.
        system: the upstream system the files belong to.
        file_glob: which files to list, relative to the landing zone.
        read_file: yields the raw rows of one file.
        tally: counts what the run did with the files.

    Returns:
        The resource to put in the system's source.
    """
    listing = filesystem(bucket_url=landing_url, file_glob=file_glob).with_name(f"{system}_listing")
    return listing | new_files_reader(system, read_file, tally)


def delivery_source(spec: DeliverySpec) -> Callable[..., DltSource]:
    """Builds the dlt source of a system that delivers daily files, named after the system.

    Args:
        spec: what the system delivers.

    Returns:
        A dlt source function taking `landing_url` and an optional `FileTally`.
    """

    @dlt.source(name=spec.system, max_table_nesting=0, section=spec.system)
    def deliveries(
        landing_url: str = dlt.config.value, tally: FileTally | None = None
    ) -> Iterator[DltResource]:
        yield declared_tables(spec.system, delivery_tables(spec))
        yield files_resource(
            landing_url,
            spec.system,
            f"{spec.system}/*/*",
            partial(read_delivery_file, spec),
            tally if tally is not None else FileTally(),
        )

    return deliveries
