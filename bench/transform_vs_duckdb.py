"""Transform efficiency: a full `dbt build` against the same compiled SQL run straight in DuckDB.

On one landing zone, `python run.py ingest` loads a raw warehouse, which is copied twice:
  1. dbt: `python run.py build --full-refresh` on the first copy;
  2. DuckDB: on the second copy, in one process, every model's compiled SQL (from `dbt compile`)
     as `create table/view ... as`, in dependency order, seeds read with `read_csv`, and every
     data test as `select count(*) from (<its SQL>)`. A microbatch model runs the SQL of each
     batch the build ran (dbt writes it beside the model's compiled file): the first batch
     creates the table, the others insert. The whole history in one statement is not what
     dbt runs, and does not fit the memory a batch does. Unit tests have no SQL of their own
     to run here; dbt's time for them counts as dbt's.
Both run under the same TALLY_MEMORY_LIMIT and threads. Target: dbt <= 1.5x DuckDB.

    python bench/transform_vs_duckdb.py --landing /tmp/bench/five/landing --work /tmp/bench/tx
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb
from common import PROJECT_DIR, PYTHON, machine, measure, recorded_peak_mib, report

from ingest.resources import DuckDBResources

SCRIPT = Path(__file__).resolve()
ACCEPTED_EXIT_CODES = (0, 4)  # 4: an audit test found rows; the demo injects breaks.


def _batches(node: dict[str, Any], build_target: Path) -> list[str]:
    """The SQL of each event-time batch the build ran for a microbatch model, oldest first."""
    if node["config"].get("incremental_strategy") != "microbatch":
        return []
    folder = (
        build_target / "compiled" / node["package_name"] / Path(node["original_file_path"])
    ).with_suffix("")
    return [path.read_text() for path in sorted(folder.glob(f"{node['name']}_*.sql"))]


def _statements(manifest: dict[str, Any], build_target: Path) -> list[tuple[str, str]]:
    """(unique_id, SQL) of every seed, model, snapshot and data test, in dependency order."""
    nodes = manifest["nodes"]
    graph = {
        unique_id: [p for p in node.get("depends_on", {}).get("nodes", []) if p in nodes]
        for unique_id, node in nodes.items()
    }
    statements = []
    for unique_id in TopologicalSorter(graph).static_order():
        node = nodes[unique_id]
        kind = node["resource_type"]
        relation = node.get("relation_name")
        if kind == "seed":
            path = PROJECT_DIR / node["original_file_path"]
            sql = f"create or replace table {relation} as select * from read_csv('{path}')"
        elif batches := _batches(node, build_target):
            first, *others = batches
            statements.append((unique_id, f"create or replace table {relation} as {first}"))
            statements += [(unique_id, f"insert into {relation} {batch}") for batch in others]
            continue
        elif kind in {"model", "snapshot"}:
            view = node["config"]["materialized"] == "view"
            sql = (
                f"create or replace {'view' if view else 'table'} {relation} as"
                f" {node['compiled_code']}"
            )
        elif kind == "test":
            sql = f"select count(*) from ({node['compiled_code']}) as failures"
        else:
            continue
        statements.append((unique_id, sql))
    return statements


def _child(warehouse: Path, manifest_path: Path, build_target: Path) -> int:
    """Runs the compiled SQL on the raw copy; prints the seconds as a JSON line."""
    manifest = json.loads(manifest_path.read_text())
    statements = _statements(manifest, build_target)
    settings: dict[str, Any] = dict(DuckDBResources.from_environment().settings())
    started = time.perf_counter()
    with duckdb.connect(str(warehouse), config=settings) as db:
        schemas = {
            (node["database"], node["schema"])
            for node in manifest["nodes"].values()
            if node["resource_type"] in {"seed", "model", "snapshot"}
        }
        for database, schema in schemas:
            db.execute(f'create schema if not exists "{database}"."{schema}"')
        for _, sql in statements:
            db.execute(sql).fetchall()
    print(json.dumps({"seconds": time.perf_counter() - started, "statements": len(statements)}))
    return 0


def _environment(work: Path, warehouse: Path, memory_limit: str) -> dict[str, str]:
    return {
        "TALLY_MEMORY_LIMIT": memory_limit,
        "TALLY_WAREHOUSE": str(warehouse),
        "TALLY_LOG_DIR": str(work / "logs"),
        "DBT_TARGET_PATH": str(work / "target"),
        "TALLY_TEMP_DIR": str(work / "spill"),
    }


def _build_step_seconds(warehouse: Path) -> float:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        row = db.execute(
            "select duration_seconds from ops.step_runs where step = 'build'"
            " order by started_at desc limit 1"
        ).fetchone()
    return float(row[0]) if row else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, help="the landing zone to load and build")
    parser.add_argument("--work", type=Path, help="a scratch folder, emptied")
    parser.add_argument("--memory-limit", default="1536MB", help="TALLY_MEMORY_LIMIT, both sides")
    parser.add_argument("--child-warehouse", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-manifest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-build-target", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_warehouse:
        return _child(args.child_warehouse, args.child_manifest, args.child_build_target)
    if args.landing is None or args.work is None:
        parser.error("--landing and --work are required")

    report("machine", machine())
    shutil.rmtree(args.work, ignore_errors=True)
    # The same file name everywhere: dbt's relation names carry the database (the file stem).
    raw, built, direct = (args.work / name / "warehouse.duckdb" for name in ("raw", "dbt", "sql"))
    landing_env = {"TALLY_LANDING": str(args.landing)}
    ingest = measure(
        [PYTHON, "run.py", "ingest"],
        env={**landing_env, **_environment(args.work / "raw", raw, args.memory_limit)},
    )
    report(
        "ingest (not compared)",
        f"{ingest.seconds:.1f} s ({ingest.cpu_seconds:.1f} CPU s),"
        f" peak RSS {recorded_peak_mib(raw):,.0f} MiB",
    )
    for copy in (built, direct):
        copy.parent.mkdir(parents=True)
        shutil.copyfile(raw, copy)

    dbt_env = {**landing_env, **_environment(args.work / "dbt", built, args.memory_limit)}
    build = measure(
        [PYTHON, "run.py", "build", "--full-refresh"],
        env=dbt_env,
        accept_exit_codes=ACCEPTED_EXIT_CODES,
    )
    build_step = _build_step_seconds(built)
    compiled = args.work / "dbt" / "compiled-target"
    measure(
        # As a full refresh compiles it: incremental models read no table of their own.
        [str(Path(PYTHON).parent / "dbt"), "compile", "--full-refresh",
         "--project-dir", str(PROJECT_DIR),
         "--profiles-dir", str(PROJECT_DIR), "--target-path", str(compiled),
         "--log-path", str(args.work / "dbt" / "logs")],
        env=dbt_env,
    )  # fmt: skip
    sql = measure(
        [PYTHON, str(SCRIPT), "--child-warehouse", str(direct),
         "--child-manifest", str(compiled / "manifest.json"),
         "--child-build-target", str(args.work / "dbt" / "target")],
        env=_environment(args.work / "sql", direct, args.memory_limit),
    )  # fmt: skip
    sql_seconds = float(sql.json_line()["seconds"])
    report(
        "dbt build --full-refresh (run.py build)",
        f"process {build.seconds:.1f} s ({build.cpu_seconds:.1f} CPU s),"
        f" build step {build_step:.1f} s,"
        f" peak RSS {recorded_peak_mib(built):,.0f} MiB",
    )
    report(
        "compiled SQL straight in DuckDB",
        f"process {sql.seconds:.1f} s ({sql.cpu_seconds:.1f} CPU s), SQL {sql_seconds:.1f} s for"
        f" {sql.json_line()['statements']} statements, peak RSS {sql.peak_rss_mib:,.0f} MiB",
    )
    report("(d) dbt build step / SQL", f"{build_step / sql_seconds:.2f}x (<= 1.5x)")
    report("(d) whole processes, wall", f"{build.seconds / sql.seconds:.2f}x")
    report("(d) whole processes, CPU", f"{build.cpu_seconds / sql.cpu_seconds:.2f}x")
    report("machine after", machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
