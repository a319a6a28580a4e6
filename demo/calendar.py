"""The business calendar shared by the demo generator and the warehouse.

Business days are Monday to Friday, except the fixed holidays (1 January, 25 and 26
December). Peak days are Black Friday (the fourth Friday of November) and Cyber Monday (the
Monday after it). The generator books payouts and posts salaries by these rules, and dbt reads
the same rules from the seed `seeds/business_calendar.csv`, which `python -m demo.calendar`
writes; a test checks that the two agree.
"""

from __future__ import annotations

import csv
import logging
import sys
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)

CALENDAR_START = date(2020, 1, 1)
CALENDAR_END = date(2031, 12, 31)
SEED_PATH = Path(__file__).resolve().parents[1] / "seeds" / "business_calendar.csv"
SEED_HEADER = (
    "calendar_date",
    "day_of_week",
    "is_business_day",
    "is_holiday",
    "holiday_name",
    "is_peak_day",
    "peak_name",
)

_FIXED_HOLIDAYS = {
    (1, 1): "New Year's Day",
    (12, 25): "Christmas Day",
    (12, 26): "Boxing Day",
}
_FRIDAY = 4


class CalendarDay(NamedTuple):
    """One row of the business calendar seed."""

    calendar_date: date
    day_of_week: int
    is_business_day: bool
    is_holiday: bool
    holiday_name: str | None
    is_peak_day: bool
    peak_name: str | None


def black_friday(year: int) -> date:
    """The fourth Friday of November of `year`."""
    first = date(year, 11, 1)
    first_friday = first + timedelta(days=(_FRIDAY - first.weekday()) % 7)
    return first_friday + timedelta(weeks=3)


def holiday_name(day: date) -> str | None:
    """The name of the holiday on `day`, or None on an ordinary day."""
    return _FIXED_HOLIDAYS.get((day.month, day.day))


def peak_name(day: date) -> str | None:
    """`Black Friday` or `Cyber Monday` on those days, else None."""
    friday = black_friday(day.year)
    if day == friday:
        return "Black Friday"
    if day == friday + timedelta(days=3):
        return "Cyber Monday"
    return None


def is_business_day(day: date) -> bool:
    """Whether the bank books on `day`: a weekday that is not a holiday."""
    return day.weekday() < 5 and holiday_name(day) is None


def add_business_days(day: date, count: int) -> date:
    """The `count`-th business day after `day` (count >= 1); `day` itself never counts."""
    if count < 1:
        raise ValueError(f"business day count must be at least 1, got `{count}`")
    current = day
    remaining = count
    while remaining:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def previous_business_day_or_same(day: date) -> date:
    """`day` when it is a business day, else the last business day before it."""
    current = day
    while not is_business_day(current):
        current -= timedelta(days=1)
    return current


def calendar_days(start: date = CALENDAR_START, end: date = CALENDAR_END) -> Iterator[CalendarDay]:
    """Every day from `start` to `end` inclusive, classified by the calendar's rules."""
    day = start
    while day <= end:
        holiday = holiday_name(day)
        peak = peak_name(day)
        yield CalendarDay(
            calendar_date=day,
            day_of_week=day.isoweekday(),
            is_business_day=is_business_day(day),
            is_holiday=holiday is not None,
            holiday_name=holiday,
            is_peak_day=peak is not None,
            peak_name=peak,
        )
        day += timedelta(days=1)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def write_seed(path: Path = SEED_PATH) -> int:
    """Write the calendar seed CSV for 2020-01-01..2031-12-31.

    Args:
        path: where to write; the repo's `seeds/business_calendar.csv` by default.

    Returns:
        The number of days written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SEED_HEADER)
        for row in calendar_days():
            writer.writerow(
                (
                    row.calendar_date.isoformat(),
                    row.day_of_week,
                    _flag(row.is_business_day),
                    _flag(row.is_holiday),
                    row.holiday_name or "",
                    _flag(row.is_peak_day),
                    row.peak_name or "",
                )
            )
            count += 1
    logger.info("wrote calendar seed path=%s days=%d", path, count)
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the seed: `python -m demo.calendar [PATH]`."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    write_seed(Path(args[0]) if args else SEED_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
