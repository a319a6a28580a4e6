"""CPU seconds and peak memory of the process, per step and per run.

CPU is `getrusage` user + system time of this process plus its waited-for children. Peak
memory per step uses Linux's resettable high-water mark (`VmHWM`, reset by writing 5 to
/proc/self/clear_refs), so each step reports its own peak, not the peak of the steps before it.
"""

from __future__ import annotations

import logging
import resource
from pathlib import Path
from types import TracebackType

from runner.results import Usage

logger = logging.getLogger(__name__)

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def process_peak_bytes() -> int:
    """Highest resident set size of this process (or its largest child) since it started."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024  # Linux reports kibibytes


def _read_high_water_mark() -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _reset_high_water_mark() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class UsageMeter:
    """Measures the CPU and peak memory of the code inside a `with` block.

    Attributes:
        usage: the measurement, set when the block exits.
    """

    def __init__(self) -> None:
        self.usage = Usage(0.0, 0)
        self._cpu_at_start = 0.0
        self._children_peak_at_start = 0
        self._resettable = False

    def __enter__(self) -> UsageMeter:
        self._cpu_at_start = cpu_seconds()
        self._children_peak_at_start = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        self._resettable = _reset_high_water_mark()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        high_water = _read_high_water_mark() if self._resettable else None
        if high_water is None:
            # LIMITATION: without a resettable high-water mark (non-Linux, or /proc locked
            # down) a step's peak is the process peak so far, which includes earlier steps.
            high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if children_peak > self._children_peak_at_start:
            high_water = max(high_water, children_peak * 1024)
        self.usage = Usage(round(cpu_seconds() - self._cpu_at_start, 3), high_water)
