"""The runner's option validation: selectors, backfill windows and usage exit codes."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml

from runner.cli import main
from runner.dbt import event_time_batch_size
from runner.errors import UsageError
from runner.results import EXIT_USAGE
from runner.settings import Window, parse_window, resolve_settings, validate_selector
from runner.windows import MATCHING_LAG_DAYS


@pytest.mark.parametrize(
    "selector",
    [
        "staging+",
        "+fct_daily_close",
        "tag:daily,config.materialized:table",
        "@int_orders_matched_to_payments",
        "path:models/marts/finance stg_shop__orders",
        "source:raw_bank.statement_lines+",
        "fct_*",
        "1+fct_reconciliation_breaks-x",
    ],
)
def test_selector_grammar_is_accepted(selector: str) -> None:
    assert validate_selector(selector) == selector


@pytest.mark.parametrize(
    "selector",
    ["{{ var('x') }}", "a;drop table x", "a%b", "'quoted'", '"quoted"', "", "   ", "a}"],
)
def test_selector_outside_the_grammar_is_refused(selector: str) -> None:
    with pytest.raises(UsageError) as caught:
        validate_selector(selector)
    assert "--select" in str(caught.value)
    assert "letters, digits" in str(caught.value)


def test_window_is_inclusive_and_exclusive_end_is_the_next_day() -> None:
    window = parse_window("2025-11-03", "2025-11-05")
    assert window is not None
    assert (window.start, window.end) == (dt.date(2025, 11, 3), dt.date(2025, 11, 5))
    assert window.end_exclusive == dt.date(2025, 11, 6)
    assert parse_window(None, None) is None


@pytest.mark.parametrize(
    ("start", "end", "complaint"),
    [
        ("2025-11-05", "2025-11-03", "after --end"),
        ("2025-13-01", "2025-12-01", "not an ISO date"),
        ("yesterday", "2025-12-01", "not an ISO date"),
        ("2025-11-03", None, "needs --end"),
        (None, "2025-11-03", "needs --start"),
    ],
)
def test_bad_windows_are_refused(start: str | None, end: str | None, complaint: str) -> None:
    with pytest.raises(UsageError, match=complaint):
        parse_window(start, end)


def test_options_win_over_environment_and_paths_are_absolute(tmp_path: Path) -> None:
    environ = {
        "TALLY_LANDING": str(tmp_path / "env-landing"),
        "TALLY_WAREHOUSE": "relative/wh.duckdb",
        "TALLY_LOG_DIR": str(tmp_path / "logs"),
    }
    settings = resolve_settings(landing=str(tmp_path / "cli-landing"), environ=environ)
    assert settings.landing == tmp_path / "cli-landing"
    assert settings.warehouse.is_absolute()
    assert settings.warehouse.name == "wh.duckdb"
    assert settings.metrics_file == tmp_path / "logs" / "tally.prom"
    assert settings.lock_file.name == "wh.duckdb.lock"
    assert settings.alert_webhook is None


def test_a_webhook_that_is_not_a_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(UsageError) as caught:
        resolve_settings(environ={"TALLY_ALERT_WEBHOOK": "hunter2-secret-token"})
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "arguments",
    [
        ["build", "--select", "{{ evil }}"],
        ["build", "--start", "2025-11-05", "--end", "2025-11-01"],
        ["--start", "2025-11-05"],
        ["--log-level", "chatty", "status"],
        ["status", "--limit", "0"],
        ["no-such-command"],
        ["--log-format", "xml"],
    ],
)
def test_usage_errors_exit_2_with_one_line(
    arguments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "wh.duckdb"
    assert main([*arguments, "--warehouse", str(warehouse)]) == EXIT_USAGE
    assert not warehouse.exists(), "validation must happen before the warehouse is touched"
    error = capsys.readouterr().err.strip()
    assert error
    assert "Traceback" not in error


def test_help_lists_commands_exit_codes_and_variables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for expected in ("demo", "ingest", "build", "docs", "status", "TALLY_ALERT_WEBHOOK"):
        assert expected in text
    assert "4  an audit rule failed" in text


def test_a_nightly_window_reaches_back_past_the_longest_settlement() -> None:
    """A payout is due `payout_settlement_business_days` business days after its date; the
    window of a nightly must reach back over that many business days from any day of the
    business calendar, weekends and holidays included."""
    project = Path(__file__).resolve().parents[2]
    settlement_days = yaml.safe_load((project / "dbt_project.yml").read_text())["vars"][
        "payout_settlement_business_days"
    ]
    with (project / "seeds" / "business_calendar.csv").open(newline="") as calendar:
        business_days = [
            dt.date.fromisoformat(row["calendar_date"])
            for row in csv.DictReader(calendar)
            if row["is_business_day"] == "true"
        ]
    longest = max(
        (later - earlier).days
        for earlier, later in zip(business_days, business_days[settlement_days:], strict=False)
    )
    assert longest <= MATCHING_LAG_DAYS, (longest, MATCHING_LAG_DAYS)


def test_event_time_batches_are_years_only_for_windows_of_years_with_memory_for_them() -> None:
    day = dt.date(2025, 3, 1)
    months, years = (
        Window(day, day + dt.timedelta(days=60)),
        Window(day, day + dt.timedelta(days=5 * 365)),
    )
    four_gb, under_two_gib = 4 * 1000**3, 1536 * 1000**2
    assert event_time_batch_size(None, four_gb) == "month"
    assert event_time_batch_size(months, four_gb) == "month"
    assert event_time_batch_size(years, four_gb) == "year"
    # A year's batch outgrows a 2 GiB cap: a backfill under it goes a month at a time.
    assert event_time_batch_size(years, under_two_gib) == "month"
