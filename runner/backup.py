"""Copies of the warehouse taken after each good run, and putting one back.

After a run whose steps all succeeded (an audit failure included: the data is loaded as sent),
the runner checkpoints the DuckDB file (its WAL folded in) and copies it, still under the
warehouse lock, to `<warehouse>.backup/<run id>.duckdb`, keeping the newest few. Restoring
puts a copy back under the lock and removes dlt's local working folder, so that the next
ingest takes dlt's state from the restored warehouse and loads again every file that came
after the copy. Nothing in the landing zone is touched either way.

Environment: TALLY_BACKUP_KEEP, the copies to keep (default 3; 0 turns backups off).
Command line: `python -m runner.backup list|restore [--warehouse FILE] [--backup FILE]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from ingest.errors import TallyError
from runner.errors import UsageError, WarehouseUnusableError
from runner.lock import warehouse_lock

logger = logging.getLogger(__name__)

KEEP_ENV = "TALLY_BACKUP_KEEP"
DEFAULT_KEEP = 3
BACKUP_SUFFIX = ".duckdb"


def backup_dir(warehouse: Path) -> Path:
    """Where the warehouse's copies live: `data/warehouse.duckdb.backup/` beside it."""
    return warehouse.with_name(warehouse.name + ".backup")


def dlt_working_dir(warehouse: Path) -> Path:
    """dlt's local folder for the warehouse (pending packages, local pipeline state)."""
    return warehouse.parent / "dlt"


def copies_to_keep(environ: Mapping[str, str] | None = None) -> int:
    """TALLY_BACKUP_KEEP as a count.

    Raises:
        UsageError: the variable is not a whole number of 0 or more.
    """
    value = (os.environ if environ is None else environ).get(KEEP_ENV, "").strip()
    if not value:
        return DEFAULT_KEEP
    if not value.isdigit():
        raise UsageError(KEEP_ENV, value, "is not a whole number; 0 turns backups off")
    return int(value)


def list_backups(warehouse: Path) -> list[Path]:
    """The warehouse's copies, oldest first (names start with the run's UTC start time)."""
    folder = backup_dir(warehouse)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.name.endswith(BACKUP_SUFFIX))


def back_up(warehouse: Path, run_id: str, keep: int) -> Path | None:
    """Copy the warehouse to its backup folder, then drop the copies beyond `keep`.

    The caller holds the warehouse lock and no open connection to the file.

    Returns:
        The new copy, or None when `keep` is 0 or there is no warehouse yet.

    Raises:
        WarehouseUnusableError: the warehouse could not be checkpointed or copied.
    """
    if keep == 0 or not warehouse.is_file():
        return None
    started = time.perf_counter()
    folder = backup_dir(warehouse)
    target = folder / f"{run_id}{BACKUP_SUFFIX}"
    partial = target.with_name(target.name + ".partial")
    try:
        with duckdb.connect(str(warehouse)) as connection:
            connection.execute("checkpoint")  # the copy must not need the WAL
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(warehouse, partial)
        partial.replace(target)  # a crash mid-copy leaves a .partial, never a bad backup
    except (OSError, duckdb.Error) as err:
        partial.unlink(missing_ok=True)
        raise WarehouseUnusableError(str(warehouse), f"backup failed: {err}") from err
    for old in list_backups(warehouse)[:-keep]:
        old.unlink()
    logger.info(
        "warehouse backed up file=%s mib=%.1f seconds=%.2f kept=%d",
        target,
        target.stat().st_size / 2**20,
        time.perf_counter() - started,
        min(keep, len(list_backups(warehouse))),
    )
    return target


def restore(warehouse: Path, backup: Path | None = None) -> Path:
    """Put a copy back in place of the warehouse (the newest copy unless one is named).

    Returns:
        The copy restored.

    Raises:
        UsageError: there is no copy, or the named one does not exist.
        WarehouseLockedError: a run holds the warehouse.
        WarehouseUnusableError: the copy does not open, or could not be put in place.
    """
    chosen = backup or next(reversed(list_backups(warehouse)), None)
    if chosen is None or not chosen.is_file():
        raise UsageError(
            "--backup",
            str(chosen or backup_dir(warehouse)),
            "holds no warehouse copy; rebuild from the landing zone with `python run.py` "
            "on a new TALLY_WAREHOUSE instead",
        )
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
    lock_file = warehouse.with_name(warehouse.name + ".lock")
    with warehouse_lock(lock_file, run_id="restore", started_at=started_at):
        incoming = warehouse.with_name(warehouse.name + ".restoring")
        try:
            shutil.copyfile(chosen, incoming)
            with duckdb.connect(str(incoming), read_only=True) as connection:
                connection.execute("select count(*) from duckdb_tables()").fetchone()
            warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)
            incoming.replace(warehouse)
        except (OSError, duckdb.Error) as err:
            incoming.unlink(missing_ok=True)
            raise WarehouseUnusableError(str(chosen), f"restore failed: {err}") from err
        # dlt's local state would name files loaded after the copy as loaded: drop it, so
        # dlt reads its state from the restored warehouse and loads those files again.
        shutil.rmtree(dlt_working_dir(warehouse), ignore_errors=True)
    logger.info("warehouse restored file=%s from=%s", warehouse, chosen)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m runner.backup list|restore`: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m runner.backup", description=__doc__)
    parser.add_argument("action", choices=("list", "restore"))
    parser.add_argument("--warehouse", metavar="FILE", help="DuckDB file (env TALLY_WAREHOUSE)")
    parser.add_argument("--backup", metavar="FILE", help="the copy to restore (default newest)")
    options = parser.parse_args(argv)
    warehouse = Path(
        options.warehouse or os.environ.get("TALLY_WAREHOUSE") or "data/warehouse.duckdb"
    ).resolve()
    try:
        if options.action == "list":
            for path in list_backups(warehouse):
                sys.stdout.write(f"{path}\n")
            return 0
        chosen = restore(warehouse, Path(options.backup).resolve() if options.backup else None)
    except TallyError as err:
        sys.stderr.write(f"tally: {err}\n")
        return 2 if isinstance(err, UsageError) else 3
    sys.stdout.write(f"restored {warehouse} from {chosen}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
