"""Scale profiles: named generator option sets, and `run.py demo --profile`."""

from __future__ import annotations

from datetime import date

import pytest

from demo.calendar import CALENDAR_END, CALENDAR_START, peak_name
from demo.profiles import PROFILES, ProfileError, scale_profile
from runner.cli import _demo_options, build_parser


def test_the_peak_day_profile_ends_on_a_peak_day() -> None:
    profile = scale_profile("peak-day")

    assert peak_name(profile.end) == "Black Friday"
    assert not peak_name(profile.end - date.resolution * 7)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_stays_inside_the_business_calendar(name: str) -> None:
    profile = PROFILES[name]

    assert CALENDAR_START <= profile.start <= profile.end <= CALENDAR_END


def test_an_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="five-years, one-year, peak-day"):
        scale_profile("ten-years")


def test_options_beside_a_profile_win_over_it() -> None:
    options = build_parser().parse_args(
        ["demo", "--profile", "five-years", "--orders-per-day", "1000"]
    )

    assert _demo_options(options) == {
        "start": date(2021, 1, 1),
        "days": 1826,
        "orders_per_day": 1000,
    }
