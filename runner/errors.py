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


class StepFailedError(TallyError):
    """A step of the run failed; the message names the step.

    Attributes:
        step: the step that failed.
    """

    def __init__(self, step: str, cause: str) -> None:
        self.step = step
        super().__init__(f"step `{step}` failed: {cause}")
