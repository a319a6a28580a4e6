"""End to end: the real generator, dlt ingest and dbt build under `runner.cli.main`.

One clean run builds the warehouse; a backfill rebuilds one day of a microbatch model and no
other; a broken input (a manifest that disagrees with its file) then fails an audit rule, exits
with code 4 and alerts a local webhook; `status` and the metrics file tell both stories.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runner.cli import main
from runner.results import EXIT_AUDIT_FAILED, EXIT_OK

pytestmark = pytest.mark.slow

DEMO = ["--days", "10", "--orders-per-day", "20", "--anomaly-rate", "0", "--malformed-rate", "0"]


@dataclass
class Webhook:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Workspace:
    root: Path
    webhook: Webhook
    clean_run_id: str = ""

    @property
    def warehouse(self) -> Path:
        return self.root / "wh.duckdb"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as connection:
            return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("e2e")
    bodies: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = Webhook(f"http://127.0.0.1:{server.server_address[1]}/hooks/token123", bodies)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TALLY_LANDING", str(root / "landing"))
        env.setenv("TALLY_WAREHOUSE", str(root / "wh.duckdb"))
        env.setenv("TALLY_LOG_DIR", str(root / "logs"))
        env.setenv("DBT_TARGET_PATH", str(root / "target"))
        env.setenv("TALLY_ALERT_WEBHOOK", webhook.url)
        env.delenv("TALLY_METRICS_FILE", raising=False)
        yield Workspace(root, webhook)
    server.shutdown()
    server.server_close()


def _metrics(workspace: Workspace) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (workspace.root / "logs" / "tally.prom").read_text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_clean_run_builds_everything_and_records_it(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", *DEMO]) == EXIT_OK
    assert main([]) == EXIT_OK, capsys.readouterr().err
    summary = capsys.readouterr().out
    assert "rows loaded" in summary
    assert "days closed" in summary

    runs = workspace.query(
        "select run_id, command, outcome, exit_code, cpu_seconds, peak_memory_bytes, git_commit "
        "from ops.pipeline_runs order by started_at"
    )
    assert [(run[1], run[2], run[3]) for run in runs] == [
        ("demo", "succeeded", 0),
        ("all", "succeeded", 0),
    ]
    workspace.clean_run_id = runs[1][0]
    assert runs[1][4] > 0
    assert runs[1][5] > 0
    assert runs[1][6], "the git commit is recorded"
    steps = workspace.query(
        f"select step, outcome, rows from ops.step_runs where run_id = '{runs[1][0]}'"
    )
    assert {step: outcome for step, outcome, _ in steps} == {
        "ingest": "succeeded",
        "build": "succeeded",
        "docs": "succeeded",
    }
    assert {step: rows for step, _, rows in steps}["ingest"] > 0
    invocations = workspace.query(
        "select command, count(*) from ops.dbt_node_results group by 1 order by 1"
    )
    assert [command for command, _ in invocations] == ["build", "docs generate"]
    assert (workspace.root / "target" / "index.html").is_file()
    log = workspace.root / "logs" / f"run-{runs[1][0]}.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert {entry["step"] for entry in entries} >= {"ingest", "build", "docs"}
    assert "token123" not in log.read_text()
    assert workspace.webhook.bodies == [], "a clean run sends no alert"


def test_the_warehouse_is_released_after_the_run(workspace: Workspace) -> None:
    # Another process can open it for writing: neither dbt nor the runner still holds it.
    probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('select 1').fetchone()"
    subprocess.run([sys.executable, "-c", probe, str(workspace.warehouse)], check=True)


def _microbatch_model(workspace: Workspace) -> tuple[str, str, str]:
    """(relation, event_time column, name) of a microbatch model of the project."""
    manifest = json.loads((workspace.root / "target" / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        config = node["config"]
        if node["resource_type"] == "model" and config.get("incremental_strategy") == "microbatch":
            relation = f'"{node["schema"]}"."{node["alias"]}"'
            return relation, config["event_time"], node["name"]
    raise AssertionError("the project has no microbatch model to backfill")


def test_backfill_rebuilds_the_window_and_leaves_other_days_alone(
    workspace: Workspace,
) -> None:
    relation, event_time, name = _microbatch_model(workspace)
    per_day = dict(
        workspace.query(
            f"select cast({event_time} as date) as day, count(*) from {relation} group by 1"
        )
    )
    inside, outside = sorted(per_day)[2], sorted(per_day)[5]
    with duckdb.connect(str(workspace.warehouse)) as connection:
        connection.execute(
            f"delete from {relation} where cast({event_time} as date) in (?, ?)", [inside, outside]
        )
    day = inside.isoformat()
    assert main(["build", "--select", name, "--start", day, "--end", day]) == EXIT_OK
    after = dict(
        workspace.query(
            f"select cast({event_time} as date) as day, count(*) from {relation} group by 1"
        )
    )
    assert after.get(inside) == per_day[inside], "the day in the window is rebuilt from raw"
    assert outside not in after, "a day outside the window is left untouched"
    assert {d: n for d, n in after.items() if d != inside} == {
        d: n for d, n in per_day.items() if d not in (inside, outside)
    }


def test_broken_input_fails_an_audit_rule_exits_4_and_alerts(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest_file = sorted((workspace.landing / "payments").glob("*/_manifest.json"))[3]
    manifest = json.loads(manifest_file.read_text())
    manifest["record_count"] += 1  # the file now disagrees with its control total
    manifest_file.write_text(json.dumps(manifest, indent=2))

    assert main([]) == EXIT_AUDIT_FAILED
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "audit rule(s) failed" in error
    assert len(workspace.webhook.bodies) == 1
    alert = workspace.webhook.bodies[0]
    assert alert["outcome"] == "audit_failed"
    assert alert["failed_step"] is None
    assert alert["failing_tests"], alert
    assert "text" in alert


def test_status_lists_both_runs_and_metrics_keep_the_last_success(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == EXIT_OK
    table = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in table[1:] if line.split()}
    assert rows[workspace.clean_run_id][4] == "succeeded"
    assert any(row[1] == "all" and row[4] == "audit_failed" for row in rows.values())

    samples = _metrics(workspace)
    assert samples[("tally_run_outcome", (("command", "all"), ("outcome", "audit_failed")))] == 1
    clean_end = workspace.query(
        f"select ended_at from ops.pipeline_runs where run_id = '{workspace.clean_run_id}'"
    )[0][0]
    kept = samples[("tally_last_success_timestamp_seconds", ())]
    # The last success is the backfill build that followed the clean run, not the failed run.
    assert kept >= clean_end.replace(tzinfo=dt.UTC).timestamp()
    failed_end = workspace.query(
        "select max(ended_at) from ops.pipeline_runs where outcome = 'audit_failed'"
    )[0][0]
    assert kept < failed_end.replace(tzinfo=dt.UTC).timestamp()
    assert any(name == "tally_rows_loaded" for name, _ in samples)
    assert samples[("tally_dbt_tests", (("status", "fail"),))] >= 1
