"""The demo upstream systems: a shop, its payment processor, the bank, the ERP and FX rates.

`generate(DemoConfig(...))` writes the landing zone contract of DESIGN.md day by day, with
the details of the interface spec (payout ids and booking, bank balances, ledger postings,
manifests), plus injected anomalies and malformed rows, and the ground truth about them in a
folder beside the landing zone. Output depends only on the configuration: the same config gives
byte-identical files. A later run with `start` the day after the last generated day extends
the landing zone (the shop database, the bank balance and the id sequences continue, and
payment files whose payouts have now been paid out are re-sent with their payout ids).

How each system books events (what the warehouse reconciles):
- The shop records orders; the ERP posts every paid order's sale from the shop (order total,
  order currency, at the charge's time) and every refund from the processor (the refunded
  amount, at the refund's time).
- The processor pays out all succeeded transactions of a day and currency on the k-th
  business day after (k in 1..3); the ERP posts a payout when the bank books it, at 09:00,
  with the processor's gross, fees and net.
- Bank lines that are not payouts (rent, salaries, card spend) get an expense journal.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from itertools import accumulate
from pathlib import Path
from random import Random

from demo.anomalies import (
    BREAK_TYPES,
    ORDER_BREAK_TYPES,
    PAYOUT_BREAK_TYPES,
    AnomalyPlan,
    BreakRecord,
    TruthWriter,
    new_break,
)
from demo.calendar import (
    CALENDAR_END,
    CALENDAR_START,
    add_business_days,
    is_business_day,
    peak_name,
    previous_business_day_or_same,
)
from demo.reference import (
    ACCOUNT_BANK,
    ACCOUNT_CLEARING,
    ACCOUNT_OTHER_EXPENSES,
    ACCOUNT_PROCESSING_FEES,
    ACCOUNT_REFUNDS,
    ACCOUNT_RENT,
    ACCOUNT_REVENUE,
    ACCOUNT_SALARIES,
    ADJECTIVES,
    CARD_MERCHANTS,
    CATEGORIES,
    CURRENCIES,
    EMAIL_DOMAINS,
    FX_START_E4,
    PROCESSOR_COUNTERPARTY,
    REPORTING_CURRENCY,
    bank_line_id,
    customer_country,
    customer_id,
    customer_name,
    format_major,
    format_rate,
    journal_id,
    mix,
    order_id,
    order_line_id,
    payout_id,
    payout_number,
    processing_fee_minor,
    product_id,
    product_popularity,
    transaction_id,
)
from demo.shop import SHOP_DB_RELATIVE_PATH, Product, ShopDatabase, ShopDay
from demo.state import Counters, GeneratorState, OrderEvent, Payout
from demo.writers import (
    BANK,
    LEDGER,
    PAYMENTS,
    DeliverySpec,
    Row,
    add_malformed_rows,
    read_delivery,
    write_delivery,
    write_json,
    write_manifest,
)
from ingest.errors import TallyError

logger = logging.getLogger(__name__)

DEFAULT_START = date(2025, 10, 1)
# Must equal the dbt var `payout_settlement_business_days` (dbt_project.yml).
SETTLEMENT_BUSINESS_DAYS = 3
OPENING_BANK_BALANCE_MINOR = 25_000_000

_LAST_SECOND = 86_399
_INITIAL_PRODUCTS = 48
_NEW_CUSTOMER_SHARE = 0.3
_ABANDONED_SHARE = 0.02
_FAILED_CHARGE_SHARE = 0.04
_REFUND_SHARE = 0.05
_PEAK_FACTOR = 3.0
_YEARLY_GROWTH = 0.25
# Monday..Sunday: weekends sell a little more.
_WEEKDAY_FACTOR = (0.94, 0.92, 0.95, 0.99, 1.06, 1.12, 1.02)
# Orders per hour of day (UTC), lowest at night, highest in the evening.
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7, 6, 6, 6, 7, 8, 9, 10, 10, 8, 5, 2)
_HOUR_CUMULATIVE = tuple(accumulate(_HOUR_WEIGHTS))
# Lines per order (1-4) and quantity per line (1-3), as lookup tables: one draw each.
_LINE_COUNTS = (1,) * 50 + (2,) * 30 + (3,) * 15 + (4,) * 5
_QUANTITIES = (1,) * 16 + (2,) * 3 + (3,) * 1
# A payout never goes below one major unit: refunds wait a day rather than empty it.
_MIN_PAYOUT_NET_MINOR = 100


# Quarter-hour parts at the finest: more would only multiply files.
MAX_PARTS_PER_DAY = 96
MINUTES_PER_DAY = 24 * 60


def part_window_ends(parts_per_day: int) -> list[int]:
    """The end of each intraday part's time window, in minutes after midnight (the last: 1440)."""
    return [(index + 1) * MINUTES_PER_DAY // parts_per_day for index in range(parts_per_day)]


def part_label(window_end_minutes: int) -> str:
    """A part's name: its window's end as HHMM (`2400` for the part that closes the day)."""
    return f"{window_end_minutes // 60:02d}{window_end_minutes % 60:02d}"


class DemoError(TallyError):
    """The demo generator cannot run with this configuration or landing zone."""


@dataclass(frozen=True)
class DemoConfig:
    """What to generate.

    Attributes:
        landing: the landing zone folder to write.
        truth_dir: where the ground truth goes; default `<landing parent>/<landing name>_truth`.
        seed: the random seed; the same config always gives the same files.
        start: the first day; default 2025-10-01, or the day after the last generated day when
            the landing zone already holds generated data.
        days: how many calendar days to generate.
        orders_per_day: the orders of an ordinary weekday at the start (before growth, weekly
            seasonality and peak days).
        anomaly_rate: the chance that an eligible object (an order, a refund, a payout, a bank
            statement, an expense journal) carries a reconciliation break.
        malformed_rate: the chance, per data row of a payments, bank or ledger file, that a
            malformed copy of a row is added to the file.
        parts_per_day: how many intraday parts the payments and bank deliver each day. 1 writes
            one file per day; N splits the day into N equal time windows, each part named by
            its window's end (`balance_transactions-0600.csv`, `_manifest-0600.json`, ...).
    """

    landing: Path
    truth_dir: Path | None = None
    seed: int = 7
    start: date | None = None
    days: int = 92
    orders_per_day: int = 100
    anomaly_rate: float = 0.01
    malformed_rate: float = 0.0005
    parts_per_day: int = 1

    def resolved_truth_dir(self) -> Path:
        if self.truth_dir is not None:
            return self.truth_dir
        return self.landing.parent / f"{self.landing.name}_truth"


@dataclass
class DemoSummary:
    """What one `generate` call wrote."""

    landing: Path
    truth_dir: Path
    start: date
    end: date
    days: int
    orders: int = 0
    transactions: int = 0
    bank_lines: int = 0
    journal_lines: int = 0
    breaks: dict[str, int] = field(default_factory=dict)
    malformed_rows: dict[str, int] = field(default_factory=dict)
    files_written: int = 0
    elapsed_seconds: float = 0.0

    @property
    def seconds_per_100k_orders(self) -> float:
        return self.elapsed_seconds * 100_000 / max(1, self.orders)

    def to_json(self) -> dict[str, object]:
        """The deterministic part of the summary (no timing), for `summary.json`."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "orders": self.orders,
            "transactions": self.transactions,
            "bank_lines": self.bank_lines,
            "journal_lines": self.journal_lines,
            "breaks": self.breaks,
            "malformed_rows": self.malformed_rows,
            "files_written": self.files_written,
        }


@cache
def _clock(seconds: int) -> str:
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{hour:02d}:{minute:02d}:{second:02d}"


def _first_business_day_of_month(day: date) -> date:
    first = day.replace(day=1)
    return first if is_business_day(first) else add_business_days(first, 1)


@dataclass(slots=True)
class _Transaction:
    """A processor transaction of the day being generated; its id comes once they are sorted."""

    seconds: int
    seq: int
    kind: str
    order_id: str
    amount: int
    fee: int
    currency: str
    status: str
    brk: BreakRecord | None


@dataclass
class _Journal:
    """An ERP journal of the day being generated: (account, debit, credit) lines."""

    seconds: int
    seq: int
    currency: str
    reference: str
    description: str
    lines: list[tuple[str, int, int]]
    brk: BreakRecord | None = None


@dataclass
class _DayWork:
    """Everything one day produces before it is written."""

    day: date
    iso: str
    shop: ShopDay = field(default_factory=ShopDay.empty)
    transactions: list[_Transaction] = field(default_factory=list)
    journals: list[_Journal] = field(default_factory=list)
    breaks: list[BreakRecord] = field(default_factory=list)
    break_counts: Counter[str] = field(default_factory=Counter)
    net_by_currency: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CURRENCIES, 0))
    malformed_rows: int = 0

    def timestamp(self, seconds: int) -> str:
        return f"{self.iso}T{_clock(seconds)}Z"

    def add_transaction(
        self,
        seconds: int,
        kind: str,
        order: str,
        *,
        amount: int,
        fee: int,
        currency: str,
        status: str = "succeeded",
        brk: BreakRecord | None = None,
    ) -> None:
        self.transactions.append(
            _Transaction(
                seconds=seconds,
                seq=len(self.transactions),
                kind=kind,
                order_id=order,
                amount=amount,
                fee=fee,
                currency=currency,
                status=status,
                brk=brk,
            )
        )
        if status == "succeeded":
            self.net_by_currency[currency] += amount - fee

    def add_journal(
        self,
        seconds: int,
        currency: str,
        reference: str,
        description: str,
        *,
        lines: list[tuple[str, int, int]],
        brk: BreakRecord | None = None,
    ) -> None:
        self.journals.append(
            _Journal(seconds, len(self.journals), currency, reference, description, lines, brk)
        )

    def add_break(self, record: BreakRecord, *, write_now: bool = True) -> None:
        """Count a break on this day; `write_now=False` when its ids arrive on a later day."""
        self.break_counts[record["break_type"]] += 1
        if write_now:
            self.breaks.append(record)


def generate(config: DemoConfig) -> DemoSummary:
    """Write (or extend) the demo landing zone and its ground truth.

    Args:
        config: what to generate; see `DemoConfig`.

    Returns:
        Counts of what was written, and how long it took.

    Raises:
        DemoError: the configuration is out of range, or the landing zone holds data this
            run cannot continue (not generated by the demo, or `start` is not the day after
            the last generated day).
    """
    _validate(config)
    truth_dir = config.resolved_truth_dir()
    state = _load_state(config, truth_dir)
    start = _resolve_start(config, state)
    end = start + timedelta(days=config.days - 1)
    if start < CALENDAR_START or end > CALENDAR_END - timedelta(days=14):
        raise DemoError(
            f"days `{start}`..`{end}` fall outside the business calendar "
            f"{CALENDAR_START}..{CALENDAR_END - timedelta(days=14)}; choose another --start "
            "or fewer --days"
        )
    if state is None:
        state = GeneratorState(
            first_day=start,
            last_day=None,
            counters=Counters(),
            fx_rates_e4=dict(FX_START_E4),
            bank_balance_minor=OPENING_BANK_BALANCE_MINOR,
        )
    logger.info(
        "demo generation starting landing=%s start=%s days=%d orders_per_day=%d seed=%d",
        config.landing,
        start,
        config.days,
        config.orders_per_day,
        config.seed,
    )
    generator = _Generator(config, state, start, end, truth_dir)
    try:
        summary = generator.run()
    finally:
        generator.close()
    logger.info(
        "demo generation finished days=%d orders=%d transactions=%d bank_lines=%d "
        "journal_lines=%d breaks=%d malformed_rows=%d files=%d seconds=%.1f "
        "seconds_per_100k_orders=%.1f",
        summary.days,
        summary.orders,
        summary.transactions,
        summary.bank_lines,
        summary.journal_lines,
        sum(summary.breaks.values()),
        sum(summary.malformed_rows.values()),
        summary.files_written,
        summary.elapsed_seconds,
        summary.seconds_per_100k_orders,
    )
    return summary


def _validate(config: DemoConfig) -> None:
    problems = []
    if config.days < 1:
        problems.append(f"days must be at least 1, got `{config.days}`")
    if config.orders_per_day < 1:
        problems.append(f"orders per day must be at least 1, got `{config.orders_per_day}`")
    if not 0.0 <= config.anomaly_rate <= 1.0:
        problems.append(f"anomaly rate must be within 0..1, got `{config.anomaly_rate}`")
    if not 0.0 <= config.malformed_rate <= 0.5:
        problems.append(f"malformed rate must be within 0..0.5, got `{config.malformed_rate}`")
    if not 1 <= config.parts_per_day <= MAX_PARTS_PER_DAY:
        problems.append(
            f"parts per day must be within 1..{MAX_PARTS_PER_DAY}, got `{config.parts_per_day}`"
        )
    if problems:
        raise DemoError("invalid demo configuration: " + "; ".join(problems))


def _load_state(config: DemoConfig, truth_dir: Path) -> GeneratorState | None:
    """The previous run's state, or None for a fresh landing zone."""
    shop_exists = (config.landing / SHOP_DB_RELATIVE_PATH).exists()
    try:
        state = GeneratorState.load(truth_dir)
    except ValueError as err:
        raise DemoError(str(err)) from err
    if state is not None and not shop_exists:
        logger.warning(
            "ignoring generator state truth_dir=%s reason=landing zone has no shop database",
            truth_dir,
        )
        return None
    if state is None and config.landing.exists() and any(config.landing.iterdir()):
        raise DemoError(
            f"landing zone `{config.landing}` already holds data but `{truth_dir}` has no "
            "generator state to continue from; delete the landing zone or choose an empty one"
        )
    return state


def _resolve_start(config: DemoConfig, state: GeneratorState | None) -> date:
    if state is None or state.last_day is None:
        return config.start or DEFAULT_START
    following = state.last_day + timedelta(days=1)
    if config.start is not None and config.start != following:
        raise DemoError(
            f"landing zone `{config.landing}` holds days through `{state.last_day}`, so a new "
            f"run must start on `{following}`, not `{config.start}`; pass --start {following} "
            "(or omit it), or delete the landing zone to start over"
        )
    return following


class _Generator:
    """Generates the days of one run, one at a time; only `state` outlives a day."""

    def __init__(
        self, config: DemoConfig, state: GeneratorState, start: date, end: date, truth_dir: Path
    ) -> None:
        self.config = config
        self.state = state
        self.start = start
        self.end = end
        self.landing = config.landing
        self.truth_dir = truth_dir
        self.rng = Random(f"tally-demo/{config.seed}/{start.isoformat()}")
        self.plan = AnomalyPlan(
            self.rng,
            start,
            config.days,
            config.anomaly_rate,
            {
                spec.system: spec.variants() if config.malformed_rate > 0 else ()
                for spec in (PAYMENTS, BANK, LEDGER)
            },
        )
        self.landing.mkdir(parents=True, exist_ok=True)
        self.shop = ShopDatabase(self.landing / SHOP_DB_RELATIVE_PATH)
        self.products = self.shop.load_products()
        self.product_weights: list[int] = []
        self.truth = TruthWriter(truth_dir, append=state.last_day is not None)
        # Payout breaks whose bank line comes on their booking day, by payout id.
        self.pending_payout_breaks: dict[str, BreakRecord] = {}
        self.summary = DemoSummary(self.landing, truth_dir, start, end, config.days)

    def close(self) -> None:
        self.shop.close()
        self.truth.close()

    def run(self) -> DemoSummary:
        started = time.perf_counter()
        self._resend_paid_out_payments()
        day = self.start
        while day <= self.end:
            self._generate_day(day)
            day += timedelta(days=1)
        self.state.last_day = self.end
        self.state.save(self.truth_dir)
        for break_type in self.plan.unfulfilled():
            logger.warning(
                "forced anomaly not injected anomaly=%s reason=run too short or no eligible "
                "object; runs of 30 days or more hold every anomaly",
                break_type,
            )
        self.summary.breaks = {name: self.truth.break_counts[name] for name in BREAK_TYPES}
        self.summary.malformed_rows = dict(sorted(self.truth.malformed_counts.items()))
        self.summary.files_written += 1  # the shop database
        write_json(self.truth_dir / "summary.json", self.summary.to_json())
        self.summary.elapsed_seconds = time.perf_counter() - started
        return self.summary

    def _generate_day(self, day: date) -> None:
        work = _DayWork(day, day.isoformat())
        self._write_fx(day)
        self._change_catalogue(work)
        self._change_customers(work)
        self._place_orders(work)
        self._run_order_events(work)
        self._add_processor_charges(work)
        self._settle_payments(work)
        if is_business_day(day):
            self._write_bank_statement(work)
        self._write_ledger(work)
        self.shop.apply(work.shop)
        self.truth.write_breaks(work.breaks)
        self.truth.write_day(day, work.break_counts, work.malformed_rows)
        logger.debug("generated day=%s orders=%d", day, len(work.shop.new_orders))

    # FX and the shop ------------------------------------------------------------------------

    def _write_fx(self, day: date) -> None:
        """A mean-reverting random walk of each rate, written as `fx/YYYY-MM-DD.json`."""
        rates = self.state.fx_rates_e4
        for currency in sorted(rates):
            rate = rates[currency]
            drift = (FX_START_E4[currency] - rate) // 40
            rates[currency] = max(1, rate + round(rate * self.rng.gauss(0.0, 0.003)) + drift)
        document = {
            "base": REPORTING_CURRENCY,
            "date": day.isoformat(),
            "rates": {code: format_rate(rates[code]) for code in CURRENCIES[1:]},
        }
        write_json(self.landing / "fx" / f"{day.isoformat()}.json", document)
        self.summary.files_written += 1

    def _new_product(self, work: _DayWork, seconds: int) -> None:
        self.state.counters.product += 1
        number = self.state.counters.product
        category, nouns, low, high = CATEGORIES[(number - 1) % len(CATEGORIES)]
        name = f"{ADJECTIVES[mix(number) % len(ADJECTIVES)]} {nouns[(number // 6) % len(nouns)]}"
        price = self.rng.randint(low, high) // 100 * 100 + 99
        product = Product(
            number,
            product_id(number),
            f"{category[:3].upper()}-{number:05d}",
            name,
            category,
            price,
            product_popularity(number),
        )
        self.products.append(product)
        work.shop.new_products.append(
            (
                product.product_id,
                product.sku,
                product.name,
                product.category,
                str(price),
                REPORTING_CURRENCY,
                work.timestamp(seconds),
            )
        )

    def _change_catalogue(self, work: _DayWork) -> None:
        """The first day stocks the catalogue; later days add products and change prices."""
        rng = self.rng
        if not self.products:
            for _ in range(_INITIAL_PRODUCTS):
                self._new_product(work, 0)
        if rng.random() < 0.04:
            self._new_product(work, rng.randrange(3600, 7200))
        if rng.random() < 0.25:
            product = self.products[rng.randrange(len(self.products))]
            changed = round(product.list_price_minor * rng.uniform(0.85, 1.15))
            product.list_price_minor = max(99, changed // 100 * 100 + 99)
            work.shop.price_updates.append(
                (
                    str(product.list_price_minor),
                    work.timestamp(rng.randrange(7200, 10800)),
                    product.product_id,
                )
            )
        self.product_weights = list(accumulate(product.popularity for product in self.products))

    def _change_customers(self, work: _DayWork) -> None:
        """Some existing customers change their email address (the snapshots track it)."""
        existing = self.state.counters.customer
        if not existing:
            return
        rng = self.rng
        for _ in range(rng.randint(0, 1 + self.config.orders_per_day // 25)):
            number = rng.randint(1, existing)
            first, last = customer_name(number)
            email = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
            seconds = rng.randrange(0, 86_400)
            work.shop.email_updates.append((email, work.timestamp(seconds), customer_id(number)))

    def _order_count(self, day: date) -> int:
        """Weekly seasonality, a yearly growth trend, peak days at three times, some noise."""
        years = (day - self.state.first_day).days / 365.25
        trend = 1.0 + _YEARLY_GROWTH * years
        peak = _PEAK_FACTOR if peak_name(day) else 1.0
        noise = min(1.2, max(0.8, self.rng.gauss(1.0, 0.06)))
        volume = self.config.orders_per_day * _WEEKDAY_FACTOR[day.weekday()] * trend * peak * noise
        return max(1, round(volume))

    def _unit_price(self, product: Product, currency: str) -> int:
        """The list price in the order's currency at today's rate, as a `.99` price."""
        if currency == REPORTING_CURRENCY:
            return product.list_price_minor
        converted = product.list_price_minor * self.state.fx_rates_e4[currency] // 10_000
        return converted // 100 * 100 + 99

    # Orders ---------------------------------------------------------------------------------

    def _place_orders(self, work: _DayWork) -> None:
        rng = self.rng
        count = self._order_count(work.day)
        hours = rng.choices(range(24), cum_weights=_HOUR_CUMULATIVE, k=count)
        seconds = sorted(hour * 3600 + rng.randrange(3600) for hour in hours)
        existing_customers = self.state.counters.customer
        for ordered_seconds in seconds:
            self._place_order(work, ordered_seconds, existing_customers)
        self.summary.orders += count

    def _customer_for_order(self, work: _DayWork, seconds: int, existing: int) -> int:
        """A returning customer, or a new one registered at the time of the order."""
        if existing and self.rng.random() >= _NEW_CUSTOMER_SHARE:
            return self.rng.randint(1, existing)
        self.state.counters.customer += 1
        number = self.state.counters.customer
        first, last = customer_name(number)
        country, _ = customer_country(number)
        created_at = work.timestamp(seconds)
        email = f"{first}.{last}{number}@{EMAIL_DOMAINS[mix(number) % len(EMAIL_DOMAINS)]}"
        work.shop.new_customers.append(
            (customer_id(number), email, country, created_at, created_at)
        )
        return number

    def _order_lines(self, currency: str) -> list[tuple[Product, int, int]]:
        """One to four distinct products with quantities and unit prices."""
        rng = self.rng
        count = _LINE_COUNTS[int(rng.random() * len(_LINE_COUNTS))]
        picks = rng.choices(self.products, cum_weights=self.product_weights, k=count)
        lines = []
        seen: set[int] = set()
        for product in picks:
            if product.number in seen:
                continue
            seen.add(product.number)
            quantity = _QUANTITIES[int(rng.random() * len(_QUANTITIES))]
            lines.append((product, quantity, self._unit_price(product, currency)))
        return lines

    def _record_order(
        self,
        work: _DayWork,
        order: str,
        customer_number: int,
        *,
        status: str,
        currency: str,
        lines: list[tuple[Product, int, int]],
        ordered_at: str,
        updated_at: str,
    ) -> int:
        total = sum(quantity * unit_price for _, quantity, unit_price in lines)
        work.shop.new_orders.append(
            (
                order,
                customer_id(customer_number),
                status,
                currency,
                str(total),
                ordered_at,
                updated_at,
            )
        )
        counters = self.state.counters
        for product, quantity, unit_price in lines:
            counters.order_line += 1
            work.shop.new_order_lines.append(
                (
                    order_line_id(counters.order_line),
                    order,
                    product.product_id,
                    str(quantity),
                    str(unit_price),
                    ordered_at,
                )
            )
        return total

    def _schedule(self, day: date, event: OrderEvent) -> None:
        self.state.order_events.setdefault(day, []).append(event)

    def _place_order(self, work: _DayWork, seconds: int, existing_customers: int) -> None:
        rng = self.rng
        break_type = self.plan.pick(ORDER_BREAK_TYPES, work.day)
        customer_number = self._customer_for_order(work, seconds, existing_customers)
        _, currency = customer_country(customer_number)
        lines = self._order_lines(currency)
        self.state.counters.order += 1
        order = order_id(self.state.counters.order)
        ordered_at = work.timestamp(seconds)
        if break_type is None and rng.random() < _ABANDONED_SHARE:
            # Checkout abandoned: never charged, cancelled by the shop the next day.
            self._record_order(
                work,
                order,
                customer_number,
                status="placed",
                currency=currency,
                lines=lines,
                ordered_at=ordered_at,
                updated_at=ordered_at,
            )
            self._schedule(work.day + timedelta(days=1), ("cancel", order, "", 0))
            return
        charge_seconds = min(_LAST_SECOND, seconds + rng.randint(20, 180))
        if break_type is None and rng.random() < _FAILED_CHARGE_SHARE:
            total = sum(quantity * unit_price for _, quantity, unit_price in lines)
            work.add_transaction(
                charge_seconds,
                "charge",
                order,
                amount=total,
                fee=0,
                currency=currency,
                status="failed",
            )
            charge_seconds = min(_LAST_SECOND, charge_seconds + rng.randint(30, 300))
        if break_type == "orphan_payment":
            # The shop lost this order: the processor charges it and pays it out like any
            # other charge (so the payout and bank agree), and the ERP, which posts sales
            # from the shop, never hears of it. The only break is the orphan charge.
            total = sum(quantity * unit_price for _, quantity, unit_price in lines)
            brk = new_break(break_type, work.day, order_id=order)
            work.add_break(brk)
            fee = processing_fee_minor(total)
            work.add_transaction(
                charge_seconds, "charge", order, amount=total, fee=fee, currency=currency, brk=brk
            )
            return
        charged_at = work.timestamp(charge_seconds)
        total = self._record_order(
            work,
            order,
            customer_number,
            status="paid",
            currency=currency,
            lines=lines,
            ordered_at=ordered_at,
            updated_at=charged_at,
        )
        self._post_sale(
            work, break_type, order, currency=currency, total=total, seconds=charge_seconds
        )
        self._charge_order(
            work, break_type, order, currency=currency, total=total, seconds=charge_seconds
        )
        self._schedule_fulfilment(work.day, break_type, order, currency, total)

    def _post_sale(
        self,
        work: _DayWork,
        break_type: str | None,
        order: str,
        *,
        currency: str,
        total: int,
        seconds: int,
    ) -> None:
        """The ERP posts the sale from the shop: the order total, in the order's currency."""
        amount = total
        brk = None
        if break_type == "ledger_mismatch":
            # Both lines carry the same wrong amount: the journal still balances, so it is
            # not an unbalanced_journal, and the processor's data is untouched.
            amount = total + self.rng.randint(1, 99) * 10
            brk = new_break(break_type, work.day, order_id=order)
            work.add_break(brk)
        work.add_journal(
            seconds,
            currency,
            order,
            f"Sale {order}",
            lines=[(ACCOUNT_CLEARING, amount, 0), (ACCOUNT_REVENUE, 0, amount)],
            brk=brk,
        )

    def _charge_order(
        self,
        work: _DayWork,
        break_type: str | None,
        order: str,
        *,
        currency: str,
        total: int,
        seconds: int,
    ) -> None:
        """The processor's succeeded charge(s) for a paid order, with the break it carries.

        Every wrong charge still flows into its day's payout, and the bank books that payout's
        actual net, so no break spreads to payouts; the ERP posts the sale from the shop, so
        the ledger agrees with the order.
        """
        if break_type == "missing_payment":
            # The shop says paid, the processor has no charge: nothing else refers to it.
            work.add_break(new_break(break_type, work.day, order_id=order))
            return
        amount = total
        charge_currency = currency
        brk = None
        if break_type == "amount_mismatch":
            delta = max(1, total // 10)
            amount = total + delta if self.rng.random() < 0.5 else total - delta
            brk = new_break(break_type, work.day, order_id=order)
        elif break_type == "currency_mismatch":
            # Same number, other currency: only the currency disagrees.
            charge_currency = CURRENCIES[(CURRENCIES.index(currency) + 1) % len(CURRENCIES)]
            brk = new_break(break_type, work.day, order_id=order)
        fee = processing_fee_minor(amount)
        work.add_transaction(
            seconds, "charge", order, amount=amount, fee=fee, currency=charge_currency, brk=brk
        )
        if break_type == "duplicate_payment":
            # The second charge is the duplicate; the first still matches the order.
            brk = new_break(break_type, work.day, order_id=order)
            again = min(_LAST_SECOND, seconds + self.rng.randint(60, 900))
            work.add_transaction(
                again, "charge", order, amount=amount, fee=fee, currency=charge_currency, brk=brk
            )
        if brk is not None:
            work.add_break(brk)

    def _schedule_fulfilment(
        self, day: date, break_type: str | None, order: str, currency: str, total: int
    ) -> None:
        """Shipping in 1-3 days; some clean orders are refunded 1-10 days after purchase."""
        rng = self.rng
        ship_day = day + timedelta(days=rng.randint(1, 3))
        refund_day = None
        # Orders with a break are never refunded, so that a refund cannot add a second break.
        if break_type is None and rng.random() < _REFUND_SHARE:
            refund_day = day + timedelta(days=rng.randint(1, 10))
        if refund_day is None or refund_day > ship_day:
            self._schedule(ship_day, ("ship", order, "", 0))
        if refund_day is not None:
            self._schedule(refund_day, ("refund", order, currency, total))

    def _run_order_events(self, work: _DayWork) -> None:
        """Shipments, cancellations and refunds planned for this day by earlier days."""
        rng = self.rng
        for kind, order, currency, total in self.state.order_events.pop(work.day, []):
            if kind == "refund":
                self._refund(work, order, currency, total)
                continue
            status = "shipped" if kind == "ship" else "cancelled"
            seconds = rng.randrange(8 * 3600, 20 * 3600)
            work.shop.order_updates.append((status, work.timestamp(seconds), order))

    def _refund(self, work: _DayWork, order: str, currency: str, total: int) -> None:
        if work.net_by_currency[currency] - total < _MIN_PAYOUT_NET_MINOR:
            # Today's payout in this currency could not cover it: refund tomorrow.
            self._schedule(work.day + timedelta(days=1), ("refund", order, currency, total))
            return
        seconds = self.rng.randrange(3600, _LAST_SECOND)
        refunded = total
        brk = None
        if self.plan.pick(("refund_mismatch",), work.day):
            # The processor refunds less than the order total. The ERP posts what the
            # processor refunded and the payout nets the actual refund, so the refund is the
            # only record that disagrees with the order.
            refunded = total - max(1, total // 4)
            brk = new_break("refund_mismatch", work.day, order_id=order)
            work.add_break(brk)
        work.add_transaction(
            seconds, "refund", order, amount=-refunded, fee=0, currency=currency, brk=brk
        )
        work.add_journal(
            seconds,
            currency,
            order,
            f"Refund {order}",
            lines=[(ACCOUNT_REFUNDS, refunded, 0), (ACCOUNT_CLEARING, 0, refunded)],
        )
        work.shop.order_updates.append(("refunded", work.timestamp(seconds), order))

    def _add_processor_charges(self, work: _DayWork) -> None:
        """The processor's own rows: a monthly account fee and rare manual adjustments."""
        rng = self.rng
        if work.day.day == 1:
            fee = 2500
            if work.net_by_currency[REPORTING_CURRENCY] - fee >= _MIN_PAYOUT_NET_MINOR:
                work.add_transaction(300, "fee", "", amount=0, fee=fee, currency=REPORTING_CURRENCY)
        if rng.random() < 0.1:
            currency = rng.choice(CURRENCIES)
            amount = rng.randint(100, 3000) * (1 if rng.random() < 0.5 else -1)
            if work.net_by_currency[currency] + amount < _MIN_PAYOUT_NET_MINOR:
                amount = abs(amount)
            work.add_transaction(
                rng.randrange(86_400), "adjustment", "", amount=amount, fee=0, currency=currency
            )

    # Payments -------------------------------------------------------------------------------

    def _payout_for(self, work: _DayWork, currency: str, gross: int, fee: int) -> Payout:
        """The day's payout in one currency, its booking date and the break it may carry."""
        day = work.day
        number = payout_number(day, currency)
        net = gross - fee
        booking = add_business_days(day, 1 + mix(number + self.config.seed * 7919) % 3)
        late_booking = add_business_days(day, SETTLEMENT_BUSINESS_DAYS + 1 + mix(number) % 2)
        due = add_business_days(day, SETTLEMENT_BUSINESS_DAYS)
        # Only breaks the run can show in full: booked (or surely missed) before it ends.
        candidates = []
        if add_business_days(due, 2) <= self.end:
            candidates.append("payout_not_in_bank")
        if booking <= self.end and net >= 2 * _MIN_PAYOUT_NET_MINOR:
            candidates.append("payout_amount_mismatch")
        if late_booking <= self.end:
            candidates.append("late_settlement")
        fate = self.plan.pick([name for name in PAYOUT_BREAK_TYPES if name in candidates], day)
        payout = Payout(payout_id(day, currency), day, currency, gross, fee, net, booking)
        payout.bank_amount_minor = net
        if fate is None:
            return payout
        payout.fate = fate
        brk = new_break(fate, day, payout_id=payout.payout_id)
        if fate == "payout_not_in_bank":
            # Paid out by the processor, never booked by the bank; the ERP posts payouts from
            # the bank statement, so no journal disagrees either.
            work.add_break(brk)
        else:
            work.add_break(brk, write_now=False)
            self.pending_payout_breaks[payout.payout_id] = brk
        if fate == "late_settlement":
            payout.booking_date = late_booking
        elif fate == "payout_amount_mismatch":
            # The bank books less (a bank charge taken on the way); the ERP books the
            # processor's figures, so only the bank line disagrees.
            payout.bank_amount_minor = net - self.rng.randint(1, min(2500, net // 2))
        return payout

    def _settle_payments(self, work: _DayWork) -> None:
        """Give the day's transactions their ids, form payouts, write the payments file."""
        transactions = sorted(work.transactions, key=lambda item: (item.seconds, item.seq))
        counters = self.state.counters
        sums: dict[str, list[int]] = {}
        for item in transactions:
            counters.transaction += 1
            item_id = transaction_id(counters.transaction)
            if item.brk is not None:
                item.brk["transaction_id"] = item_id
            item.seq = counters.transaction
            if item.status == "succeeded":
                gross_and_fee = sums.setdefault(item.currency, [0, 0])
                gross_and_fee[0] += item.amount
                gross_and_fee[1] += item.fee
        payouts = {
            currency: self._payout_for(work, currency, *sums[currency])
            for currency in CURRENCIES
            if currency in sums
        }
        for payout in payouts.values():
            if payout.fate != "payout_not_in_bank":
                self.state.scheduled_payouts.setdefault(payout.booking_date, []).append(payout)
        rows = [self._payments_row(work, item, payouts) for item in transactions]
        self.summary.transactions += len(rows)
        self._deliver(
            work, PAYMENTS, rows, fresh_key=self._fresh_transaction_id, delivered_at="00:15:00"
        )

    def _payments_row(self, work: _DayWork, item: _Transaction, payouts: dict[str, Payout]) -> Row:
        available_on = paid_out_as = ""
        if item.status == "succeeded":
            payout = payouts[item.currency]
            available_on = payout.booking_date.isoformat()
            # Not paid out before the last generated day: pending, no payout id yet.
            if payout.booking_date <= self.end:
                paid_out_as = payout.payout_id
        return [
            transaction_id(item.seq),
            item.kind,
            item.order_id,
            str(item.amount),
            str(item.fee),
            str(item.amount - item.fee),
            item.currency,
            work.timestamp(item.seconds),
            available_on,
            paid_out_as,
            item.status,
        ]

    def _fresh_transaction_id(self) -> str:
        self.state.counters.transaction += 1
        return transaction_id(self.state.counters.transaction)

    def _fresh_bank_line_id(self) -> str:
        self.state.counters.bank_line += 1
        return bank_line_id(self.state.counters.bank_line)

    def _fresh_journal_id(self) -> str:
        self.state.counters.journal += 1
        return journal_id(self.state.counters.journal)

    def _deliver(
        self,
        work: _DayWork,
        spec: DeliverySpec,
        rows: list[Row],
        *,
        fresh_key: Callable[[], str],
        delivered_at: str,
        opening_balance_minor: int | None = None,
    ) -> None:
        """Deliver the day's rows: one file, or intraday parts when the system sends them."""
        if self.config.parts_per_day == 1 or spec.system not in ("payments", "bank"):
            self._deliver_file(
                work,
                spec,
                rows,
                part=None,
                fresh_key=fresh_key,
                delivered_at=delivered_at,
                opening_balance_minor=opening_balance_minor,
            )
            return
        forced = self.plan.forced_malformed(spec.system, work.day) if rows else []
        for label, part_rows in self._split_into_parts(spec, rows):
            # A part is generated shortly after its window closes.
            opening_balance_minor = self._deliver_file(
                work,
                spec,
                part_rows,
                part=label,
                fresh_key=fresh_key,
                delivered_at=f"{label[:2]}:{label[2:]}:00",
                opening_balance_minor=opening_balance_minor,
                forced_variants=forced if part_rows else [],
            )
            if part_rows:
                forced = []

    def _split_into_parts(self, spec: DeliverySpec, rows: list[Row]) -> list[tuple[str, list[Row]]]:
        """The day's rows by part: payments by created_at's time of day; the bank, whose lines
        carry no time, in order into near-equal parts."""
        ends = part_window_ends(self.config.parts_per_day)
        parts: list[list[Row]] = [[] for _ in ends]
        for position, row in enumerate(rows):
            if spec.system == "payments":
                clock = row[spec.time_column][11:19]
                seconds = int(clock[0:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:8])
                index = next(i for i, end in enumerate(ends) if seconds < end * 60)
            else:
                index = position * len(ends) // len(rows)
            parts[index].append(row)
        return [(part_label(end), part_rows) for end, part_rows in zip(ends, parts, strict=True)]

    def _deliver_file(
        self,
        work: _DayWork,
        spec: DeliverySpec,
        rows: list[Row],
        *,
        part: str | None,
        fresh_key: Callable[[], str],
        delivered_at: str,
        opening_balance_minor: int | None,
        forced_variants: list[str] | None = None,
    ) -> int | None:
        """Add malformed rows, write the file and its manifest, record the ground truth.

        Returns:
            The bank's closing balance (the next part's or day's opening), None for others.
        """
        expected = sum(1 for _ in rows if self.rng.random() < self.config.malformed_rate)
        if forced_variants is None:
            forced_variants = self.plan.forced_malformed(spec.system, work.day) if rows else []
        variants = list(forced_variants)
        variants += [self.rng.choice(spec.variants()) for _ in range(expected)]
        malformed = add_malformed_rows(spec, rows, variants, self.rng, fresh_key)
        delivery = write_delivery(self.landing, spec, work.day, rows, part)
        manifest_extra: dict[str, str] = {}
        closing: int | None = None
        if opening_balance_minor is not None:
            amount_sum = delivery.decimal_sums["amount_sum"]
            closing = opening_balance_minor + amount_sum
            manifest_extra["amount_sum"] = format_major(amount_sum)
            manifest_extra["opening_balance"] = format_major(opening_balance_minor)
            manifest_extra["closing_balance"] = format_major(closing)
            self.state.bank_balance_minor = closing
        # A whole day's file is generated after midnight; `2400` is the next midnight too.
        generated_day = work.day + timedelta(days=1 if part is None or part == "2400" else 0)
        clock = "00:00:00" if part == "2400" else delivered_at
        generated_at = f"{generated_day.isoformat()}T{clock}Z"
        write_manifest(self.landing, delivery, generated_at, manifest_extra)
        work.malformed_rows += self.truth.write_malformed(
            spec.system, delivery.relative_path, malformed
        )
        self.summary.files_written += 2
        return closing

    def _resend_paid_out_payments(self) -> None:
        """Re-send earlier payment files whose pending payouts this run pays out.

        The processor leaves `payout_id` empty until a payout is made; once the bank books it
        (in this run), the day's file is delivered again with the ids filled in, and the
        warehouse keeps the newest load of each file.
        """
        paid_out: dict[date, dict[str, Payout]] = {}
        for booking_date, payouts in self.state.scheduled_payouts.items():
            if booking_date <= self.end:
                for payout in payouts:
                    paid_out.setdefault(payout.payout_date, {})[payout.currency] = payout
        generated_at = f"{(self.start + timedelta(days=1)).isoformat()}T00:20:00Z"
        for payout_day in sorted(paid_out):
            for part in PAYMENTS.delivered_parts(self.landing, payout_day):
                self._resend_payments_file(payout_day, part, paid_out[payout_day], generated_at)

    def _resend_payments_file(
        self, payout_day: date, part: str | None, made: dict[str, Payout], generated_at: str
    ) -> None:
        """Re-send one payments file (or part) with the payout ids of `made` filled in."""
        rows = read_delivery(self.landing, PAYMENTS, payout_day, part)
        prefix = payout_day.isoformat()
        for row in rows:
            if len(row) != len(PAYMENTS.header) or row[10] != "succeeded" or row[9]:
                continue
            payout = made.get(row[6])
            if payout is not None and row[7].startswith(prefix):
                row[9] = payout.payout_id
        delivery = write_delivery(self.landing, PAYMENTS, payout_day, rows, part)
        write_manifest(self.landing, delivery, generated_at)
        self.summary.files_written += 2
        logger.info("re-sent payments file=%s reason=payouts made", delivery.relative_path)

    # Bank and ledger ------------------------------------------------------------------------

    def _expense_lines(self, day: date) -> list[tuple[int, str, str, str, str]]:
        """Bank lines that are not payouts: (amount, currency, counterparty, text, account)."""
        rng = self.rng
        scale = self.config.orders_per_day
        lines = []
        month = day.strftime("%Y-%m")
        if day == _first_business_day_of_month(day):
            lines.append(
                (-scale * 9_000, "EUR", "Harbour Offices GmbH", f"RENT {month}", ACCOUNT_RENT)
            )
        if day == previous_business_day_or_same(day.replace(day=25)):
            lines.append((-scale * 60_000, "EUR", "Payroll", f"SALARIES {month}", ACCOUNT_SALARIES))
        for _ in range(rng.randint(1, 3)):
            merchant, currency = rng.choice(CARD_MERCHANTS)
            amount = -rng.randint(500, 50_000)
            lines.append(
                (
                    amount,
                    currency,
                    merchant,
                    f"CARD 4242 {merchant.upper()}",
                    ACCOUNT_OTHER_EXPENSES,
                )
            )
        return lines

    def _write_bank_statement(self, work: _DayWork) -> None:
        """One statement per business day: payouts booked today, then other lines."""
        day = work.day
        rows: list[Row] = []
        booking = day.isoformat()
        payouts = sorted(self.state.scheduled_payouts.pop(day, []), key=lambda p: p.payout_id)
        for payout in payouts:
            line = self._fresh_bank_line_id()
            rows.append(
                [
                    line,
                    booking,
                    booking,
                    format_major(payout.bank_amount_minor),
                    payout.currency,
                    PROCESSOR_COUNTERPARTY,
                    f"PAYOUT {payout.payout_id}",
                ]
            )
            brk = self.pending_payout_breaks.pop(payout.payout_id, None)
            if brk is not None:
                brk["bank_line_id"] = line
                work.breaks.append(brk)
            work.add_journal(
                9 * 3600,
                payout.currency,
                payout.payout_id,
                f"Payout {payout.payout_id}",
                lines=[
                    (ACCOUNT_BANK, payout.net_minor, 0),
                    (ACCOUNT_PROCESSING_FEES, payout.fee_minor, 0),
                    (ACCOUNT_CLEARING, 0, payout.gross_minor),
                ],
            )
        if self.plan.pick(("unmatched_bank_line",), day):
            rows.append(self._unmatched_payout_line(work))
        for index, (amount, currency, counterparty, text, account) in enumerate(
            self._expense_lines(day)
        ):
            line = self._fresh_bank_line_id()
            rows.append(
                [line, booking, booking, format_major(amount), currency, counterparty, text]
            )
            self._post_expense(
                work,
                10 * 3600 + index * 60,
                line,
                amount=amount,
                currency=currency,
                text=text,
                account=account,
            )
        self.summary.bank_lines += len(rows)
        opening = self.state.bank_balance_minor
        self._deliver(
            work,
            BANK,
            rows,
            fresh_key=self._fresh_bank_line_id,
            delivered_at="05:00:00",
            opening_balance_minor=opening,
        )

    def _unmatched_payout_line(self, work: _DayWork) -> Row:
        """A `PAYOUT` line naming a payout the processor never made.

        Its id is dated twenty years back, before any generated day, so no real payout has
        it. The ERP cannot match it to a payout and leaves it unposted, so it is the only
        record of the break.
        """
        currency = self.rng.choice(CURRENCIES)
        ghost = payout_id(work.day - timedelta(days=7305), currency)
        line = self._fresh_bank_line_id()
        work.add_break(
            new_break("unmatched_bank_line", work.day, payout_id=ghost, bank_line_id=line)
        )
        amount = format_major(self.rng.randint(5_000, 500_000))
        booking = work.day.isoformat()
        return [line, booking, booking, amount, currency, PROCESSOR_COUNTERPARTY, f"PAYOUT {ghost}"]

    def _post_expense(
        self,
        work: _DayWork,
        seconds: int,
        line: str,
        *,
        amount: int,
        currency: str,
        text: str,
        account: str,
    ) -> None:
        spent = -amount
        debit = spent
        brk = None
        if account == ACCOUNT_OTHER_EXPENSES and self.plan.pick(("unbalanced_journal",), work.day):
            # A keying error on the expense line. The bank line (account 1000) stays right,
            # and expense journals are not matched to the shop or the processor, so nothing
            # but the balance check sees it.
            debit = spent + self.rng.randint(1, 999)
            brk = new_break("unbalanced_journal", work.day)
            work.add_break(brk)
        work.add_journal(
            seconds,
            currency,
            line,
            text,
            lines=[(account, debit, 0), (ACCOUNT_BANK, 0, spent)],
            brk=brk,
        )

    def _write_ledger(self, work: _DayWork) -> None:
        """The ERP's journal lines posted today, journals in time order."""
        journals = sorted(work.journals, key=lambda item: (item.seconds, item.seq))
        rows: list[Row] = []
        for journal in journals:
            number = self._fresh_journal_id()
            if journal.brk is not None:
                journal.brk["journal_id"] = number
            posted_at = work.timestamp(journal.seconds)
            for line_number, (account, debit, credit) in enumerate(journal.lines, start=1):
                rows.append(
                    [
                        number,
                        str(line_number),
                        posted_at,
                        account,
                        str(debit),
                        str(credit),
                        journal.currency,
                        journal.reference,
                        journal.description,
                    ]
                )
        self.summary.journal_lines += len(rows)
        self._deliver(work, LEDGER, rows, fresh_key=self._fresh_journal_id, delivered_at="01:00:00")
