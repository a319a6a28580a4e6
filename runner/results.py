"""What a run produced: step results, dbt node results and the run's report, as records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

StepName = Literal["demo", "ingest", "build", "docs", "export"]
StepOutcome = Literal["succeeded", "audit_failed", "failed", "skipped"]
RunOutcome = Literal["running", "succeeded", "audit_failed", "failed", "locked", "error"]

# Exit codes (documented in docs/runner.md); "a step failed" wins over "an audit rule failed".
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_STEP_FAILED = 3
EXIT_AUDIT_FAILED = 4
EXIT_LOCKED = 5


@dataclass(frozen=True)
class Usage:
    """Resources a step or run used.

    Attributes:
        cpu_seconds: user + system CPU of this process and its finished children.
        peak_memory_bytes: highest resident set size seen while it ran.
    """

    cpu_seconds: float
    peak_memory_bytes: int


@dataclass(frozen=True)
class StepResult:
    """One step of one run, as stored in `ops.step_runs`."""

    step: StepName
    started_at: dt.datetime
    ended_at: dt.datetime
    outcome: StepOutcome
    usage: Usage
    rows: int | None = None
    error: str | None = None

    @property
    def duration_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class NodeResult:
    """One node of one dbt invocation, from its run_results.json (`ops.dbt_node_results`)."""

    invocation_id: str
    command: str
    unique_id: str
    resource_type: str
    status: str
    execution_time: float
    rows_affected: int | None
    failures: int | None
    message: str | None
    severity: str | None = None
    # `schema.table` of the test's stored failures (tests with store_failures only).
    failures_relation: str | None = None

    @property
    def is_failing_audit(self) -> bool:
        """A test of severity error that found rows: an audit rule is broken."""
        return self.resource_type in {"test", "unit_test"} and self.status == "fail"

    @property
    def is_error(self) -> bool:
        """The node could not run at all (bad SQL, missing relation, ...)."""
        return self.status in {"error", "runtime error"}


@dataclass(frozen=True)
class SourceRows:
    """Rows loaded from one upstream system in this run."""

    source: str
    rows_loaded: int
    files_rejected: int = 0


@dataclass
class RunReport:
    """Everything known about a run once its steps are done: the input to records, metrics,
    alerts and the printed summary."""

    run_id: str
    command: str
    started_at: dt.datetime
    arguments: list[str]
    steps: list[StepResult] = field(default_factory=list)
    node_results: list[NodeResult] = field(default_factory=list)
    sources: list[SourceRows] = field(default_factory=list)
    breaks_by_type: dict[str, int] | None = None
    days_closed: int | None = None
    days_total: int | None = None
    ended_at: dt.datetime | None = None
    usage: Usage | None = None
    outcome: RunOutcome = "running"
    exit_code: int | None = None
    error: str | None = None

    @property
    def rows_loaded(self) -> int | None:
        """Rows loaded over all sources, or None when the run did not ingest."""
        return sum(source.rows_loaded for source in self.sources) if self.sources else None

    @property
    def failed_step(self) -> StepResult | None:
        """The first step that failed, if any."""
        return next((step for step in self.steps if step.outcome == "failed"), None)

    @property
    def failing_tests(self) -> list[NodeResult]:
        """Tests of severity error that failed, in invocation order."""
        return [node for node in self.node_results if node.is_failing_audit]

    def test_counts(self) -> dict[str, int]:
        """Tests by status (pass, warn, fail, error, skipped) over the run's dbt builds."""
        counts: dict[str, int] = {}
        for node in self.node_results:
            if node.command == "build" and node.resource_type in {"test", "unit_test"}:
                counts[node.status] = counts.get(node.status, 0) + 1
        return counts

    def models_built(self) -> int:
        """Models that dbt built successfully in this run."""
        return sum(
            1
            for node in self.node_results
            if node.command == "build"
            and node.resource_type == "model"
            and node.status == "success"
        )
