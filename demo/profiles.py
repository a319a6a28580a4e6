"""Named scale profiles for the demo generator: option sets that benchmarks and operators share.

`python run.py demo --profile five-years` generates the profile's days; options given beside
`--profile` win over its values. The generator streams day by day, so a profile's size bounds
disk and time, never memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ingest.errors import TallyError


class ProfileError(TallyError):
    """A scale profile name is not known."""


@dataclass(frozen=True)
class ScaleProfile:
    """A named set of generator options.

    Attributes:
        name: what `--profile` takes.
        description: one line for `--help` and BENCHMARKS.md.
        start: the first day.
        days: calendar days to generate.
        orders_per_day: an ordinary weekday's orders at `start`.
    """

    name: str
    description: str
    start: date
    days: int
    orders_per_day: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def options(self) -> dict[str, Any]:
        """The profile as keyword arguments of `demo.generator.DemoConfig`."""
        return {"start": self.start, "days": self.days, "orders_per_day": self.orders_per_day}


# Black Friday 2025: the last day of the `peak-day` profile, three times an ordinary Friday.
BLACK_FRIDAY_2025 = date(2025, 11, 28)

PROFILES: dict[str, ScaleProfile] = {
    profile.name: profile
    for profile in (
        ScaleProfile(
            name="five-years",
            description=(
                "2021-2025 at 3,300 orders a day growing 25% a year: about 10 million orders"
            ),
            start=date(2021, 1, 1),
            days=1826,
            orders_per_day=3300,
        ),
        ScaleProfile(
            name="one-year",
            description="2025 at 1,000 orders a day: about 0.4 million orders",
            start=date(2025, 1, 1),
            days=365,
            orders_per_day=1000,
        ),
        ScaleProfile(
            name="peak-day",
            description=(
                "30 days at 1,000 orders a day ending on Black Friday 2025, a 3x peak day"
            ),
            start=BLACK_FRIDAY_2025 - timedelta(days=29),
            days=30,
            orders_per_day=1000,
        ),
    )
}


def scale_profile(name: str) -> ScaleProfile:
    """The profile called `name`.

    Raises:
        ProfileError: no profile has that name; the message lists those that exist.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(
            f"unknown demo profile `{name}`; choose one of {', '.join(sorted(PROFILES))}"
        ) from None
