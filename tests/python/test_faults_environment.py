"""Environment faults: a warehouse held by another process, an unwritable warehouse folder, a
full disk and a damaged WAL each give a one-line error, a non-zero exit code and an alert, and
leave the landing zone untouched. Then recovery: a backup restored, run again, loads exactly
what the landing zone holds.

The read-only folder and the full disk are small tmpfs mounts made for the test (the tests run
as root in CI, where `chmod` stops nobody). Where mounting is not permitted, a non-root user
gets a `chmod`-ed folder instead, and root skips with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from faults_helpers import (
    Completed,
    Webhook,
    folder_digest,
    make_clean_landing,
    raw_duplicates,
    raw_fingerprint,
    run_tally,
    start_webhook,
    tally_env,
)

from runner.backup import list_backups

pytestmark = pytest.mark.slow

EXIT_STEP_FAILED = 3
EXIT_LOCKED = 5
LATER_DAYS = ("2025-10-07", "2025-10-08")


@dataclass(frozen=True)
class Setting:
    landing: Path
    digest: str
    webhook: Webhook
    raw: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    root = tmp_path_factory.mktemp("environment")
    landing = make_clean_landing(root / "landing")
    done = run_tally(["ingest"], tally_env(root))
    assert done.returncode == 0, done.stderr
    running = start_webhook()
    yield Setting(
        landing, folder_digest(landing), running.webhook, raw_fingerprint(root / "wh" / "wh.duckdb")
    )
    running.server.shutdown()


def _env(setting: Setting, warehouse: Path, tmp_path: Path) -> dict[str, str]:
    return tally_env(
        tmp_path,
        TALLY_LANDING=str(setting.landing),
        TALLY_WAREHOUSE=str(warehouse),
        TALLY_ALERT_WEBHOOK=setting.webhook.url,
    )


def _assert_reported(done: Completed, setting: Setting, exit_code: int, *phrases: str) -> None:
    """One `tally:` line naming the fault, the exit code, an alert, an untouched landing zone."""
    lines = [line for line in done.stderr.splitlines() if line.startswith("tally: ")]
    assert len(lines) == 1, done.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    assert done.returncode == exit_code, done.stderr
    alert = setting.webhook.bodies[-1]
    assert alert["outcome"] == "failed"
    assert any(phrase in str(alert) for phrase in phrases), alert
    assert folder_digest(setting.landing) == setting.digest


@contextlib.contextmanager
def _tmpfs(folder: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs at `folder`, unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        if read_only and os.geteuid() != 0:
            folder.chmod(0o555)  # without root, permissions are enough
            yield folder
            folder.chmod(0o755)
            return
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_warehouse_held_by_another_process_is_refused_with_its_holder(
    setting: Setting, tmp_path: Path
) -> None:
    warehouse = tmp_path / "held" / "wh.duckdb"
    warehouse.parent.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " sys.stdin.read()",
            str(warehouse),
        ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        done = run_tally(["ingest"], _env(setting, warehouse, tmp_path))
    finally:
        holder.communicate("")
    _assert_reported(done, setting, EXIT_LOCKED, "is open in another process")
    assert f"PID {holder.pid}" in done.stderr, "the message names the holder"


def test_an_unwritable_warehouse_folder_fails_in_one_line(setting: Setting, tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "readonly", "1m", read_only=True) as folder:
        done = run_tally(["ingest"], _env(setting, folder / "wh.duckdb", tmp_path))
    _assert_reported(done, setting, EXIT_STEP_FAILED, "cannot be opened or written", "Read-only")


def test_a_full_disk_fails_the_step_and_a_run_with_space_loses_nothing(
    setting: Setting, tmp_path: Path
) -> None:
    with _tmpfs(tmp_path / "small", "6m") as folder:
        done = run_tally(["ingest"], _env(setting, folder / "wh" / "wh.duckdb", tmp_path))
        # Move what the failed run left to a disk with space, and run again.
        shutil.copytree(folder / "wh", tmp_path / "roomy")
    _assert_reported(done, setting, EXIT_STEP_FAILED, "No space left on device")
    again = run_tally(["ingest"], _env(setting, tmp_path / "roomy" / "wh.duckdb", tmp_path))
    assert again.returncode == 0, again.stderr
    assert raw_fingerprint(tmp_path / "roomy" / "wh.duckdb") == setting.raw
    assert set(raw_duplicates(tmp_path / "roomy" / "wh.duckdb").values()) == {0}


def _damage_wal(warehouse: Path) -> None:
    """Leave a WAL behind (a writer that died before checkpointing), then flip bytes in it."""
    subprocess.run(
        [
            sys.executable, "-c",
            "import duckdb, os, sys; c = duckdb.connect(sys.argv[1]);"
            " c.execute('create table main.unfinished as select 1 as a');"
            " c.execute('insert into main.unfinished values (2)'); os._exit(0)",
            str(warehouse),
        ],
        check=True,
    )  # fmt: skip
    wal = warehouse.with_name(warehouse.name + ".wal")
    data = bytearray(wal.read_bytes())
    assert data, "the writer left no WAL to damage"
    for index in range(len(data) // 3, min(len(data), len(data) // 3 + 64)):
        data[index] ^= 0xFF
    wal.write_bytes(bytes(data))


def test_a_damaged_wal_fails_clearly_and_the_backup_restores_the_warehouse(
    setting: Setting, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh" / "wh.duckdb"
    env = _env(setting, warehouse, tmp_path)
    assert run_tally(["ingest"], env).returncode == 0
    assert len(list_backups(warehouse)) == 1, "a good run leaves a backup"
    _damage_wal(warehouse)

    done = run_tally(["ingest"], env)
    _assert_reported(done, setting, EXIT_STEP_FAILED, "WAL")
    assert "runner.backup restore" in done.stderr, "the message says how to recover"

    restored = subprocess.run(
        [sys.executable, "-m", "runner.backup", "restore", "--warehouse", str(warehouse)],
        capture_output=True, text=True, check=False, env={**os.environ, **env},
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    again = run_tally(["ingest"], env)
    assert again.returncode == 0, again.stderr
    assert raw_fingerprint(warehouse) == setting.raw


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)


def test_an_older_backup_restored_then_run_loads_what_came_after_it(
    setting: Setting, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(setting.landing, landing)
    held_back = tmp_path / "held_back"
    for day in LATER_DAYS:
        for delivered in landing.glob(f"*/{day}*"):
            _move(delivered, held_back / delivered.relative_to(landing))
    warehouse = tmp_path / "wh" / "wh.duckdb"
    env = {**_env(setting, warehouse, tmp_path), "TALLY_LANDING": str(landing)}
    assert run_tally(["ingest"], env).returncode == 0
    older = list_backups(warehouse)[-1]
    for moved in held_back.glob("*/*"):
        _move(moved, landing / moved.relative_to(held_back))
    assert run_tally(["ingest"], env).returncode == 0
    assert raw_fingerprint(warehouse) == setting.raw

    restored = subprocess.run(
        [sys.executable, "-m", "runner.backup", "restore", "--backup", str(older)],
        capture_output=True, text=True, check=False, env={**os.environ, **env},
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    assert raw_fingerprint(warehouse) != setting.raw, "the older copy lacks the later days"
    again = run_tally(["ingest"], env)

    assert again.returncode == 0, again.stderr
    assert raw_fingerprint(warehouse) == setting.raw
    assert set(raw_duplicates(warehouse).values()) == {0}
