"""What the generator carries from one run to the next, so a later run extends the landing zone.

Stored as `<truth dir>/generator_state.json`: id counters, the last FX rates and bank balance,
payouts not booked yet and order events still to come (shipments, cancellations, refunds).
Customers and products are read back from the shop database itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

STATE_FILE_NAME = "generator_state.json"
STATE_VERSION = 1

# An order event: (kind, order id, currency, amount); currency and amount only for refunds.
OrderEvent = tuple[str, str, str, int]


@dataclass
class Payout:
    """One processor payout: every succeeded transaction of a day in one currency."""

    payout_id: str
    payout_date: date
    currency: str
    gross_minor: int
    fee_minor: int
    net_minor: int
    booking_date: date
    # `clean` or the break type the payout carries.
    fate: str = "clean"
    bank_amount_minor: int = 0


@dataclass
class Counters:
    """The last number used for each kind of id."""

    customer: int = 0
    product: int = 0
    order: int = 0
    order_line: int = 0
    transaction: int = 0
    bank_line: int = 0
    journal: int = 0


@dataclass
class GeneratorState:
    """Everything that outlives a day: the only memory the generator keeps between days."""

    first_day: date
    last_day: date | None
    counters: Counters
    fx_rates_e4: dict[str, int]
    bank_balance_minor: int
    # Payouts booked after the last generated day, by booking date.
    scheduled_payouts: dict[date, list[Payout]] = field(default_factory=dict)
    # Order events after the last generated day, by the day they happen.
    order_events: dict[date, list[OrderEvent]] = field(default_factory=dict)

    def save(self, truth_dir: Path) -> None:
        document = {
            "version": STATE_VERSION,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "counters": asdict(self.counters),
            "fx_rates_e4": self.fx_rates_e4,
            "bank_balance_minor": self.bank_balance_minor,
            "scheduled_payouts": [
                _payout_to_json(payout)
                for day in sorted(self.scheduled_payouts)
                for payout in self.scheduled_payouts[day]
            ],
            "order_events": [
                [day.isoformat(), *event]
                for day in sorted(self.order_events)
                for event in self.order_events[day]
            ],
        }
        truth_dir.mkdir(parents=True, exist_ok=True)
        (truth_dir / STATE_FILE_NAME).write_text(json.dumps(document) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, truth_dir: Path) -> GeneratorState | None:
        """The state a previous run left, or None when there is none."""
        path = truth_dir / STATE_FILE_NAME
        if not path.exists():
            return None
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != STATE_VERSION:
            raise ValueError(
                f"generator state `{path}` has version `{document.get('version')}`, expected "
                f"`{STATE_VERSION}`; regenerate the landing zone from scratch"
            )
        state = cls(
            first_day=date.fromisoformat(document["first_day"]),
            last_day=date.fromisoformat(document["last_day"]) if document["last_day"] else None,
            counters=Counters(**document["counters"]),
            fx_rates_e4={key: int(value) for key, value in document["fx_rates_e4"].items()},
            bank_balance_minor=int(document["bank_balance_minor"]),
        )
        for item in document["scheduled_payouts"]:
            payout = _payout_from_json(item)
            state.scheduled_payouts.setdefault(payout.booking_date, []).append(payout)
        for day_text, kind, order_id, currency, amount in document["order_events"]:
            state.order_events.setdefault(date.fromisoformat(day_text), []).append(
                (kind, order_id, currency, int(amount))
            )
        return state


def _payout_to_json(payout: Payout) -> dict[str, Any]:
    document = asdict(payout)
    document["payout_date"] = payout.payout_date.isoformat()
    document["booking_date"] = payout.booking_date.isoformat()
    return document


def _payout_from_json(document: dict[str, Any]) -> Payout:
    return Payout(
        **{
            **document,
            "payout_date": date.fromisoformat(document["payout_date"]),
            "booking_date": date.fromisoformat(document["booking_date"]),
        }
    )
