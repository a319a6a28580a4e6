"""Alerts: delivery to a local webhook, retries with backoff, and never crashing the run."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from runner.alerts import RetryPolicy, alert_if_needed, build_alert, send_alert
from runner.results import NodeResult, RunReport, StepResult, Usage

FAST = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.05, timeout=2.0)


class _Receiver:
    """A webhook on 127.0.0.1 answering with the queued statuses, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token"


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    started: list[_Receiver] = []

    def start(statuses: list[int]) -> _Receiver:
        receiver = _Receiver(statuses)
        threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


def _failed_report() -> RunReport:
    now = dt.datetime(2025, 11, 4, 2, 0)
    report = RunReport("r42", "all", now, [])
    report.steps = [
        StepResult("ingest", now, now, "succeeded", Usage(1.0, 1)),
        StepResult("build", now, now, "audit_failed", Usage(1.0, 1)),
    ]
    report.node_results = [
        NodeResult("inv1", "build", "test.tally.assert_x", "test", "fail", 0.1, None, 2, "Got 2"),
        NodeResult("inv1", "build", "test.tally.warned", "test", "warn", 0.1, None, 1, "Got 1"),
    ]
    report.breaks_by_type = {"amount_mismatch": 3}
    report.outcome, report.exit_code = "audit_failed", 4
    return report


def test_alert_body_is_slack_text_plus_structured_fields() -> None:
    body = build_alert(_failed_report())
    assert "r42" in body["text"]
    assert "test.tally.assert_x" in body["text"]
    assert body["run_id"] == "r42"
    assert body["outcome"] == "audit_failed"
    assert body["failed_step"] is None
    assert [test["unique_id"] for test in body["failing_tests"]] == ["test.tally.assert_x"]
    assert body["breaks"] == {"amount_mismatch": 3}


def test_alert_names_the_failed_step() -> None:
    report = _failed_report()
    now = report.started_at
    report.steps.append(StepResult("docs", now, now, "failed", Usage(0, 0), error="boom"))
    report.outcome = "failed"
    body = build_alert(report)
    assert body["failed_step"] == {"step": "docs", "error": "boom"}
    assert "step `docs` failed: boom" in body["text"]


def test_delivered_on_first_try(receiver_factory: Any) -> None:
    receiver = receiver_factory([])
    assert alert_if_needed(_failed_report(), receiver.url, FAST)
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["run_id"] == "r42"


def test_retries_after_two_failures_then_succeeds(
    receiver_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = receiver_factory([503, 500])
    waits: list[float] = []
    assert send_alert(receiver.url, {"text": "x"}, FAST, sleep=waits.append)
    assert len(receiver.bodies) == 3
    assert waits == [0.01, 0.02], "exponential backoff"
    assert "secret-token" not in caplog.text


def test_a_client_error_is_not_retried(receiver_factory: Any) -> None:
    receiver = receiver_factory([404])
    assert not send_alert(receiver.url, {"text": "x"}, FAST, sleep=lambda _: None)
    assert len(receiver.bodies) == 1


def test_unreachable_webhook_is_logged_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook/secret-token"
    waits: list[float] = []
    assert not send_alert(url, {"text": "x"}, FAST, sleep=waits.append)
    assert waits == [0.01, 0.02, 0.04], "bounded: attempts - 1 waits, capped"
    assert "undeliverable" in caplog.text
    assert "secret-token" not in caplog.text


def test_no_alert_for_a_successful_run(receiver_factory: Any) -> None:
    receiver = receiver_factory([])
    report = _failed_report()
    report.outcome = "succeeded"
    assert not alert_if_needed(report, receiver.url, FAST)
    assert receiver.bodies == []
