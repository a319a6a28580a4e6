"""End to end: the real generator, dlt ingest and dbt build under `runner.cli.main`.

The demo landing zone carries injected reconciliation breaks (the generator always plants some
of each type), so the first whole run is a run with broken input: an audit rule fails, the
run exits with code 4 and alerts a local webhook, and the docs are still generated. A backfill
then rebuilds the batch holding one day of a microbatch model and no other; `status` and
the metrics file tell the story of all the runs.
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

# Forty days cross a month boundary: the microbatch facts use monthly batches, and a backfill
# rebuilds whole batches, so "a day outside the window" must lie in another month.
DEMO = ["--days", "40", "--orders-per-day", "5"]


@dataclass
class Webhook:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Workspace:
    root: Path
    webhook: Webhook
    failed_run_id: str = ""

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


def test_run_over_broken_input_fails_audit_alerts_and_records_it(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", *DEMO]) == EXIT_OK
    assert main([]) == EXIT_AUDIT_FAILED, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "audit rule(s) failed" in captured.err.strip().splitlines()[-1]
    assert "rows loaded" in captured.out
    assert "days closed" in captured.out

    runs = workspace.query(
        "select run_id, command, outcome, exit_code, cpu_seconds, peak_memory_bytes, git_commit "
        "from ops.pipeline_runs order by started_at"
    )
    assert [(run[1], run[2], run[3]) for run in runs] == [
        ("demo", "succeeded", 0),
        ("all", "audit_failed", EXIT_AUDIT_FAILED),
    ]
    run_id = workspace.failed_run_id = runs[1][0]
    assert runs[1][4] > 0
    assert runs[1][5] > 0
    assert runs[1][6], "the git commit is recorded"
    steps = workspace.query(
        f"select step, outcome, rows from ops.step_runs where run_id = '{run_id}'"
    )
    assert {step: outcome for step, outcome, _ in steps} == {
        "ingest": "succeeded",
        "build": "audit_failed",
        "docs": "succeeded",
    }, "a failed audit rule does not stop the docs"
    assert {step: rows for step, _, rows in steps}["ingest"] > 0
    invocations = workspace.query(
        "select command, count(*) from ops.dbt_node_results group by 1 order by 1"
    )
    assert [command for command, _ in invocations] == ["build", "docs generate"]
    assert (workspace.root / "target" / "index.html").is_file()

    assert len(workspace.webhook.bodies) == 1
    alert = workspace.webhook.bodies[0]
    assert alert["run_id"] == run_id
    assert alert["outcome"] == "audit_failed"
    assert alert["failed_step"] is None
    assert alert["failing_tests"], alert
    assert sum(alert["breaks"].values()) > 0
    failing = {test["unique_id"] for test in alert["failing_tests"]}
    history = workspace.query(
        f"select distinct unique_id from ops.test_failure_history where run_id = '{run_id}'"
    )
    assert history, "failing tests that store failures leave their rows in the history"
    assert {unique_id for (unique_id,) in history} <= failing

    log = workspace.root / "logs" / f"run-{run_id}.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert {entry["step"] for entry in entries} >= {"ingest", "build", "docs"}
    assert "token123" not in log.read_text()


def test_the_warehouse_is_released_after_the_run(workspace: Workspace) -> None:
    # Another process can open it for writing: neither dbt nor the runner still holds it.
    probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('select 1').fetchone()"
    subprocess.run([sys.executable, "-c", probe, str(workspace.warehouse)], check=True)


def _microbatch_model(workspace: Workspace, name: str = "fct_orders") -> tuple[str, str, str]:
    """(relation, event_time column, name) of a microbatch model: the order fact, whose rows
    span every day of the demo."""
    manifest = json.loads((workspace.root / "target" / "manifest.json").read_text())
    node = manifest["nodes"][f"model.tally.{name}"]
    config = node["config"]
    assert config.get("incremental_strategy") == "microbatch", f"{name} is not a microbatch model"
    return f'"{node["schema"]}"."{node["alias"]}"', config["event_time"], name


def test_backfill_rebuilds_the_window_and_leaves_other_batches_alone(
    workspace: Workspace,
) -> None:
    relation, event_time, name = _microbatch_model(workspace)
    count_per_day = f"select cast({event_time} as date) as day, count(*) from {relation} group by 1"
    before = dict(workspace.query(count_per_day))
    days = sorted(before)
    inside = days[-3]
    assert days[0].month != inside.month, "the demo data must span two monthly batches"
    with duckdb.connect(str(workspace.warehouse)) as connection:
        connection.execute(f"delete from {relation} where cast({event_time} as date) = ?", [inside])

    day = inside.isoformat()
    assert main(["build", "--select", name, "--start", day, "--end", day]) == EXIT_OK
    assert dict(workspace.query(count_per_day)) == before, "the window is rebuilt from raw"
    run_results = json.loads((workspace.root / "target" / "run_results.json").read_text())
    (result,) = [item for item in run_results["results"] if item["unique_id"].endswith(name)]
    batches = result["batch_results"]
    assert batches["failed"] == []
    rebuilt = [dt.datetime.fromisoformat(start).date() for start, _ in batches["successful"]]
    # Only the batch holding the window ran: the earlier month was not touched.
    assert rebuilt == [inside.replace(day=1)], batches


def test_status_lists_the_runs_and_metrics_keep_the_last_success(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # One more failing run: only the failing audit test, so the metrics must keep the
    # backfill's success as the last one.
    assert main(["build", "--select", "assert_breaks_within_tolerance"]) == EXIT_AUDIT_FAILED
    assert len(workspace.webhook.bodies) == 2
    capsys.readouterr()

    assert main(["status"]) == EXIT_OK
    table = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in table[1:] if line.split()}
    failed_run = rows[workspace.failed_run_id]
    # Columns: run_id, command, started date, started time, seconds, outcome, ...
    assert (failed_run[1], failed_run[5]) == ("all", "audit_failed")
    assert [row[5] for row in rows.values() if row[1] == "build"] == ["audit_failed", "succeeded"]

    samples = _metrics(workspace)
    assert samples[("tally_run_outcome", (("command", "build"), ("outcome", "audit_failed")))] == 1
    backfill_end = workspace.query(
        "select max(ended_at) from ops.pipeline_runs where outcome = 'succeeded' "
        "and command = 'build'"
    )[0][0]
    kept = samples[("tally_last_success_timestamp_seconds", ())]
    assert kept == pytest.approx(backfill_end.replace(tzinfo=dt.UTC).timestamp(), abs=1e-3)
    assert samples[("tally_dbt_tests", (("status", "fail"),))] == 1
    assert samples[("tally_run_cpu_seconds", (("command", "build"),))] > 0


def test_a_nightly_of_a_new_day_reuses_the_last_parse(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The window moves every night, but only nodes read it, never configs: so dbt takes the
    last run's parse and re-parses only the files that changed, here none."""
    assert main(["demo", "--days", "1"]) == EXIT_OK
    dbt_log = workspace.root / "logs" / "dbt.log"
    logged_before = dbt_log.stat().st_size

    assert main([]) == EXIT_AUDIT_FAILED, "the planted breaks are still there"
    capsys.readouterr()
    full_parse = b"Unable to do partial parsing"
    assert full_parse in dbt_log.read_bytes()[:logged_before], "the first run had to parse all"
    assert full_parse not in dbt_log.read_bytes()[logged_before:], "the whole project was parsed"


def test_a_nightly_with_nothing_new_checks_the_data_and_keeps_the_docs(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    site = workspace.root / "target" / "index.html"
    generated_at = site.stat().st_mtime_ns

    assert main([]) == EXIT_AUDIT_FAILED, "the planted breaks are still there"
    capsys.readouterr()
    run_id = workspace.query(
        "select run_id from ops.pipeline_runs where command = 'all' order by started_at desc"
    )[0][0]
    steps = dict(
        workspace.query(f"select step, outcome from ops.step_runs where run_id = '{run_id}'")
    )
    assert steps["docs"] == "succeeded"
    log = (workspace.root / "logs" / f"run-{run_id}.jsonl").read_text()
    assert "docs unchanged, not generated" in log
    assert site.stat().st_mtime_ns == generated_at, "neither project nor warehouse changed"
    kinds = workspace.query(
        "select distinct command, resource_type from ops.dbt_node_results"
        f" where run_id = '{run_id}'"
    )
    assert ("build", "test") in kinds
    assert ("build", "unit_test") not in kinds, "a scheduled run tests the data, not the code"
    assert all(command != "docs generate" for command, _ in kinds)

    # Asked for explicitly, the docs are generated whatever the fingerprint says.
    assert main(["docs"]) == EXIT_OK
    assert site.stat().st_mtime_ns != generated_at


def test_every_model_and_every_column_is_described(workspace: Workspace) -> None:
    """The docs site describes what the warehouse holds: every model the build made, and every
    column it holds (the catalog lists the columns as built, the manifest their docs)."""
    manifest = json.loads((workspace.root / "target" / "manifest.json").read_text())
    catalog = json.loads((workspace.root / "target" / "catalog.json").read_text())
    undescribed = []
    for unique_id, built in catalog["nodes"].items():
        node = manifest["nodes"].get(unique_id)
        if node is None or node["resource_type"] != "model":
            continue
        if not node["description"].strip():
            undescribed.append(unique_id)
        documented = {
            name.lower(): column.get("description", "").strip()
            for name, column in node["columns"].items()
        }
        undescribed += [
            f"{unique_id}.{name}" for name in built["columns"] if not documented.get(name.lower())
        ]
    assert not undescribed, undescribed
