"""Whether the docs site in the target path still describes the project and the warehouse.

`dbt docs generate` compiles every node again and reads the whole catalog: on a nightly run of
one new day it costs more than the day's data. What the site shows changes only with the
project's files (models, descriptions, tests, macros, seeds) and with the shape of the
warehouse (relations, columns, their types and comments); DuckDB's catalog carries no row
counts. The fingerprint of both is kept beside the site, and the nightly generates the docs
only when it differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from runner.docs_server import SITE_FILES

FINGERPRINT_FILE = "docs_fingerprint.txt"
# Everything dbt reads to document the project (dbt_project.yml's paths; tests/python is not dbt's).
PROJECT_FOLDERS = ("models", "macros", "seeds", "snapshots", "analyses", "tests", "docs/site")
PROJECT_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".md", ".csv"})


def docs_fingerprint(
    project_dir: Path, target_name: str | None, catalog_shape: Iterable[Sequence[Any]]
) -> str:
    """A hash of the project's dbt files, the target's name and the warehouse's shape.

    Args:
        project_dir: the dbt project (where dbt_project.yml is).
        target_name: the dbt target the docs are generated for (None: the profile's default).
        catalog_shape: rows describing every relation and column, in a stable order.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(["target", target_name]).encode())
    for path in _project_files(project_dir):
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for row in catalog_shape:
        digest.update(json.dumps(list(row), default=str).encode() + b"\n")
    return digest.hexdigest()


def docs_are_current(target_path: Path, fingerprint: str) -> bool:
    """True if the site's files exist and were generated for `fingerprint`."""
    if not all((target_path / name).is_file() for name in SITE_FILES):
        return False
    try:
        return (target_path / FINGERPRINT_FILE).read_text(encoding="utf-8").strip() == fingerprint
    except FileNotFoundError:
        return False


def remember_docs(target_path: Path, fingerprint: str) -> None:
    """Record that the site in `target_path` was generated for `fingerprint`."""
    target_path.mkdir(parents=True, exist_ok=True)
    (target_path / FINGERPRINT_FILE).write_text(fingerprint + "\n", encoding="utf-8")


def forget_docs(target_path: Path) -> None:
    """Drop the record, so the next run generates the docs whatever the fingerprint."""
    (target_path / FINGERPRINT_FILE).unlink(missing_ok=True)


def _project_files(project_dir: Path) -> list[Path]:
    files = [project_dir / "dbt_project.yml"]
    for folder in PROJECT_FOLDERS:
        root = project_dir / folder
        if root.is_dir():
            files += [
                path
                for path in root.rglob("*")
                if path.suffix in PROJECT_SUFFIXES and path.is_file()
            ]
    return sorted(path for path in files if path.is_file())
