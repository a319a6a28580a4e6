"""Resolved settings of one run: command-line options over `TALLY_*` environment variables.

Environment variables read: TALLY_LANDING, TALLY_WAREHOUSE, TALLY_TARGET, TALLY_ALERT_WEBHOOK,
TALLY_METRICS_FILE, TALLY_LOG_DIR, and DBT_TARGET_PATH (where dbt writes target/).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runner.errors import UsageError

PROJECT_DIR = Path(__file__).resolve().parent.parent

LogFormat = Literal["text", "json"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# dbt's node selection grammar: names, paths, methods (`tag:`), graph operators (`+`, `@`, `*`),
# unions (space) and intersections (`,`). Anything else (Jinja braces, quotes, `;`) is refused
# before it reaches dbt.
_SELECTOR_PATTERN = re.compile(r"[A-Za-z0-9_.:+*@,/\- ]+")
_SELECTOR_ALLOWED = "letters, digits, spaces and `_ . : + * @ , / -`"


# dbt targets (profiles.yml) that read raw from the lake (TALLY_LAKE) rather than DuckDB.
LAKE_TARGETS = frozenset({"spark", "spark_cluster"})


@dataclass(frozen=True)
class Window:
    """An inclusive range of business dates to rebuild (a backfill)."""

    start: dt.date
    end: dt.date

    @property
    def end_exclusive(self) -> dt.date:
        """The day after `end`: dbt's `--event-time-end` is an exclusive bound."""
        return self.end + dt.timedelta(days=1)

    def reaching_back(self, days: int) -> Window:
        """The same window, starting `days` earlier."""
        return Window(self.start - dt.timedelta(days=days), self.end)


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, validated."""

    landing: Path
    warehouse: Path
    target: str | None
    log_dir: Path
    metrics_file: Path
    alert_webhook: str | None
    dbt_target_path: Path
    select: str | None = None
    full_refresh: bool = False
    window: Window | None = None
    log_format: LogFormat = "text"
    log_level: str = "INFO"
    debug: bool = False
    project_dir: Path = PROJECT_DIR
    lake: Path = PROJECT_DIR / "data" / "lake"

    @property
    def reads_raw_from_lake(self) -> bool:
        """True for the Spark targets: ingest writes the lake, and dbt reads raw from there."""
        return self.target in LAKE_TARGETS

    @property
    def lock_file(self) -> Path:
        """The lock file beside the warehouse, e.g. `data/warehouse.duckdb.lock`."""
        return self.warehouse.with_name(self.warehouse.name + ".lock")


def validate_selector(selector: str) -> str:
    """Return `selector` if it only uses dbt's selection grammar.

    Raises:
        UsageError: the selector is empty or holds a character outside the grammar.
    """
    stripped = selector.strip()
    if not stripped or not _SELECTOR_PATTERN.fullmatch(stripped):
        raise UsageError(
            "--select",
            selector,
            f"is not a dbt selector; use only {_SELECTOR_ALLOWED}, e.g. "
            "`--select staging+` or `--select tag:daily`",
        )
    return stripped


def parse_date(option: str, value: str) -> dt.date:
    """Parse an ISO date (YYYY-MM-DD) given to `option`.

    Raises:
        UsageError: the value is not an ISO date.
    """
    try:
        return dt.date.fromisoformat(value)
    except ValueError as err:
        raise UsageError(option, value, "is not an ISO date; write it as YYYY-MM-DD") from err


def parse_window(start: str | None, end: str | None) -> Window | None:
    """Turn `--start`/`--end` into a window, or None when neither is given.

    Raises:
        UsageError: only one bound is given, a bound is not a date, or start is after end.
    """
    if start is None and end is None:
        return None
    if start is None or end is None:
        given, missing = ("--start", "--end") if end is None else ("--end", "--start")
        raise UsageError(
            given,
            start or end or "",
            f"needs {missing} too; for a single day pass the same date to both",
        )
    window = Window(parse_date("--start", start), parse_date("--end", end))
    if window.start > window.end:
        raise UsageError("--start", start, f"is after --end `{end}`; the window must run forwards")
    return window


def parse_log_level(value: str) -> str:
    """Normalise a log level name.

    Raises:
        UsageError: the name is not one of DEBUG, INFO, WARNING, ERROR.
    """
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise UsageError("--log-level", value, f"is not one of {', '.join(LOG_LEVELS)}")
    return level


def resolve_settings(
    *,
    landing: str | None = None,
    warehouse: str | None = None,
    target: str | None = None,
    select: str | None = None,
    full_refresh: bool = False,
    start: str | None = None,
    end: str | None = None,
    log_format: LogFormat = "text",
    log_level: str = "INFO",
    debug: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Combine options with the environment; options win, then variables, then defaults.

    Relative paths are resolved against the current directory, once, so that dbt (which reads
    the warehouse path from TALLY_WAREHOUSE) and the runner agree on the file.

    Raises:
        UsageError: an option or variable is invalid.
    """
    env = os.environ if environ is None else environ
    webhook = env.get("TALLY_ALERT_WEBHOOK", "").strip() or None
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise UsageError(
            "TALLY_ALERT_WEBHOOK", "<redacted>", "is not an http(s) URL; set it or unset it"
        )
    log_dir = _path(env.get("TALLY_LOG_DIR") or "logs")
    return Settings(
        landing=_path(landing or env.get("TALLY_LANDING") or "data/landing"),
        warehouse=_path(warehouse or env.get("TALLY_WAREHOUSE") or "data/warehouse.duckdb"),
        target=target or env.get("TALLY_TARGET") or None,
        log_dir=log_dir,
        metrics_file=_path(env.get("TALLY_METRICS_FILE") or str(log_dir / "tally.prom")),
        alert_webhook=webhook,
        dbt_target_path=_path(env.get("DBT_TARGET_PATH") or str(PROJECT_DIR / "target")),
        select=validate_selector(select) if select is not None else None,
        full_refresh=full_refresh,
        window=parse_window(start, end),
        log_format=log_format,
        log_level=parse_log_level(log_level),
        debug=debug,
        lake=_path(env.get("TALLY_LAKE") or "data/lake"),
    )


def _path(value: str) -> Path:
    return Path(value).expanduser().resolve()
