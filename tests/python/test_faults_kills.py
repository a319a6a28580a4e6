"""Kills: `run.py` killed (SIGKILL) or stopped (SIGTERM) during dlt's extract, normalize and load
and during `dbt build`, then run again, ends with the warehouse an uninterrupted run builds.

Every scenario runs the real CLI in a child process (faults_helpers.py installs the kill point)
over the same small, clean demo landing zone, each in a warehouse of its own. The reference is
one uninterrupted `python run.py` over that landing zone.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from faults_helpers import (
    folder_digest,
    incomplete_loads_in_staging,
    make_clean_landing,
    manifest_records_per_file,
    marts_fingerprint,
    raw_duplicates,
    raw_fingerprint,
    raw_rows_per_file,
    run_tally,
    tally_env,
)

from runner.backup import list_backups, restore

pytestmark = pytest.mark.slow

EXIT_KILLED = -9  # subprocess's returncode for a child ended by SIGKILL
EXIT_STEP_FAILED = 3
DLT_POINTS = ("extract", "normalize", "load")


@dataclass(frozen=True)
class Reference:
    """The landing zone every scenario reads, and what an uninterrupted run made of it."""

    landing: Path
    landing_digest: str
    marts: dict[str, dict[str, Any]]
    raw: dict[str, dict[str, Any]]
    records_per_file: dict[str, int]
    backups: tuple[Path, ...]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = tmp_path_factory.mktemp("kills_reference")
    landing = make_clean_landing(root / "landing")
    digest = folder_digest(landing)
    done = run_tally(["ingest"], tally_env(root))
    assert done.returncode == 0, done.stderr
    done = run_tally(["build"], tally_env(root))
    assert done.returncode in {0, 4}, done.stderr
    warehouse = root / "wh" / "wh.duckdb"
    return Reference(
        landing,
        digest,
        marts_fingerprint(warehouse),
        raw_fingerprint(warehouse),
        manifest_records_per_file(landing),
        tuple(list_backups(warehouse)),
    )


def _workspace(tmp_path: Path, reference: Reference) -> dict[str, str]:
    """A fresh warehouse over the shared landing zone (which nothing may write)."""
    return tally_env(tmp_path, TALLY_LANDING=str(reference.landing))


def _assert_raw_exact(warehouse: Path, reference: Reference) -> None:
    assert raw_duplicates(warehouse) == dict.fromkeys(raw_duplicates(warehouse), 0)
    assert raw_rows_per_file(warehouse) == reference.records_per_file
    assert raw_fingerprint(warehouse) == reference.raw


def _assert_killed(done: Any, signal_name: str) -> None:
    if signal_name == "KILL":
        assert done.returncode == EXIT_KILLED, done.stderr
    else:
        # SIGTERM stops the run cleanly: the step fails, the run is recorded and unlocked.
        assert done.returncode == EXIT_STEP_FAILED, done.stderr
        assert "terminated by SIGTERM" in done.stderr, done.stderr


def _last_run(warehouse: Path) -> tuple[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        row = connection.execute(
            "select outcome, error from ops.pipeline_runs order by started_at desc limit 1"
        ).fetchone()
    assert row is not None
    return row[0], row[1] or ""


@pytest.mark.parametrize("signal_name", ["KILL", "TERM"])
@pytest.mark.parametrize("point", DLT_POINTS)
def test_a_killed_ingest_run_again_loads_every_row_once(
    reference: Reference, tmp_path: Path, point: str, signal_name: str
) -> None:
    env = _workspace(tmp_path, reference)
    warehouse = tmp_path / "wh" / "wh.duckdb"

    killed = run_tally(["ingest"], env, kill_at=point, kill_signal=signal_name)
    _assert_killed(killed, signal_name)
    if signal_name == "TERM":
        assert _last_run(warehouse)[0] == "failed"
    again = run_tally(["ingest"], env)

    assert again.returncode == 0, again.stderr
    _assert_raw_exact(warehouse, reference)
    assert folder_digest(reference.landing) == reference.landing_digest


@pytest.fixture(scope="module")
def load_killed_then_rerun(
    reference: Reference, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A warehouse whose first ingest was SIGKILLed mid-load, then `python run.py` in full."""
    root = tmp_path_factory.mktemp("load_killed")
    env = _workspace(root, reference)
    killed = run_tally(["ingest"], env, kill_at="load", kill_signal="KILL")
    assert killed.returncode == EXIT_KILLED, killed.stderr
    again = run_tally([], env)
    assert again.returncode in {0, 4}, again.stderr
    yield root / "wh" / "wh.duckdb"
    shutil.rmtree(root, ignore_errors=True)


def test_marts_after_a_load_killed_mid_way_equal_an_uninterrupted_run(
    reference: Reference, load_killed_then_rerun: Path
) -> None:
    assert incomplete_loads_in_staging(load_killed_then_rerun) == 0
    _assert_raw_exact(load_killed_then_rerun, reference)
    assert marts_fingerprint(load_killed_then_rerun) == reference.marts


@pytest.mark.parametrize("signal_name", ["KILL", "TERM"])
def test_a_killed_dbt_build_run_again_gives_the_marts_of_an_uninterrupted_run(
    reference: Reference, tmp_path: Path, signal_name: str
) -> None:
    env = _workspace(tmp_path, reference)
    warehouse = tmp_path / "wh" / "wh.duckdb"
    assert run_tally(["ingest"], env).returncode == 0

    killed = run_tally(["build"], env, kill_at="dbt", kill_signal=signal_name)
    _assert_killed(killed, signal_name)
    if signal_name == "TERM":
        outcome, error = _last_run(warehouse)
        assert outcome == "failed"
        assert "terminated by SIGTERM" in error
    again = run_tally(["build"], env)

    assert again.returncode in {0, 4}, again.stderr
    assert incomplete_loads_in_staging(warehouse) == 0
    assert marts_fingerprint(warehouse) == reference.marts
    assert folder_digest(reference.landing) == reference.landing_digest


def test_the_backup_of_a_good_run_restores_to_the_same_marts(
    reference: Reference, tmp_path: Path
) -> None:
    assert len(reference.backups) == 2, "the ingest and the build each left a copy"
    warehouse = tmp_path / "restored.duckdb"
    restore(warehouse, reference.backups[-1])
    assert marts_fingerprint(warehouse) == reference.marts
    assert raw_fingerprint(warehouse) == reference.raw
