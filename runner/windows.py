"""Which business days a build must rebuild: the days touched by raw loads it has not seen.

The large facts are incremental by event time (dbt microbatch). Left to itself, dbt picks the
batches to run from the wall clock, which misses a file that arrives late or a demo history
dated in the past. Instead the runner reads, from raw, the business dates of every complete
load newer than the last build's watermark (file dates from `landed_files`, order dates of
changed shop orders) and passes them as the build's event-time window. The cost of a nightly
build then follows the new data, and late data of any age is rebuilt in its own batch.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import duckdb

from runner.settings import Window

logger = logging.getLogger(__name__)

FILE_SYSTEMS = ("payments", "bank", "ledger", "fx")
# The longest a record waits for the one it is matched with, in calendar days: a payout's bank
# line comes up to `payout_settlement_business_days` (3) business days after the payout, seven
# calendar days over the holidays of the business calendar. A nightly's window reaches back
# this far, so a payout that a new bank line settles is matched again
# (tests/python/test_runner_settings.py ties the figure to the var and the calendar).
MATCHING_LAG_DAYS = 7
DATE_IN_PATH = r"(\d{4}-\d{2}-\d{2})"
# The UTC day of an order, as staging reads it: a timestamp without an offset is UTC, one with
# an offset may fall on the day before or after the date it is written with.
ORDER_UTC_DATE = (
    "cast(coalesce(try_cast(ordered_at || '+00:00' as timestamptz),"
    " try_cast(ordered_at as timestamptz)) at time zone 'UTC' as date)"
)


@dataclass(frozen=True)
class RawHistory:
    """What raw holds, as far as the build's windows are concerned.

    Attributes:
        first_date: the earliest business date in raw, or None when raw is empty.
        newest_load_id: the newest complete load in raw: the watermark once a build used it.
        pending: the business days touched by loads newer than the last build's watermark.
        last_date: the latest business date in raw, or None when raw is empty.
    """

    first_date: dt.date | None
    newest_load_id: str | None
    pending: Window | None
    last_date: dt.date | None = None

    @property
    def whole(self) -> Window | None:
        """Every business day raw holds, for a full refresh; None when raw is empty."""
        if self.first_date is None or self.last_date is None:
            return None
        return Window(self.first_date, self.last_date)


def _existing_tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_schema like 'raw\\_%' escape '\\'"
    ).fetchall()
    return {row[0] for row in rows}


def _file_dates_sql(tables: set[str]) -> list[str]:
    """Selects of (business_date, load id) of every landed file: one row per file and load."""
    return [
        f"select try_cast(regexp_extract(_source_file, '{DATE_IN_PATH}', 1) as date)"
        f" as business_date, _dlt_load_id from raw_{system}.landed_files"
        for system in FILE_SYSTEMS
        if f"raw_{system}.landed_files" in tables
    ]


def _complete_loads_sql(tables: set[str]) -> str | None:
    schemas = sorted({table.split(".")[0] for table in tables if table.endswith("._dlt_loads")})
    if not schemas:
        return None
    return " union all ".join(
        f"select load_id from {schema}._dlt_loads where status = 0" for schema in schemas
    )


def _order_date_bounds(
    connection: duckdb.DuckDBPyConnection,
) -> tuple[dt.date | None, dt.date | None]:
    """Bounds of the UTC days of every shop order, without casting ten million timestamps.

    The smallest and largest `ordered_at` texts that start with a digit are ISO timestamps
    whose local day is within a day of their UTC day (offsets stay within 14 hours), so a day
    either side of them bounds every order. Only when an extreme text is not a timestamp are
    the orders' days computed one by one.
    """
    lowest, highest = connection.execute(
        "select min(ordered_at), max(ordered_at) from raw_shop.orders"
        " where ordered_at >= '0' and ordered_at < ':'"
    ).fetchone() or (None, None)
    if lowest is None:
        return None, None
    first, last = connection.execute(
        "select cast(try_cast($lowest as timestamptz) at time zone 'UTC' as date) - 1,"
        " cast(try_cast($highest as timestamptz) at time zone 'UTC' as date) + 1",
        {"lowest": lowest[:10], "highest": highest[:10]},
    ).fetchone() or (None, None)
    if first is None or last is None:
        first, last = connection.execute(
            f"select min({ORDER_UTC_DATE}), max({ORDER_UTC_DATE}) from raw_shop.orders"
        ).fetchone() or (None, None)
    return first, last


def read_raw_history(connection: duckdb.DuckDBPyConnection, watermark: str | None) -> RawHistory:
    """Reads raw's first date, newest complete load and the days loaded after `watermark`.

    Only the rows of loads after the watermark are dated one by one, so the cost follows the
    new loads, not the history.

    Args:
        connection: an open connection to the warehouse.
        watermark: the newest load id the last successful build covered, or None.

    Returns:
        The history; `pending` is None when nothing was loaded after the watermark.
    """
    tables = _existing_tables(connection)
    file_dates = _file_dates_sql(tables)
    loads = _complete_loads_sql(tables)
    has_orders = "raw_shop.orders" in tables
    if (not file_dates and not has_orders) or loads is None:
        return RawHistory(None, None, None)
    # Load ids are dlt's start timestamps as text: compared as numbers, never as strings.
    new_loads = (
        f"select load_id from ({loads}) as complete_loads"
        " where $watermark is null or cast(load_id as double) > cast($watermark as double)"
    )
    pending_dated = [
        f"select dated.business_date from ({select}) as dated"
        f" where dated._dlt_load_id in ({new_loads})"
        for select in file_dates
    ]
    if has_orders:
        pending_dated.append(
            f"select {ORDER_UTC_DATE} as business_date from raw_shop.orders"
            f" where _dlt_load_id in ({new_loads})"
        )
    all_file_dates = (
        " union all ".join(
            f"select dated.business_date from ({select}) as dated"
            f" where dated._dlt_load_id in ({loads})"
            for select in file_dates
        )
        or "select cast(null as date) as business_date"
    )
    newest, pending_start, pending_end, first_file_date, last_file_date = connection.execute(
        f"""
        with pending as ({" union all ".join(pending_dated)}),
        file_days as ({all_file_dates})
        select
            (select load_id from ({loads}) as complete_loads
             order by cast(load_id as double) desc limit 1),
            (select min(business_date) from pending),
            (select max(business_date) from pending),
            (select min(business_date) from file_days),
            (select max(business_date) from file_days)
        """,
        {"watermark": watermark},
    ).fetchone() or (None, None, None, None, None)
    first_order_date, last_order_date = (
        _order_date_bounds(connection) if has_orders else (None, None)
    )
    first_date = min(
        (day for day in (first_file_date, first_order_date) if day is not None), default=None
    )
    last_date = max(
        (day for day in (last_file_date, last_order_date) if day is not None), default=None
    )
    pending = None if pending_start is None else Window(pending_start, pending_end)
    return RawHistory(first_date, newest, pending, last_date)
