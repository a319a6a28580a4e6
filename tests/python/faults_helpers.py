"""Shared by the fault tests: running `run.py` as a child, killing it at a chosen point, and
fingerprints of marts and raw tables that two warehouses can be compared by.

Run as a script, this module is the child: it installs a kill point, then runs `run.py`'s
`main()` with the remaining arguments, e.g.

    python tests/python/faults_helpers.py --kill-at load --signal KILL -- ingest

The kill points live here, in the tests, not in product code: each wraps one dlt or runner
function so that the process signals itself at that moment.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).resolve()

# The marts whose contents must not depend on how the warehouse got there.
MARTS = (
    "finance.fct_reconciliation_breaks",
    "finance.fct_daily_close",
    "finance.fct_payments",
    "sales.fct_orders",
    "sales.fct_order_lines",
    "sales.fct_daily_sales",
    "quarantine.quarantine_rows",
)
# Columns that name a load, not a fact: they differ between two warehouses of the same data.
RUN_DEPENDENT_COLUMNS = frozenset({"_dlt_load_id"})

FILE_TABLES = (
    "raw_payments.balance_transactions",
    "raw_bank.statement_lines",
    "raw_ledger.journal_lines",
)
SHOP_TABLES = {
    "raw_shop.customers": "customer_id",
    "raw_shop.products": "product_id",
    "raw_shop.orders": "order_id",
    "raw_shop.order_lines": "order_line_id",
}

KILL_POINTS = ("extract", "normalize", "load", "dbt")
# How far into a stage the kill comes: the third file read, the first table copied, a third
# of dbt's nodes done. Each leaves that stage half-finished, not merely unstarted.
FILES_BEFORE_EXTRACT_KILL = 3
DBT_NODES_BEFORE_KILL = 60
KILLED_PIPELINE = "tally_payments"
PAUSE_LIMIT_SECONDS = 120


@dataclass(frozen=True)
class Completed:
    """A finished `run.py` child: its exit code and output."""

    returncode: int
    stdout: str
    stderr: str


def run_tally(
    arguments: list[str],
    env: Mapping[str, str],
    *,
    kill_at: str | None = None,
    kill_signal: str = "KILL",
    timeout: float = 300,
) -> Completed:
    """Run `python run.py <arguments>` in a child, optionally killing itself at `kill_at`."""
    if kill_at is None:
        command = [sys.executable, str(PROJECT_DIR / "run.py"), *arguments]
    else:
        command = [
            sys.executable, str(HELPER), "--kill-at", kill_at, "--signal", kill_signal,
            "--", *arguments,
        ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr)


def start_tally(
    arguments: list[str], env: Mapping[str, str], *, pause_at: str
) -> subprocess.Popen[str]:
    """Start `python run.py <arguments>` in a child that pauses at `pause_at` (see pause_files)."""
    return subprocess.Popen(
        [sys.executable, str(HELPER), "--kill-at", pause_at, "--signal", "PAUSE", "--", *arguments],
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tally_env(root: Path, **extra: str) -> dict[str, str]:
    """The TALLY_* variables of a workspace under `root` (landing zone, warehouse, logs)."""
    return {
        "TALLY_LANDING": str(root / "landing"),
        "TALLY_WAREHOUSE": str(root / "wh" / "wh.duckdb"),
        "TALLY_LOG_DIR": str(root / "logs"),
        "TALLY_METRICS_FILE": str(root / "logs" / "tally.prom"),
        "DBT_TARGET_PATH": str(root / "target"),
        "TALLY_ALERT_WEBHOOK": "",
        **extra,
    }


def folder_digest(folder: Path) -> str:
    """One hash over every file's path, bytes and mode below `folder`."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(oct(path.stat().st_mode).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _columns(connection: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    schema, table = relation.split(".")
    return connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def relation_fingerprint(
    connection: duckdb.DuckDBPyConnection, relation: str, columns_of: str | None = None
) -> dict[str, Any]:
    """Row count, the sum of each numeric column, and an order-independent content hash.

    `columns_of` names the table whose columns `relation` has, when `relation` is a view.
    """
    columns = [
        (name, kind) for name, kind in _columns(connection, columns_of or relation)
        if name not in RUN_DEPENDENT_COLUMNS
    ]  # fmt: skip
    assert columns, f"`{relation}` does not exist or has no columns"
    row_text = "cast(row(" + ", ".join(f'"{name}"' for name, _ in columns) + ") as varchar)"
    numeric = [
        name for name, kind in columns
        if kind.startswith(("DECIMAL", "BIGINT", "INTEGER", "HUGEINT", "DOUBLE"))
    ]  # fmt: skip
    sums = ", ".join(f'sum("{name}")' for name in numeric) or "null"
    count, content = connection.execute(
        f"select count(*), md5(coalesce(string_agg(row_text, chr(10) order by row_text), ''))"
        f" from (select {row_text} as row_text from {relation})"
    ).fetchone() or (0, "")
    totals = connection.execute(f"select {sums} from {relation}").fetchone() or ()
    return {
        "rows": count,
        "totals": dict(zip(numeric, (str(value) for value in totals), strict=False)),
        "md5": content,
    }


def marts_fingerprint(warehouse: Path) -> dict[str, dict[str, Any]]:
    """The fingerprint of every mart in MARTS."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {mart: relation_fingerprint(connection, mart) for mart in MARTS}


def raw_duplicates(warehouse: Path) -> dict[str, int]:
    """Rows of complete loads that raw holds beyond the landing zone, per raw table.

    A file table's file content (sha256) is loaded once: two complete loads of the same bytes
    are a duplicate. A shop row version (key, updated_at) is likewise loaded once.
    """
    found: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for table in FILE_TABLES:
            schema = table.split(".")[0]
            found[table] = connection.execute(
                f"select count(*) - count(distinct (_source_file, _file_sha256, _source_line))"
                f" from {table} where _dlt_load_id in"
                f" (select load_id from {schema}._dlt_loads where status = 0)"
            ).fetchone()[0]  # type: ignore[index]
        for table, key in SHOP_TABLES.items():
            schema = table.split(".")[0]
            found[table] = connection.execute(
                f"select count(*) - count(distinct ({key}, updated_at)) from {table}"
                f" where _dlt_load_id in (select load_id from {schema}._dlt_loads where status = 0)"
            ).fetchone()[0]  # type: ignore[index]
    return found


def raw_rows_per_file(warehouse: Path) -> dict[str, int]:
    """Rows of complete loads per landing file (its latest content), over the file tables."""
    counts: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for table in FILE_TABLES:
            schema = table.split(".")[0]
            rows = connection.execute(
                f"select _source_file, count(distinct (_file_sha256, _source_line)) from {table}"
                f" where _dlt_load_id in (select load_id from {schema}._dlt_loads where status = 0)"
                " group by 1"
            ).fetchall()
            counts.update(dict(rows))
    return counts


def incomplete_loads_in_staging(warehouse: Path) -> int:
    """Staging rows whose load dlt never marked complete (must be none)."""
    views = {
        "staging.stg_payments__balance_transactions": "raw_payments",
        "staging.stg_bank__statement_lines": "raw_bank",
        "staging.stg_ledger__journal_lines": "raw_ledger",
        "staging.stg_shop__orders": "raw_shop",
        "staging.stg_shop__order_lines": "raw_shop",
    }
    total = 0
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for view, schema in views.items():
            total += connection.execute(
                f"select count(*) from {view} where _dlt_load_id not in"
                f" (select load_id from {schema}._dlt_loads where status = 0)"
            ).fetchone()[0]  # type: ignore[index]
    return total


@dataclass
class Webhook:
    """A local webhook receiver; `bodies` collects the JSON alerts it received."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Server:
    server: http.server.ThreadingHTTPServer
    webhook: Webhook


def start_webhook() -> _Server:
    """A webhook on 127.0.0.1 at a free port, serving in a daemon thread."""
    bodies: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    return _Server(server, Webhook(f"http://127.0.0.1:{port}/hooks/alerts", bodies))


def webhook() -> Iterator[Webhook]:
    """Body of a pytest fixture: a running local webhook, shut down afterwards."""
    running = start_webhook()
    try:
        yield running.webhook
    finally:
        running.server.shutdown()


DEMO_DAYS = 8
DEMO_ORDERS_PER_DAY = 15
DEMO_START = dt.date(2025, 10, 1)


def make_clean_landing(landing: Path) -> Path:
    """A small demo landing zone without injected breaks or malformed rows."""
    from demo.generator import DemoConfig, generate  # noqa: PLC0415

    generate(
        DemoConfig(
            landing=landing,
            start=DEMO_START,
            days=DEMO_DAYS,
            orders_per_day=DEMO_ORDERS_PER_DAY,
            anomaly_rate=0.0,
            malformed_rate=0.0,
        )
    )
    return landing


def manifest_records_per_file(landing: Path) -> dict[str, int]:
    """Data records of each non-empty CSV delivery, as its manifest states them."""
    counts: dict[str, int] = {}
    for manifest in landing.glob("*/*/_manifest.json"):
        document = json.loads(manifest.read_text())
        if int(document["record_count"]) > 0:
            counts[str(document["file"])] = int(document["record_count"])
    return counts


def raw_fingerprint(warehouse: Path) -> dict[str, dict[str, Any]]:
    """What raw holds in complete loads, load ids left out: equal for equal landing zones."""
    fingerprints: dict[str, dict[str, Any]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for table in (*FILE_TABLES, *SHOP_TABLES):
            schema = table.split(".")[0]
            connection.execute(
                f"create or replace temp view complete_rows as select * from {table}"
                f" where _dlt_load_id in (select load_id from {schema}._dlt_loads where status = 0)"
            )
            fingerprints[table] = relation_fingerprint(connection, "temp.complete_rows", table)
    return fingerprints


# The child side: install one kill point, then run the CLI.


def _signal_self(signal_name: str) -> None:
    sys.stdout.flush()
    if signal_name == "PAUSE":
        _pause()
        return
    os.kill(os.getpid(), getattr(signal, f"SIG{signal_name}"))


def pause_files(log_dir: Path) -> tuple[Path, Path]:
    """The files a PAUSEd child writes when it stops, and waits for before it goes on."""
    return log_dir / "paused", log_dir / "resume"


def _pause() -> None:
    paused, resume = pause_files(Path(os.environ["TALLY_LOG_DIR"]))
    paused.touch()
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while not resume.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def _wrap(owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    setattr(owner, name, make(getattr(owner, name)))


def _install_kill_point(point: str, signal_name: str) -> None:
    import dlt  # noqa: PLC0415
    from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob  # noqa: PLC0415

    from ingest.landed_files import SeenFiles  # noqa: PLC0415
    from runner.steps import RunSteps  # noqa: PLC0415

    calls = {"count": 0}

    def after_files(original: Callable[..., Any]) -> Callable[..., Any]:
        def remember(self: Any, *args: Any) -> Any:
            calls["count"] += 1
            if calls["count"] == FILES_BEFORE_EXTRACT_KILL:
                _signal_self(signal_name)
            return original(self, *args)

        return remember

    def before_normalize(original: Callable[..., Any]) -> Callable[..., Any]:
        def normalize(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self.pipeline_name == KILLED_PIPELINE:
                _signal_self(signal_name)
            return original(self, *args, **kwargs)

        return normalize

    def after_first_copy(original: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Any) -> Any:
            result = original(self)
            if KILLED_PIPELINE in self._file_path:
                _signal_self(signal_name)
            return result

        return run

    def after_dbt_nodes(original: Callable[..., Any]) -> Callable[..., Any]:
        def progress(self: Any, finished: int, total: int) -> Any:
            if finished == DBT_NODES_BEFORE_KILL:
                _signal_self(signal_name)
            return original(self, finished, total)

        return progress

    if point == "extract":
        _wrap(SeenFiles, "remember", after_files)
    elif point == "normalize":
        _wrap(dlt.Pipeline, "normalize", before_normalize)
    elif point == "load":
        _wrap(DuckDbCopyJob, "run", after_first_copy)
    else:
        _wrap(RunSteps, "_show_dbt_progress", after_dbt_nodes)


def _child_main() -> int:
    parser = argparse.ArgumentParser(description="run.py with a kill point (fault tests only)")
    parser.add_argument("--kill-at", choices=KILL_POINTS, required=True)
    parser.add_argument("--signal", choices=("KILL", "TERM", "PAUSE"), default="KILL")
    parser.add_argument("arguments", nargs="*")
    options = parser.parse_args()
    sys.path.insert(0, str(PROJECT_DIR))
    _install_kill_point(options.kill_at, options.signal)
    from runner.cli import main  # noqa: PLC0415

    return main(options.arguments)


if __name__ == "__main__":
    sys.exit(_child_main())
