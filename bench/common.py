"""What every benchmark shares: timed child processes with their own peak memory, the machine's
description, and the demo landing zones they measure on.

Each measured command runs in its own child process, so its peak resident memory (`ru_maxrss`
from `wait4`) is its own, not the benchmark driver's.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))


class BenchError(Exception):
    """A measured command failed; the message holds its exit code and the end of its output."""


@dataclass(frozen=True)
class Measured:
    """One child process: its wall time, CPU time, peak resident memory and standard output.

    On a shared machine, CPU seconds (user + system) move less with other people's load than
    wall seconds do; benchmarks report both.
    """

    seconds: float
    peak_rss_bytes: int
    stdout: str
    cpu_seconds: float = 0.0

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / 2**20

    def json_line(self) -> dict[str, Any]:
        """The last line of standard output, parsed as JSON (what a `--child` mode prints)."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def measure(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = PROJECT_DIR,
    accept_exit_codes: Sequence[int] = (0,),
) -> Measured:
    """Runs `command` to completion; returns its wall time, CPU time and its own peak RSS.

    Raises:
        BenchError: the command exited with a code not in `accept_exit_codes`.
    """
    environment = {**os.environ, **(env or {})}
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stdout = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in accept_exit_codes:
        tail = "\n".join(stdout.splitlines()[-30:])
        raise BenchError(f"`{' '.join(command)}` exited with {process.returncode}:\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(seconds, usage.ru_maxrss * 1024, stdout, cpu)


def recorded_peak_mib(warehouse: Path, run_id: str | None = None) -> float:
    """The peak resident memory `ops.pipeline_runs` recorded for a run (the newest without
    `run_id`). The runner resets the process's high-water mark at each step, so that each
    step reports its own peak; a `python run.py` child's `ru_maxrss` is then only its last
    step's, and the run's peak is the largest of its steps'.
    """
    with duckdb.connect(str(warehouse), read_only=True) as db:
        row = db.execute(
            "select peak_memory_bytes from ops.pipeline_runs"
            " where $run_id is null or run_id = $run_id order by started_at desc limit 1",
            {"run_id": run_id},
        ).fetchone()
    return (row[0] or 0) / 2**20 if row else 0.0


def machine() -> str:
    """CPU count, memory, load average and date: the context every figure is read in."""
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs, {memory_kib / 2**20:.0f} GiB, Python {platform.python_version()},"
        f" load average {load}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def report(label: str, value: str) -> None:
    """One result line, aligned, on standard output (benchmarks are scripts that print)."""
    print(f"{label:<44} {value}", flush=True)
