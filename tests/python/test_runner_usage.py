"""The runner's CPU meter counts child processes that are still running (Spark's JVM)."""

from __future__ import annotations

import subprocess
import sys

from runner.usage import cpu_seconds, running_descendants_cpu_seconds

# Burns half a CPU second, says so, then waits to be killed: a child that is never waited for.
_BUSY_CHILD = """
import sys, time
while time.process_time() < 0.5:
    pass
print("burnt", flush=True)
time.sleep(60)
"""


def test_cpu_of_a_running_child_is_counted() -> None:
    before = cpu_seconds()
    child = subprocess.Popen([sys.executable, "-c", _BUSY_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "burnt"
        assert running_descendants_cpu_seconds() >= 0.45
        assert cpu_seconds() - before >= 0.45
    finally:
        child.kill()
        child.wait()
