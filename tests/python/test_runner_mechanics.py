"""The runner's mechanics with ingest and dbt replaced by stubs: step dependencies, exit
codes, run records, the lock. The end-to-end tests (test_runner_e2e.py) use the real steps."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.errors import LandingZoneError
from runner import steps as steps_module
from runner.cli import _conclude, main
from runner.dbt import DbtInvocation
from runner.lock import warehouse_lock
from runner.records import OpsStore
from runner.results import (
    EXIT_AUDIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_STEP_FAILED,
    EXIT_UNEXPECTED,
    NodeResult,
    RunReport,
    StepResult,
    Usage,
)
from runner.usage import cpu_seconds

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A landing zone with a file (so no demo step), and every output under tmp_path."""
    landing = tmp_path / "landing"
    (landing / "fx").mkdir(parents=True)
    (landing / "fx" / "2025-11-03.json").write_text("{}")
    monkeypatch.setenv("TALLY_LANDING", str(landing))
    monkeypatch.setenv("TALLY_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("TALLY_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.delenv("TALLY_ALERT_WEBHOOK", raising=False)
    monkeypatch.delenv("TALLY_METRICS_FILE", raising=False)
    return tmp_path


def _node(status: str, resource_type: str = "test") -> NodeResult:
    name = f"{resource_type}.tally.{status}_node"
    return NodeResult("inv-1", "build", name, resource_type, status, 0.1, None, 1, status)


class _StubDbt:
    def __init__(self, build_nodes: tuple[NodeResult, ...]) -> None:
        self.build_nodes = build_nodes
        self.calls: list[str] = []
        self.manifest_loaded = False

    def build(
        self,
        window: object = None,
        history_begin: object = None,
        *,
        unit_tests: bool = True,
        test_window_only: bool = False,
    ) -> DbtInvocation:
        self.calls.append("build" if unit_tests else "build without unit tests")
        return DbtInvocation("build", "inv-1", self.build_nodes)

    def docs_generate(self) -> DbtInvocation:
        self.calls.append("docs")
        return DbtInvocation("docs generate", "inv-2", ())


def _stub_steps(
    monkeypatch: pytest.MonkeyPatch, ingest: Any, build_nodes: tuple[NodeResult, ...] = ()
) -> _StubDbt:
    stub = _StubDbt(build_nodes)
    monkeypatch.setattr(steps_module, "run_ingest", ingest)
    monkeypatch.setattr(steps_module.RunSteps, "dbt", property(lambda self: stub))
    return stub


def _query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_failed_ingest_skips_build_and_docs_and_names_the_step(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing_ingest(landing: Path, warehouse: Path) -> Any:
        raise LandingZoneError(landing, "holds no file", "run `python run.py demo`")

    stub = _stub_steps(monkeypatch, failing_ingest)
    assert main([]) == EXIT_STEP_FAILED
    assert stub.calls == []
    captured = capsys.readouterr()
    assert "step `ingest` failed" in captured.err.splitlines()[-1]
    assert "skipped because step `ingest` failed" in captured.out
    rows = _query(workspace / "wh.duckdb", "select step, outcome from ops.step_runs order by 1")
    assert rows == [("build", "skipped"), ("docs", "skipped"), ("ingest", "failed")]
    runs = _query(workspace / "wh.duckdb", "select outcome, exit_code from ops.pipeline_runs")
    assert runs == [("failed", EXIT_STEP_FAILED)]
    assert (workspace / "logs" / "tally.prom").is_file()


def test_failed_audit_rule_exits_4_and_docs_still_run(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = _stub_steps(
        monkeypatch,
        lambda landing, warehouse: _EmptyIngest(),
        (_node("success", "model"), _node("pass"), _node("fail")),
    )
    assert main([]) == EXIT_AUDIT_FAILED
    assert stub.calls == ["build without unit tests", "docs"], "the whole job is scheduled"
    outcomes = _query(workspace / "wh.duckdb", "select step, outcome from ops.step_runs")
    assert dict(outcomes) == {"ingest": "succeeded", "build": "audit_failed", "docs": "succeeded"}
    nodes = _query(workspace / "wh.duckdb", "select status from ops.dbt_node_results")
    assert sorted(status for (status,) in nodes) == ["fail", "pass", "success"]


def test_a_node_error_is_a_failed_step_not_an_audit_failure(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = _stub_steps(
        monkeypatch,
        lambda landing, warehouse: _EmptyIngest(),
        (_node("error", "model"), _node("fail")),
    )
    assert main(["build"]) == EXIT_STEP_FAILED
    assert stub.calls == ["build"]


def test_a_bug_in_a_step_exits_1_and_is_recorded(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def buggy_ingest(landing: Path, warehouse: Path) -> Any:
        raise KeyError("oops")

    _stub_steps(monkeypatch, buggy_ingest)
    assert main(["ingest"]) == EXIT_UNEXPECTED
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "unexpected error: KeyError" in err.splitlines()[-1]
    assert main(["ingest", "--debug"]) == EXIT_UNEXPECTED
    assert "Traceback" in capsys.readouterr().err
    runs = _query(workspace / "wh.duckdb", "select outcome from ops.pipeline_runs")
    assert runs == [("error",), ("error",)]


def test_status_lists_runs_newest_first(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == EXIT_OK
    assert "No runs recorded yet" in capsys.readouterr().out
    _stub_steps(monkeypatch, lambda landing, warehouse: _EmptyIngest())
    assert main(["ingest"]) == EXIT_OK
    assert main(["build"]) == EXIT_OK
    capsys.readouterr()
    assert main(["status", "--limit", "5"]) == EXIT_OK
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["run_id", "command"]
    assert [line.split()[1] for line in table[1:3]] == ["build", "ingest"]
    assert all(" succeeded " in line for line in table[1:3])


class _EmptyIngest:
    loads: tuple[Any, ...] = ()
    rows_loaded = 0


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from runner.lock import warehouse_lock
    with warehouse_lock(Path(sys.argv[1]), run_id="holder-run", started_at="2025-11-03T22:00"):
        print("held", flush=True)
        time.sleep(60)
    """
)


def test_a_second_run_is_refused_while_the_lock_is_held_and_a_crash_releases_it(
    workspace: Path,
) -> None:
    warehouse = workspace / "wh.duckdb"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, f"{warehouse}.lock"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        second = subprocess.run(
            [sys.executable, "run.py", "ingest"],
            check=False,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == EXIT_LOCKED
        message = second.stderr.strip().splitlines()[-1]
        assert f"pid={holder.pid}" in message
        assert "run_id=holder-run" in message
        assert not warehouse.exists(), "a refused run must not touch the warehouse"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    holder_details = json.loads((workspace / "wh.duckdb.lock").read_text())
    assert holder_details["run_id"] == "holder-run", "a crash leaves the file, not the lock"
    third = subprocess.run(
        [sys.executable, "run.py", "status"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert third.returncode == EXIT_OK
    with warehouse_lock(workspace / "wh.duckdb.lock", run_id="after", started_at="now"):
        pass


def test_stored_failures_of_failing_tests_are_kept_as_json(tmp_path: Path) -> None:

    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema audit")
        connection.execute(
            "create table audit.assert_x as "
            "select * from (values ('po_1', 120), ('po_2', -5)) as t(payout_id, amount_minor)"
        )
    store = OpsStore(warehouse)
    store.ensure_tables()
    failing = NodeResult(
        "inv-9", "build", "test.tally.assert_x", "test", "fail", 0.2, None, 2, "Got 2",
        severity="error", failures_relation='"audit"."assert_x"',
    )  # fmt: skip
    passing = NodeResult("inv-9", "build", "test.tally.ok", "test", "pass", 0.1, None, 0, None)
    store.record_nodes("run-9", [failing, passing])
    rows = _query(
        warehouse,
        "select invocation_id, unique_id, row_number, failure_row "
        "from ops.test_failure_history order by row_number",
    )
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("inv-9", "test.tally.assert_x", 1),
        ("inv-9", "test.tally.assert_x", 2),
    ]
    assert json.loads(rows[0][3]) == {"payout_id": "po_1", "amount_minor": 120}
    results = _query(warehouse, "select unique_id, severity from ops.dbt_node_results order by 1")
    assert results == [("test.tally.assert_x", "error"), ("test.tally.ok", None)]


def test_a_runs_usage_is_its_own_not_the_processes(tmp_path: Path) -> None:
    # A watch runs batch after batch in one process: each run counts only its own CPU, and its
    # peak memory is its steps' peak.
    now = dt.datetime(2025, 10, 1, 12)
    report = RunReport("run-2", "watch", now, [])
    report.steps.append(StepResult("build", now, now, "succeeded", Usage(1.5, 300 * 2**20)))
    cpu_before_the_run = cpu_seconds() - 2.0  # as if the run had used two CPU seconds
    _conclude(report, None, cpu_before_the_run)
    assert report.usage is not None
    assert 2.0 <= report.usage.cpu_seconds < 3.0, "not the process's CPU since it started"
    assert report.usage.peak_memory_bytes == 300 * 2**20
    assert report.outcome == "succeeded"
