"""One run per warehouse: an exclusive `fcntl.flock` on a lock file beside the DuckDB file.

The lock file holds the holder's pid, host, run id and start time as JSON, so a second run can
say who it is waiting for. The kernel drops a flock when its process exits, crash included, so
a stale file never blocks anyone; only the lock, not the file's presence, means "held".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from runner.errors import WarehouseLockedError, WarehouseUnusableError

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def warehouse_lock(lock_file: Path, *, run_id: str, started_at: str) -> Iterator[None]:
    """Hold the warehouse lock for the duration of the block.

    Args:
        lock_file: the lock file, created if missing (its folder too).
        run_id: written into the file for whoever finds it locked.
        started_at: the run's start time (ISO 8601), written likewise.

    Raises:
        WarehouseLockedError: another process holds the lock; the error carries its details.
    """
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        # Open without truncating: the holder's details must survive a failed attempt to lock.
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise WarehouseUnusableError(str(lock_file.parent), str(err)) from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise WarehouseLockedError(str(lock_file), _read_holder(fd)) from err
        holder = {
            "pid": str(os.getpid()),
            "host": socket.gethostname(),
            "run_id": run_id,
            "started_at": started_at,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        logger.debug("lock acquired file=%s", lock_file)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            logger.debug("lock released file=%s", lock_file)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict[str, str]:
    """The holder's details, or {} if it has not written them yet (or wrote garbage)."""
    raw = os.pread(fd, 4096, 0)
    try:
        holder = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(holder, dict):
        return {}
    return {str(key): str(value) for key, value in holder.items()}
