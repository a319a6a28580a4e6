"""Which anomalies the demo injects, when, and the ground truth it writes about them.

Every break type of DESIGN.md is injected at a rate per eligible object (an order, a refund,
a payout, a bank statement, an expense journal) and, besides, forced on a few random days so
that every run of 30 days or more holds each break type and each malformed-row variant at
least once. The ground truth goes to `<truth dir>/anomalies.jsonl` and `days.jsonl` (format in
the project's interface spec); tests compare the warehouse's breaks and quarantine with it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import IO, Any

from demo.writers import SourceSystem

BREAK_TYPES = (
    "missing_payment",
    "orphan_payment",
    "amount_mismatch",
    "currency_mismatch",
    "duplicate_payment",
    "refund_mismatch",
    "payout_not_in_bank",
    "payout_amount_mismatch",
    "unmatched_bank_line",
    "late_settlement",
    "unbalanced_journal",
    "ledger_mismatch",
)
ORDER_BREAK_TYPES = (
    "missing_payment",
    "orphan_payment",
    "amount_mismatch",
    "currency_mismatch",
    "duplicate_payment",
    "ledger_mismatch",
)
PAYOUT_BREAK_TYPES = ("payout_not_in_bank", "payout_amount_mismatch", "late_settlement")

# Forced anomalies fall on a day early enough that a payout made that day is due, and booked
# or missed, before the run ends (3 business days to settle plus 2 of margin).
_FORCED_MARGIN_DAYS = 12
_FORCED_EVERY_DAYS = 60

BreakRecord = dict[str, Any]


def new_break(
    break_type: str,
    business_date: date,
    *,
    order_id: str | None = None,
    transaction_id: str | None = None,
    payout_id: str | None = None,
    bank_line_id: str | None = None,
    journal_id: str | None = None,
) -> BreakRecord:
    """A ground-truth break; ids not known yet are filled in once they are assigned."""
    return {
        "kind": "break",
        "break_type": break_type,
        "business_date": business_date.isoformat(),
        "order_id": order_id,
        "transaction_id": transaction_id,
        "payout_id": payout_id,
        "bank_line_id": bank_line_id,
        "journal_id": journal_id,
    }


class AnomalyPlan:
    """Decides, object by object, whether it carries an anomaly and of which kind.

    Forced anomalies come first: once a forced day has come, the next eligible object takes
    it. Otherwise an object carries an anomaly with probability `rate`. A rate of zero forces
    nothing, so a clean landing zone can be asked for.
    """

    def __init__(
        self,
        rng: Random,
        start: date,
        days: int,
        rate: float,
        malformed_variants: dict[SourceSystem, tuple[str, ...]],
    ) -> None:
        self._rng = rng
        self._rate = rate
        window = max(0, days - _FORCED_MARGIN_DAYS)
        per_type = 1 + days // _FORCED_EVERY_DAYS if rate > 0 else 0
        self._forced: dict[str, list[date]] = {
            break_type: sorted(
                start + timedelta(days=rng.randint(0, window)) for _ in range(per_type)
            )
            for break_type in BREAK_TYPES
        }
        self._forced_malformed: dict[tuple[str, str], date] = {
            (system, variant): start + timedelta(days=rng.randint(0, max(0, days - 1)))
            for system, variants in malformed_variants.items()
            for variant in variants
        }

    def pick(self, candidates: Sequence[str], day: date) -> str | None:
        """The anomaly the next eligible object carries, or None for a clean one."""
        for break_type in candidates:
            due = self._forced[break_type]
            if due and due[0] <= day:
                due.pop(0)
                return break_type
        if candidates and self._rng.random() < self._rate:
            return self._rng.choice(candidates)
        return None

    def forced_malformed(self, system: SourceSystem, day: date) -> list[str]:
        """The forced malformed-row variants now due in this system's file (consumed)."""
        due = [
            variant
            for (planned_system, variant), planned in self._forced_malformed.items()
            if planned_system == system and planned <= day
        ]
        for variant in due:
            del self._forced_malformed[(system, variant)]
        return due

    def unfulfilled(self) -> list[str]:
        """Forced anomalies that never found an eligible object (the run was too short)."""
        left = [break_type for break_type, due in self._forced.items() if due]
        left.extend(f"{system}:{variant}" for system, variant in self._forced_malformed)
        return left


class TruthWriter:
    """Appends the ground truth, one JSON object per line, as each day is generated."""

    def __init__(self, truth_dir: Path, *, append: bool) -> None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        mode = "a" if append else "w"
        self._anomalies: IO[str] = (truth_dir / "anomalies.jsonl").open(mode, encoding="utf-8")
        self._days: IO[str] = (truth_dir / "days.jsonl").open(mode, encoding="utf-8")
        self.break_counts: Counter[str] = Counter()
        self.malformed_counts: Counter[str] = Counter()

    def write_breaks(self, breaks: Iterable[BreakRecord]) -> None:
        for record in breaks:
            self._anomalies.write(json.dumps(record) + "\n")

    def write_malformed(
        self, system: SourceSystem, source_file: str, rows: Iterable[tuple[int, str]]
    ) -> int:
        """Record the malformed rows of one file; returns how many there were."""
        count = 0
        for line, reason in rows:
            record = {
                "kind": "malformed_row",
                "source_system": system,
                "source_file": source_file,
                "source_line": line,
                "reason": reason,
            }
            self._anomalies.write(json.dumps(record) + "\n")
            self.malformed_counts[reason] += 1
            count += 1
        return count

    def write_day(self, day: date, breaks: Counter[str], malformed_rows: int) -> None:
        """One line per calendar day: closed iff it has no break and no malformed row."""
        self.break_counts.update(breaks)
        record = {
            "business_date": day.isoformat(),
            "expected_closed": sum(breaks.values()) == 0 and malformed_rows == 0,
            "breaks": {break_type: breaks[break_type] for break_type in BREAK_TYPES},
            "malformed_rows": malformed_rows,
        }
        self._days.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self._anomalies.close()
        self._days.close()
