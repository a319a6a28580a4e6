"""The watcher's mechanics, with a stand-in batch: no dlt, no dbt.

What is new starts a batch and nothing else does; a file that lands late starts its own batch;
a failed batch keeps its files pending; SIGTERM during a batch lets it finish, then stops the
watch; freshness reaches `ops.file_freshness` and the metrics file.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runner.results import EXIT_OK, EXIT_STEP_FAILED
from runner.steps import RunSteps
from runner.watch import Watcher, scan_landing

PART = "payments/2025-10-01/balance_transactions-1200.csv"
LATE_PART = "payments/2025-10-01/balance_transactions-2400.csv"


def _land(landing: Path, relative: str, text: str = "transaction_id\n") -> None:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class Batches:
    """A stand-in batch runner that records what the landing zone held at each batch."""

    def __init__(self, landing: Path, exit_codes: list[int] | None = None) -> None:
        self.landing = landing
        self.exit_codes = exit_codes or []
        self.seen: list[set[str]] = []
        self.after_batch: list[str] = []

    def __call__(self, run_id: str) -> int:
        assert run_id
        self.seen.append(set(scan_landing(self.landing)))
        if self.after_batch:
            _land(self.landing, self.after_batch.pop(0))
        return self.exit_codes.pop(0) if self.exit_codes else EXIT_OK


def _watcher(tmp_path: Path, batches: Batches) -> Watcher:
    return Watcher(
        landing=tmp_path / "landing",
        warehouse=tmp_path / "wh.duckdb",
        lock_file=tmp_path / "wh.lock",
        metrics_file=tmp_path / "logs" / "tally.prom",
        run_batch=batches,
    )


def test_files_outside_the_contract_start_no_batch(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _land(landing, "payments/2025-10-01/notes.txt")
    batches = Batches(landing)
    result = _watcher(tmp_path, batches).run(interval_seconds=0.01, max_polls=3)
    assert result.batches == 0
    assert result.stopped_by == "max_polls"


def test_a_late_part_is_picked_up_by_its_own_batch(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _land(landing, PART)
    batches = Batches(landing)
    batches.after_batch.append(LATE_PART)
    result = _watcher(tmp_path, batches).run(interval_seconds=0.01, max_batches=2)
    assert result.batches == 2
    assert batches.seen == [{PART}, {PART, LATE_PART}]

    with duckdb.connect(str(tmp_path / "wh.duckdb")) as connection:
        rows = connection.execute(
            "select source_file, source_system, arrival_to_mart_seconds >= 0,"
            " in_marts_at >= arrived_at from ops.file_freshness order by in_marts_at, source_file"
        ).fetchall()
    assert rows == [(PART, "payments", True, True), (LATE_PART, "payments", True, True)]

    metrics = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families((tmp_path / "logs" / "tally.prom").read_text())
        for sample in family.samples
    }
    assert metrics[("tally_watch_files_in_last_batch", (("source_system", "payments"),))] == 1
    assert ("tally_watch_arrival_to_mart_seconds", (("source_system", "payments"),)) in metrics


def test_a_failed_batch_keeps_its_files_for_the_next_poll(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _land(landing, PART)
    batches = Batches(landing, exit_codes=[EXIT_STEP_FAILED, EXIT_OK])
    result = _watcher(tmp_path, batches).run(interval_seconds=0.01, max_batches=2)
    assert batches.seen == [{PART}, {PART}], "the failed batch's file is retried unchanged"
    assert result.exit_code == EXIT_OK
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as connection:
        count = connection.execute("select count(*) from ops.file_freshness").fetchone()
    assert count == (1,), "only the batch that reached the marts records freshness"


def test_sigterm_during_a_batch_lets_it_finish_then_stops(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _land(landing, PART)
    finished: list[bool] = []

    def batch_that_gets_terminated(run_id: str) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        # Still running: the signal is held back until the batch returns.
        finished.append(True)
        return EXIT_OK

    before = signal.getsignal(signal.SIGTERM)
    watcher = Watcher(
        landing=landing,
        warehouse=tmp_path / "wh.duckdb",
        lock_file=tmp_path / "wh.lock",
        metrics_file=tmp_path / "tally.prom",
        run_batch=batch_that_gets_terminated,
    )
    result = watcher.run(interval_seconds=3600)
    assert finished == [True]
    assert result.batches == 1
    assert result.stopped_by == "signal SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == before, "the watcher restores the handler"


def test_sigterm_taken_by_another_thread_during_a_run_still_only_stops_the_watch(
    tmp_path: Path,
) -> None:
    # A thread started before the watch does not block SIGTERM; the kernel may hand it the
    # signal while the batch's steps run, and Python then calls the handler in force.
    landing = tmp_path / "landing"
    _land(landing, PART)
    stop_thread = threading.Event()
    earlier_thread = threading.Thread(target=stop_thread.wait, daemon=True)
    earlier_thread.start()
    finished: list[bool] = []
    dlt_intercepts: list[str | None] = []

    def batch_whose_steps_get_terminated(run_id: str) -> int:
        dlt_intercepts.append(os.environ.get("RUNTIME__INTERCEPT_SIGNALS"))
        steps = RunSteps.__new__(RunSteps)
        steps.interrupted = None
        with steps._sigterm_interrupts():  # as RunSteps.execute does around the steps
            assert earlier_thread.ident is not None
            signal.pthread_kill(earlier_thread.ident, signal.SIGTERM)
            time.sleep(0.2)  # the handler runs in the main thread at its next instruction
            finished.append(True)
        return EXIT_OK

    watcher = Watcher(
        landing=landing,
        warehouse=tmp_path / "wh.duckdb",
        lock_file=tmp_path / "wh.lock",
        metrics_file=tmp_path / "tally.prom",
        run_batch=batch_whose_steps_get_terminated,
    )
    try:
        result = watcher.run(interval_seconds=3600)
    finally:
        stop_thread.set()
    assert finished == [True], "the steps were not interrupted"
    assert dlt_intercepts == ["false"], "dlt must not install its own signal handlers"
    assert (result.batches, result.stopped_by) == (1, "signal SIGTERM")
    assert "RUNTIME__INTERCEPT_SIGNALS" not in os.environ


def test_a_batch_that_finds_the_warehouse_locked_waits_for_the_next_poll(tmp_path: Path) -> None:
    from runner.lock import warehouse_lock  # noqa: PLC0415

    landing = tmp_path / "landing"
    _land(landing, PART)
    batches = Batches(landing)

    def locked_then_free(run_id: str) -> int:
        if not batches.seen:
            batches.seen.append(set())
            lock = tmp_path / "wh.lock"
            # The second lock raises, as the batch's own run would while another run holds it.
            with (
                warehouse_lock(lock, run_id="other", started_at="now"),
                warehouse_lock(lock, run_id=run_id, started_at="now"),
            ):
                pass
        return batches(run_id)

    watcher = _watcher(tmp_path, batches)
    watcher.run_batch = locked_then_free
    result = watcher.run(interval_seconds=0.01, max_batches=2)
    assert result.exit_code == EXIT_OK
    assert batches.seen == [set(), {PART}]


@pytest.mark.parametrize("option", [["--interval", "0"], ["--max-batches", "0"]])
def test_watch_refuses_bad_options(tmp_path: Path, option: list[str]) -> None:
    from runner.cli import main  # noqa: PLC0415

    assert main(["--landing", str(tmp_path), "watch", *option]) == 2
