"""Alerts: a JSON POST to TALLY_ALERT_WEBHOOK when a step or an audit rule fails.

The body is Slack-compatible (`text`) and carries structured fields for other receivers
(run_id, outcome, failed_step, failing_tests, breaks). Delivery is retried with exponential
backoff on network errors, 429 and 5xx; an alert that cannot be delivered is logged and never
fails the run. The webhook URL is a secret: it is never logged.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.results import RunReport

logger = logging.getLogger(__name__)

# How many failing tests an alert lists by name; the count is always complete.
_MAX_TESTS_LISTED = 20


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try delivering one alert.

    Attributes:
        attempts: total tries, the first included.
        initial_delay: seconds before the second try; doubled before each later one.
        max_delay: upper bound of any single wait.
        timeout: seconds to wait for the receiver on each try.
    """

    attempts: int = 4
    initial_delay: float = 1.0
    max_delay: float = 8.0
    timeout: float = 10.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before try number `attempt` (2, 3, ...)."""
        return min(self.initial_delay * 2 ** (attempt - 2), self.max_delay)


def should_alert(report: RunReport) -> bool:
    """A failed step, a failed audit rule or an unexpected error deserves an alert."""
    return report.outcome in {"failed", "audit_failed", "error"}


def build_alert(report: RunReport) -> dict[str, Any]:
    """The alert body for a finished run."""
    failed_step = report.failed_step
    failing_tests = report.failing_tests
    breaks = dict(sorted((report.breaks_by_type or {}).items()))
    if failed_step is not None:
        headline = f"step `{failed_step.step}` failed: {failed_step.error}"
    elif failing_tests:
        headline = f"{len(failing_tests)} audit rule(s) failed"
    else:
        headline = report.error or f"run ended with outcome {report.outcome}"
    lines = [f"Tally run `{report.run_id}` ({report.command}): {headline}"]
    lines += [f"- {node.unique_id}: {node.failures} row(s)" for node in failing_tests[:5]]
    if breaks:
        lines.append("Breaks: " + ", ".join(f"{kind}={count}" for kind, count in breaks.items()))
    return {
        "text": "\n".join(lines),
        "run_id": report.run_id,
        "command": report.command,
        "outcome": report.outcome,
        "exit_code": report.exit_code,
        "failed_step": (
            {"step": failed_step.step, "error": failed_step.error} if failed_step else None
        ),
        "failing_tests": [
            {"unique_id": node.unique_id, "failures": node.failures, "message": node.message}
            for node in failing_tests[:_MAX_TESTS_LISTED]
        ],
        "failing_test_count": len(failing_tests),
        "breaks": breaks,
    }


def send_alert(
    url: str,
    payload: dict[str, Any],
    policy: RetryPolicy | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST `payload` as JSON to `url`, retrying transient failures.

    Returns:
        True if the receiver accepted it (2xx), False if it could not be delivered.
    """
    policy = policy or RetryPolicy()
    body = json.dumps(payload).encode("utf-8")
    for attempt in range(1, policy.attempts + 1):
        if attempt > 1:
            sleep(policy.delay_before(attempt))
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout) as response:
                logger.info("alert delivered status=%d attempt=%d", response.status, attempt)
                return True
        except urllib.error.HTTPError as err:
            if err.code != 429 and err.code < 500:
                logger.warning(
                    "alert rejected status=%d attempt=%d; check TALLY_ALERT_WEBHOOK",
                    err.code,
                    attempt,
                )
                return False
            problem = f"status={err.code}"
        except (http.client.HTTPException, OSError) as err:  # URLError is an OSError
            reason = getattr(err, "reason", err)
            problem = f"error={type(reason).__name__}"
        logger.warning("alert not delivered %s attempt=%d of=%d", problem, attempt, policy.attempts)
    logger.error("alert undeliverable after attempts=%d; the run goes on", policy.attempts)
    return False


def alert_if_needed(report: RunReport, webhook: str | None, policy: RetryPolicy | None) -> bool:
    """Send the run's alert when it deserves one and a webhook is set.

    Returns:
        True if an alert was delivered.
    """
    if not should_alert(report):
        return False
    if webhook is None:
        logger.info("alert not sent outcome=%s reason=TALLY_ALERT_WEBHOOK unset", report.outcome)
        return False
    try:
        return send_alert(webhook, build_alert(report), policy)
    except Exception:
        # An alert must never be the reason a run crashes; log the bug and carry on.
        logger.exception("alert failed unexpectedly")
        return False
