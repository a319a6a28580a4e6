"""DuckDB's resource limits, read from the same environment variables as `profiles.yml`.

dbt's connections get them from `profiles.yml`; dlt's DuckDB destination gets them from here,
so a memory cap set once holds for the loads as well as the build. Environment variables read:
`TALLY_MEMORY_LIMIT` (default `4GB`), `TALLY_DUCKDB_THREADS` (default 2) and `TALLY_TEMP_DIR`
(default `data/tmp`, relative to the working folder, where DuckDB spills what does not fit).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import SourceConfigError

MEMORY_LIMIT_ENV = "TALLY_MEMORY_LIMIT"
THREADS_ENV = "TALLY_DUCKDB_THREADS"
TEMP_DIR_ENV = "TALLY_TEMP_DIR"

# Keep these equal to the defaults in profiles.yml.
DEFAULT_MEMORY_LIMIT = "4GB"
DEFAULT_THREADS = 2
DEFAULT_TEMP_DIR = "data/tmp"

# DuckDB's size units: decimal (`GB` is 1000^3) and binary (`GiB` is 1024^3), any case.
_MEMORY_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_MEMORY_PATTERN = re.compile(
    rf"(?P<number>\d+(\.\d+)?)\s*(?P<unit>{'|'.join(_MEMORY_UNITS)})", re.IGNORECASE
)


def _memory_limit_bytes(memory_limit: str) -> int:
    """A `memory_limit` in bytes, as DuckDB reads it.

    Raises:
        SourceConfigError: DuckDB would refuse the value.
    """
    match = _MEMORY_PATTERN.fullmatch(memory_limit)
    if match is None:
        raise SourceConfigError(
            MEMORY_LIMIT_ENV, f"is {memory_limit!r}; set a size such as `2GB` or `1536MiB`"
        )
    return int(float(match["number"]) * _MEMORY_UNITS[match["unit"].lower()])


@dataclass(frozen=True)
class DuckDBResources:
    """The limits every DuckDB connection of a run is opened with.

    Attributes:
        memory_limit: DuckDB's `memory_limit`, such as `2GB` or `1.5GiB`.
        threads: DuckDB's worker threads.
        temp_directory: where DuckDB spills intermediate results beyond the memory limit.
    """

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int = DEFAULT_THREADS
    temp_directory: Path = Path(DEFAULT_TEMP_DIR)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> DuckDBResources:
        """Reads the limits from `TALLY_*` variables, with profiles.yml's defaults.

        Raises:
            SourceConfigError: a variable holds a value DuckDB would refuse.
        """
        memory_limit = environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT).strip()
        _memory_limit_bytes(memory_limit)
        threads_text = environ.get(THREADS_ENV, str(DEFAULT_THREADS)).strip()
        if not threads_text.isdigit() or int(threads_text) < 1:
            raise SourceConfigError(
                THREADS_ENV, f"is {threads_text!r}; set a whole number of threads, at least 1"
            )
        temp_directory = Path(environ.get(TEMP_DIR_ENV, DEFAULT_TEMP_DIR))
        return cls(memory_limit, int(threads_text), temp_directory)

    @property
    def memory_limit_bytes(self) -> int:
        """`memory_limit` in bytes, read as DuckDB reads it: `GB` is 1000^3, `GiB` 1024^3."""
        return _memory_limit_bytes(self.memory_limit)

    def settings(self) -> dict[str, str | int]:
        """The limits as DuckDB configuration options (`SET <name> = <value>`)."""
        return {
            "memory_limit": self.memory_limit,
            "threads": self.threads,
            "temp_directory": str(self.temp_directory),
        }
