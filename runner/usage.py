"""CPU seconds and peak memory of the process, per step and per run.

CPU is `getrusage` user + system time of this process plus its waited-for children, plus the
CPU of child processes still running (the Spark target's JVM runs for the whole process and
is never waited for). Peak
memory per step uses Linux's resettable high-water mark (`VmHWM`, reset by writing 5 to
/proc/self/clear_refs), so each step reports its own peak, not the peak of the steps before it.
"""

from __future__ import annotations

import logging
import os
import resource
from pathlib import Path
from types import TracebackType

from runner.results import Usage

logger = logging.getLogger(__name__)

_PROC = Path("/proc")
_STATUS = Path("/proc/self/status")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its children, finished or running."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return finished + running_descendants_cpu_seconds()


def running_descendants_cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds of the processes below `pid` (this process) that are still running.

    Each one's own time plus that of its children it has waited for (`/proc/<pid>/stat`);
    0 where /proc cannot be read.
    """
    root = os.getpid() if pid is None else pid
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in _PROC.glob("[0-9]*/stat"):
        try:
            # Fields after the command name, which may hold spaces and parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while /proc was read
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        ticks[child] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    below = {root}
    found = True
    while found:
        found = False
        for child, parent in parents.items():
            if parent in below and child not in below:
                below.add(child)
                found = True
    below.discard(root)
    return sum(ticks[child] for child in below) / _CLOCK_TICKS


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
