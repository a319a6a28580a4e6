"""Nightly runs: what one new day costs, against history length, day size and import time.

Every figure comes from whole `python run.py` processes (ingest, build, docs) on a demo landing
zone that the script extends one day at a time, each in its own work folder under --work:

  peak     (c) the `peak-day` profile: a nightly run for an ordinary Friday, then for Black
           Friday (three times the orders), both after an idle run (no new file) that gives the
           fixed cost; the data-dependent part is a run's time minus the idle run's.
  history  (b) nightly runs for new days on a long history (--long-history, generated
           beforehand, e.g. with `python run.py demo --profile five-years`) against the same
           new days on thirty days of history of the same daily volume, in turns.
Both also report (e): the nightly run against `python -c "import dlt, duckdb, dbt.cli.main"`.

    python bench/nightly.py peak --work /tmp/bench/peak --orders-per-day 10000
    python bench/nightly.py history --work /tmp/bench/history \\
        --long-history /tmp/bench/five/landing --orders-per-day 3300
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
from common import PYTHON, Measured, machine, measure, recorded_peak_mib, report

from demo.generator import DemoConfig, generate
from demo.profiles import scale_profile
from demo.state import GeneratorState

# run.py's exit code 4: an audit rule found rows. The demo injects breaks on purpose.
ACCEPTED_EXIT_CODES = (0, 4)
MEMORY_CAP_BYTES = 2 * 2**30
SLOWEST_NODES = 6
# demo.generator's growth trend per year of history (its `_YEARLY_GROWTH`).
GENERATOR_YEARLY_GROWTH = 0.25


@dataclass(frozen=True)
class Nightly:
    """One measured `python run.py`."""

    label: str
    run: Measured
    steps: dict[str, float]
    rows_loaded: int
    slowest_nodes: list[tuple[str, float]]
    peak_mib: float
    backup_seconds: float = 0.0

    @property
    def seconds_without_backup(self) -> float:
        """The run's wall time less the copy of the warehouse it takes after a good run."""
        return self.run.seconds - self.backup_seconds

    def describe(self) -> str:
        steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in self.steps.items())
        return (
            f"{self.run.seconds:6.1f} s ({self.run.cpu_seconds:.1f} CPU s),"
            f" backup {self.backup_seconds:.1f} s,"
            f" peak RSS {self.peak_mib:,.0f} MiB,"
            f" {self.rows_loaded:,} rows loaded; steps (s): {steps}"
        )


class Scenario:
    """A landing zone, a warehouse and the run.py environment that points at them."""

    def __init__(self, work: Path, memory_limit: str) -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        self.work = work
        self.landing = work / "landing"
        self.warehouse = work / "warehouse" / "warehouse.duckdb"
        self.env = {
            "TALLY_LANDING": str(self.landing),
            "TALLY_WAREHOUSE": str(self.warehouse),
            "TALLY_LOG_DIR": str(work / "logs"),
            "DBT_TARGET_PATH": str(work / "target"),
            "TALLY_TEMP_DIR": str(work / "spill"),
            "TALLY_MEMORY_LIMIT": memory_limit,
            # One copy of the warehouse is kept, as many are taken (one per good run): the
            # cost measured is the same, the disk held by five-year copies is not.
            "TALLY_BACKUP_KEEP": "1",
        }

    def generate(self, days: int, orders_per_day: int, start: date | None = None) -> None:
        generate(
            DemoConfig(landing=self.landing, start=start, days=days, orders_per_day=orders_per_day)
        )

    def state(self) -> GeneratorState | None:
        return GeneratorState.load(self.landing.parent / f"{self.landing.name}_truth")

    def nightly(self, label: str) -> Nightly:
        run = measure([PYTHON, "run.py"], env=self.env, accept_exit_codes=ACCEPTED_EXIT_CODES)
        with duckdb.connect(str(self.warehouse), read_only=True) as db:
            run_id, rows = db.execute(
                "select run_id, coalesce(rows_loaded, 0) from ops.pipeline_runs"
                " order by started_at desc limit 1"
            ).fetchone() or ("", 0)
            steps = dict(
                db.execute(
                    "select step, duration_seconds from ops.step_runs where run_id = ?"
                    " order by started_at",
                    [run_id],
                ).fetchall()
            )
            slowest = db.execute(
                "select unique_id, execution_time from ops.dbt_node_results where run_id = ?"
                " order by execution_time desc limit ?",
                [run_id, SLOWEST_NODES],
            ).fetchall()
        nightly = Nightly(
            label,
            run,
            steps,
            int(rows),
            slowest,
            recorded_peak_mib(self.warehouse, run_id),
            self._backup_seconds(run_id),
        )
        report(label, nightly.describe())
        return nightly

    def _backup_seconds(self, run_id: str) -> float:
        """The seconds the run's log says the warehouse copy took (0 without a copy)."""
        log = self.work / "logs" / f"run-{run_id}.jsonl"
        for line in log.read_text(encoding="utf-8").splitlines() if log.is_file() else []:
            message = json.loads(line).get("message", "")
            if message.startswith("warehouse backed up"):
                fields = dict(field.split("=", 1) for field in message.split()[3:])
                return float(fields["seconds"])
        return 0.0


def cold_import_seconds(repeat: int = 3) -> float:
    """Median wall time of a fresh interpreter importing the run's libraries."""
    times = [
        measure([PYTHON, "-c", "import dlt, duckdb, dbt.cli.main"]).seconds for _ in range(repeat)
    ]
    report("cold import dlt, duckdb, dbt.cli.main", ", ".join(f"{t:.2f} s" for t in times))
    return statistics.median(times)


def _report_overhead(nightly: Nightly, import_seconds: float) -> None:
    ratio = nightly.run.seconds / import_seconds
    report("(e) nightly run / cold import", f"{ratio:.2f}x (<= 2x)")


def _report_slowest(nightly: Nightly) -> None:
    for unique_id, seconds in nightly.slowest_nodes:
        report(f"  slowest in {nightly.label}", f"{seconds:6.2f} s {unique_id}")


def peak(work: Path, memory_limit: str, orders_per_day: int | None) -> None:
    """(c): an ordinary Friday's nightly run against Black Friday's."""
    profile = scale_profile("peak-day")
    volume = orders_per_day or profile.orders_per_day
    scenario = Scenario(work, memory_limit)
    black_friday = profile.end
    normal_friday = black_friday - timedelta(days=7)
    history_days = (normal_friday - profile.start).days
    scenario.generate(history_days, volume, start=profile.start)
    scenario.nightly("history load (not compared)")
    import_seconds = cold_import_seconds()
    idle = scenario.nightly("idle nightly (no new file)")
    scenario.generate(1, volume)
    normal = scenario.nightly(f"nightly {normal_friday} (ordinary Friday)")
    scenario.generate(6, volume)
    scenario.nightly("catch-up nightly (not compared)")
    idle_before_peak = scenario.nightly("idle nightly (no new file)")
    scenario.generate(1, volume)
    peak_run = scenario.nightly(f"nightly {black_friday} (Black Friday)")

    fixed = min(idle.run.seconds, idle_before_peak.run.seconds)
    normal_part = normal.run.seconds - fixed
    peak_part = peak_run.run.seconds - fixed
    report("data-dependent part, ordinary / peak", f"{normal_part:.1f} s / {peak_part:.1f} s")
    report("rows loaded, ordinary / peak", f"{normal.rows_loaded:,} / {peak_run.rows_loaded:,}")
    report("(c) peak / ordinary, data-dependent part", f"{peak_part / normal_part:.2f}x (<= 3.3x)")
    report("(c) peak / ordinary, whole run", f"{peak_run.run.seconds / normal.run.seconds:.2f}x")
    under = "under" if peak_run.peak_mib * 2**20 < MEMORY_CAP_BYTES else "OVER"
    report(
        "(c) peak nightly peak RSS",
        f"{peak_run.peak_mib:,.0f} MiB, {under} the 2 GiB cap (TALLY_MEMORY_LIMIT={memory_limit})",
    )
    _report_overhead(normal, import_seconds)
    _report_slowest(peak_run)


def history(
    work: Path, long_landing: Path, orders_per_day: int, memory_limit: str, rounds: int
) -> None:
    """(b): the same new days on a long history and on thirty days of it, run in turns."""
    long = Scenario(work / "long", memory_limit)
    shutil.copytree(long_landing, long.landing)
    truth = long_landing.parent / f"{long_landing.name}_truth"
    shutil.copytree(truth, long.landing.parent / f"{long.landing.name}_truth")
    state = long.state()
    if state is None or state.last_day is None:
        raise SystemExit(f"{long_landing} holds no generated history; generate it first")
    last_day = state.last_day
    long_days = (last_day - state.first_day).days + 1
    backfill = long.nightly(f"{long_days}-day backfill (first run, not compared)")
    _report_slowest(backfill)

    short = Scenario(work / "thirty-days", memory_limit)
    # The long history's last thirty days at the same daily volume: the generator's growth
    # trend starts at its first day, so scale the base volume instead.
    years = (last_day - state.first_day).days / 365.25
    matched_volume = round(orders_per_day * (1 + GENERATOR_YEARLY_GROWTH * years))
    short.generate(30, matched_volume, start=last_day - timedelta(days=29))
    short.nightly("thirty-day history load (not compared)")
    import_seconds = cold_import_seconds()

    wall_ratios, cpu_ratios, unbacked_ratios = [], [], []
    on_short = None
    for round_number in range(rounds):
        day = last_day + timedelta(days=round_number + 1)
        long.generate(1, orders_per_day)
        short.generate(1, matched_volume)
        # Alternate which history goes first, so a change in the machine's load hits both.
        turns = [(long, f"{long_days} days"), (short, "thirty days")]
        results = {}
        for scenario, history_label in turns if round_number % 2 == 0 else turns[::-1]:
            results[history_label] = scenario.nightly(f"nightly {day} on {history_label}")
        on_long, on_short = results[f"{long_days} days"], results["thirty days"]
        _report_slowest(on_long)
        wall_ratios.append(on_long.run.seconds / on_short.run.seconds)
        cpu_ratios.append(on_long.run.cpu_seconds / on_short.run.cpu_seconds)
        unbacked_ratios.append(on_long.seconds_without_backup / on_short.seconds_without_backup)
        report(
            f"  {day}: rows loaded, long / short",
            f"{on_long.rows_loaded:,} / {on_short.rows_loaded:,};"
            f" wall {wall_ratios[-1]:.2f}x, CPU {cpu_ratios[-1]:.2f}x,"
            f" wall without the backup copy {unbacked_ratios[-1]:.2f}x",
        )
    report(
        f"(b) nightly on {long_days} days / on thirty days",
        f"median wall {statistics.median(wall_ratios):.2f}x,"
        f" median CPU {statistics.median(cpu_ratios):.2f}x,"
        f" median wall without the backup copy {statistics.median(unbacked_ratios):.2f}x"
        " (<= 1.25x)",
    )
    if on_short is not None:
        _report_overhead(on_short, import_seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=("peak", "history"))
    parser.add_argument("--work", type=Path, required=True, help="a scratch folder, emptied")
    parser.add_argument("--long-history", type=Path, help="history: a generated landing zone")
    parser.add_argument("--rounds", type=int, default=2, help="history: new days to compare")
    parser.add_argument(
        "--orders-per-day",
        type=int,
        help="history: its volume (default 1000); peak: an ordinary day's (default the profile's)",
    )
    parser.add_argument("--memory-limit", default="1536MB", help="TALLY_MEMORY_LIMIT")
    args = parser.parse_args()
    report("machine", machine())
    if args.scenario == "peak":
        peak(args.work, args.memory_limit, args.orders_per_day)
    else:
        if args.long_history is None:
            parser.error("history needs --long-history")
        volume = args.orders_per_day or 1000
        history(args.work, args.long_history, volume, args.memory_limit, args.rounds)
    report("machine after", machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
