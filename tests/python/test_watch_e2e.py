"""Watch end to end: the real generator, dlt and dbt, in micro-batches over a day's parts.

The demo delivers payments and bank statements in two parts a day. `run.py watch` runs as a
subprocess over everything but day one's closing parts; those land late, once the first batch
has ended, and the second batch must pick them up. SIGTERM arrives during that second batch:
the batch finishes, the watch stops, and the warehouse holds no half-built window. Finally the
same files, built in one nightly ingest and build, must give marts equal to the watch's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from demo.generator import DemoConfig, generate
from runner.cli import main
from runner.results import EXIT_OK
from runner.settings import PROJECT_DIR
from runner.windows import read_raw_history

pytestmark = pytest.mark.slow

LATE_SUFFIXES = ("-2400.csv", "-2400.json")
FACTS = ("fct_orders", "fct_order_lines", "fct_payments", "fct_daily_sales",
         "fct_reconciliation_breaks", "fct_daily_close")  # fmt: skip


def _copy(source: Path, target: Path, *, late: bool | None) -> list[str]:
    copied = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        is_late = relative.startswith(("payments/2025-10-01/", "bank/2025-10-01/")) and (
            relative.endswith(LATE_SUFFIXES)
        )
        if path.is_file() and (late is None or late == is_late):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / relative)
            copied.append(relative)
    return copied


def _fact_hashes(warehouse: Path) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        schemas = dict(
            connection.execute(
                "select table_name, table_schema from information_schema.tables"
                f" where table_name in {FACTS}"
            ).fetchall()
        )
        return {
            name: connection.execute(
                f"select count(*), coalesce(sum(hash(t)), 0) from {schemas[name]}.{name} as t"
            ).fetchone()
            for name in sorted(schemas)
        }


def _wait_for(path: Path, text: str, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(errors="replace").count(text) >= count:
            return
        assert process.poll() is None, path.read_text(errors="replace")[-3000:]
        time.sleep(0.2)
    pytest.fail(f"`{text}` did not appear {count} time(s) in {path}")


def test_watch_over_parts_equals_the_nightly_batch(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream" / "landing"
    generate(DemoConfig(landing=upstream, days=2, orders_per_day=5, anomaly_rate=0.0,
                        malformed_rate=0.0, parts_per_day=2))  # fmt: skip
    watched, warehouse = tmp_path / "watch" / "landing", tmp_path / "watch" / "wh.duckdb"
    watched.mkdir(parents=True)
    _copy(upstream, watched, late=False)
    env = {**os.environ, "TALLY_LOG_DIR": str(tmp_path / "watch" / "logs"),
           "DBT_TARGET_PATH": str(tmp_path / "watch" / "target")}  # fmt: skip
    env.pop("TALLY_METRICS_FILE", None)
    stderr = tmp_path / "watch.err"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "run.py", "--landing", str(watched), "--warehouse", str(warehouse),
             "watch", "--interval", "0.5"],
            cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        try:
            _wait_for(stderr, "batch freshness", 1, process)
            late = _copy(upstream, watched, late=True)
            _wait_for(stderr, "batch started", 2, process)
            process.send_signal(signal.SIGTERM)
            exit_code = process.wait(timeout=600)
        finally:
            if process.poll() is None:
                process.kill()
    log = stderr.read_text()
    assert exit_code == EXIT_OK, log[-3000:]
    assert "watch stopped reason=signal SIGTERM batches=2" in log

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        runs = connection.execute(
            "select run_id, outcome, ended_at is not null from ops.pipeline_runs"
            " where command = 'watch' order by started_at"
        ).fetchall()
        # Before day one's closing parts land, its bank statement is rightly discontinuous.
        assert runs[0][1:] in {("succeeded", True), ("audit_failed", True)}
        assert runs[1][1:] == ("succeeded", True)
        watermark = connection.execute(
            "select newest_load_id from ops.build_watermarks order by recorded_at desc limit 1"
        ).fetchone()
        assert read_raw_history(connection, watermark[0]).pending is None, "no window half-built"
        fresh = connection.execute(
            f"select source_file, arrival_to_mart_seconds from ops.file_freshness"
            f" where run_id = '{runs[1][0]}' order by 1"
        ).fetchall()
    assert sorted(name for name, _ in fresh) == sorted(late), "the late parts reached the marts"
    assert all(seconds > 0 for _, seconds in fresh)
    # The day its parts belong to, and the week before it, whose payouts they may settle.
    build_window = "build window from new loads start=2025-09-24 end=2025-10-01"
    assert build_window in log, "the late batch rebuilds only the days its parts reach"

    nightly, nightly_warehouse = tmp_path / "nightly" / "landing", tmp_path / "nightly" / "wh.db"
    nightly.mkdir(parents=True)
    _copy(upstream, nightly, late=None)
    options = ["--landing", str(nightly), "--warehouse", str(nightly_warehouse)]
    assert main([*options, "ingest"]) == EXIT_OK
    assert main([*options, "build"]) == EXIT_OK
    watch_hashes, nightly_hashes = _fact_hashes(warehouse), _fact_hashes(nightly_warehouse)
    assert set(watch_hashes) == set(FACTS)
    assert watch_hashes == nightly_hashes
