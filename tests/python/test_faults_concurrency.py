"""Two runs at once: while one run is mid-load, a second is refused with a message naming the
holder, and the first then completes untouched.

test_runner_mechanics.py covers the lock itself (a holder process, a crash releasing it); this
test races two real `run.py` processes over one warehouse.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from faults_helpers import (
    folder_digest,
    make_clean_landing,
    manifest_records_per_file,
    pause_files,
    raw_duplicates,
    raw_rows_per_file,
    run_tally,
    start_tally,
    tally_env,
)

pytestmark = pytest.mark.slow

EXIT_LOCKED = 5


def _wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {seconds} s"
        time.sleep(0.1)


def test_a_second_run_is_refused_and_the_first_completes_untouched(tmp_path: Path) -> None:
    landing = make_clean_landing(tmp_path / "landing")
    digest = folder_digest(landing)
    env = tally_env(tmp_path)
    paused, resume = pause_files(tmp_path / "logs")

    first = start_tally(["ingest"], env, pause_at="load")
    try:
        _wait_for(paused, 120)
        second = run_tally(["ingest"], env)
        resume.touch()
        _, first_stderr = first.communicate(timeout=300)
    finally:
        first.kill()

    assert second.returncode == EXIT_LOCKED, second.stderr
    assert f"pid={first.pid}" in second.stderr, "the refusal names the holder"
    assert "wait for that run to finish" in second.stderr
    assert first.returncode == 0, first_stderr
    assert set(raw_duplicates(tmp_path / "wh" / "wh.duckdb").values()) == {0}
    assert raw_rows_per_file(tmp_path / "wh" / "wh.duckdb") == manifest_records_per_file(landing)
    assert folder_digest(landing) == digest
