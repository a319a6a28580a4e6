"""Logs (redaction, JSON lines) and metrics (Prometheus text format) of the runner."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runner.logs import REDACTED, ForwardToRoot, Redactor, RunLogging, step_context
from runner.metrics import read_last_success, write_metrics
from runner.results import NodeResult, RunReport, SourceRows, StepResult, Usage

WEBHOOK = "https://hooks.example.com/services/T000/B000/XXXXsecretXXXX"


def test_redactor_hides_secret_env_values_webhook_and_url_passwords() -> None:
    environ = {
        "SOURCES__SHOP__CREDENTIALS__PASSWORD": "pa55w0rd!",
        "TALLY_SHOP_URL": "postgresql://loader:s3cr3t-pw@db.internal:5432/shop",
        "MY_API_TOKEN": "tok_abcdef123456",
        "HOME": "/root",
    }
    redactor = Redactor.from_environment(environ, [WEBHOOK])
    text = (
        f"posting to {WEBHOOK} with pa55w0rd! and tok_abcdef123456 via "
        "postgresql://loader:s3cr3t-pw@db.internal:5432/shop from /root"
    )
    redacted = redactor.redact(text)
    for secret in ("XXXXsecretXXXX", "pa55w0rd!", "tok_abcdef123456", "s3cr3t-pw"):
        assert secret not in redacted
    assert redacted.count(REDACTED) == 4
    assert "postgresql://loader:" in redacted, "the user and host stay readable"
    assert "/root" in redacted, "values of ordinary variables are not secrets"


def test_run_log_is_json_lines_with_run_id_and_step_and_no_secret(tmp_path: Path) -> None:
    console = io.StringIO()
    redactor = Redactor([WEBHOOK])
    with RunLogging(
        run_id="run-1",
        log_dir=tmp_path,
        log_format="text",
        level="INFO",
        redactor=redactor,
        stream=console,
    ) as run_logging:
        log = logging.getLogger("runner.test")
        log.info("started webhook=%s", WEBHOOK)
        with step_context("ingest"):
            log.warning("retrying url=%s", WEBHOOK)
            try:
                raise RuntimeError(f"cannot reach {WEBHOOK}")
            except RuntimeError:
                log.error("step failed", exc_info=True)
        logging.getLogger("dlt").warning("dlt says hello")
        log.debug("too detailed for INFO")
    assert run_logging.log_file == tmp_path / "run-run-1.jsonl"
    text = run_logging.log_file.read_text()
    assert "XXXXsecretXXXX" not in text
    assert "XXXXsecretXXXX" not in console.getvalue()
    entries = [json.loads(line) for line in text.splitlines()]
    assert [entry["step"] for entry in entries] == ["-", "ingest", "ingest", "-"]
    assert {entry["run_id"] for entry in entries} == {"run-1"}
    assert "RuntimeError" in entries[2]["exception"], "the file keeps the traceback"
    assert "Traceback" not in console.getvalue(), "the console shows it only under --debug"
    assert entries[3]["logger"] == "dlt", "dlt's non-propagating logger is routed in"
    assert "too detailed" not in text
    assert not any(
        isinstance(handler, ForwardToRoot) for handler in logging.getLogger("dlt").handlers
    ), "the run's handlers are removed after it"


def _report(outcome: str = "succeeded") -> RunReport:
    started = dt.datetime(2025, 11, 3, 22, 0, 0)
    step = StepResult(
        "ingest", started, started + dt.timedelta(seconds=5), "succeeded", Usage(4.5, 200 << 20)
    )
    report = RunReport("r1", "all", started, ["build"], steps=[step])
    report.sources = [SourceRows("shop", 120), SourceRows("bank", 30)]
    report.node_results = [
        NodeResult("inv", "build", "model.tally.fct_x", "model", "success", 1.0, 10, None, None),
        NodeResult("inv", "build", "test.tally.a", "test", "pass", 0.1, None, 0, None),
        NodeResult("inv", "build", 'test.tally.b"q', "test", "fail", 0.1, None, 3, "Got 3"),
    ]
    report.breaks_by_type = {"missing_payment": 2, "late_settlement": 1}
    report.days_closed, report.days_total = 7, 10
    report.outcome = outcome  # type: ignore[assignment]
    report.exit_code = 0 if outcome == "succeeded" else 4
    report.ended_at = started + dt.timedelta(seconds=42)
    report.usage = Usage(40.25, 512 << 20)
    return report


def _samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    families = text_string_to_metric_families(path.read_text())
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def test_metrics_file_parses_and_carries_the_run(tmp_path: Path) -> None:
    path = tmp_path / "tally.prom"
    write_metrics(path, _report())
    samples = _samples(path)
    assert samples[("tally_rows_loaded", (("source", "shop"),))] == 120
    assert samples[("tally_step_duration_seconds", (("step", "ingest"),))] == 5
    assert samples[("tally_run_cpu_seconds", (("command", "all"),))] == 40.25
    assert samples[("tally_run_peak_memory_bytes", (("command", "all"),))] == 512 << 20
    assert samples[("tally_reconciliation_breaks", (("break_type", "missing_payment"),))] == 2
    assert samples[("tally_dbt_tests", (("status", "fail"),))] == 1
    failing = (("status", "fail"), ("test", 'test.tally.b"q'))
    assert samples[("tally_test_failures", failing)] == 3, "label values are escaped"
    assert samples[("tally_run_outcome", (("command", "all"), ("outcome", "succeeded")))] == 1
    assert samples[("tally_business_days", (("state", "open"),))] == 3
    ended = dt.datetime(2025, 11, 3, 22, 0, 42).timestamp()
    assert samples[("tally_last_success_timestamp_seconds", ())] == ended
    assert [p.name for p in tmp_path.iterdir()] == ["tally.prom"], "no temporary file is left"


def test_a_failed_run_keeps_the_previous_last_success(tmp_path: Path) -> None:
    path = tmp_path / "tally.prom"
    write_metrics(path, _report("succeeded"))
    kept = read_last_success(path)
    assert kept is not None
    failed = _report("audit_failed")
    failed.ended_at = failed.started_at + dt.timedelta(days=1)
    write_metrics(path, failed)
    samples = _samples(path)
    assert samples[("tally_last_success_timestamp_seconds", ())] == kept
    assert samples[("tally_run_outcome", (("command", "all"), ("outcome", "audit_failed")))] == 1


def test_first_run_failing_has_no_last_success(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tally.prom"
    write_metrics(path, _report("failed"))
    names = {name for name, _ in _samples(path)}
    assert "tally_last_success_timestamp_seconds" not in names
    assert "tally_run_exit_code" in names


@pytest.mark.parametrize("content", ["", "garbage\n", "tally_last_success_timestamp_seconds x\n"])
def test_unreadable_previous_file_is_ignored(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tally.prom"
    path.write_text(content)
    assert read_last_success(path) is None
