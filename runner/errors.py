"""Errors the runner raises on purpose, each mapped to a documented exit code."""

from __future__ import annotations

from ingest.errors import TallyError


class UsageError(TallyError):
    """An option or environment variable has a value the runner cannot use (exit code 2).

    Attributes:
        option: the option or variable at fault, e.g. `--select`.
        value: the rejected value.
    """

    def __init__(self, option: str, value: str, problem: str) -> None:
        self.option = option
        self.value = value
        super().__init__(f"{option} `{value}` {problem}")


class WarehouseLockedError(TallyError):
    """Another run holds the warehouse lock (exit code 5).

    Attributes:
        lock_file: the lock file that is held.
        holder: what the holder wrote in it (pid, host, run id, start time), if readable.
    """

    def __init__(self, lock_file: str, holder: dict[str, str]) -> None:
        self.lock_file = lock_file
        self.holder = holder
        if holder:
            who = ", ".join(f"{key}={value}" for key, value in holder.items())
            detail = f"held by {who}"
        else:
            detail = "held by a run that has not written its details yet"
        super().__init__(
            f"warehouse lock `{lock_file}` is {detail}; wait for that run to finish and "
            "run again (the lock is released when its process exits, even after a crash)"
        )


class DbtFailedError(TallyError):
    """A dbt command could not build or compile some of its nodes (a failed step, exit code 3).

    Attributes:
        command: the dbt command, e.g. `build`.
    """

    def __init__(self, command: str, detail: str) -> None:
        self.command = command
        super().__init__(detail)


class DbtProjectError(TallyError):
    """dbt could not load the project (a parse or compilation error in models or YAML)."""

    def __init__(self, cause: str) -> None:
        detail = " ".join(cause.split())
        super().__init__(
            f"dbt could not parse the project: {detail}; run `dbt parse` from the repo root "
            "to see it in full"
        )


class WarehouseBusyError(TallyError):
    """The warehouse file is open for writing in another process (exit code 5)."""

    def __init__(self, warehouse: str, cause: str) -> None:
        self.warehouse = warehouse
        super().__init__(
            f"warehouse `{warehouse}` is open in another process ({cause.splitlines()[0]}); "
            "try again when the running job has finished"
        )


class WarehouseUnusableError(TallyError):
    """The warehouse cannot be opened or written: a damaged file, a full disk, a read-only
    folder (a failed step, exit code 3). The landing zone is untouched; nothing was loaded.

    Attributes:
        warehouse: the DuckDB file (or its folder) at fault.
    """

    def __init__(self, warehouse: str, cause: str) -> None:
        self.warehouse = warehouse
        first_line = " ".join(cause.splitlines()[0].split()) if cause else "unknown cause"
        super().__init__(
            f"warehouse `{warehouse}` cannot be opened or written ({first_line}); "
            f"{_unusable_hint(first_line)}, then run again (see docs/faults.md)"
        )


def _unusable_hint(cause: str) -> str:
    lowered = cause.lower()
    if "no space left" in lowered:
        return "free space on its disk"
    if "read-only" in lowered or "permission denied" in lowered:
        return "make its folder writable, or point TALLY_WAREHOUSE at a writable one"
    if "wal" in lowered or "corrupt" in lowered or "checksum" in lowered:
        return (
            "move the damaged `.wal` file aside (its last uncommitted writes are lost) or "
            "restore the last backup with `python -m runner.backup restore`"
        )
    return "restore the last backup with `python -m runner.backup restore`, or rebuild it"
