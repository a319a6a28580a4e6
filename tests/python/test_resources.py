"""Resource limits: one set of `TALLY_*` variables caps DuckDB for dlt's loads and dbt's build."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from ingest.errors import SourceConfigError
from ingest.pipeline import duckdb_destination
from ingest.resources import (
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TEMP_DIR,
    DEFAULT_THREADS,
    MEMORY_LIMIT_ENV,
    TEMP_DIR_ENV,
    THREADS_ENV,
    DuckDBResources,
)
from runner.dbt import release_duckdb

PROFILES = Path(__file__).resolve().parents[2] / "profiles.yml"


def test_limits_reach_the_connection_dlt_loads_with(tmp_path: Path) -> None:
    resources = DuckDBResources.from_environment(
        {MEMORY_LIMIT_ENV: "1GiB", THREADS_ENV: "1", TEMP_DIR_ENV: str(tmp_path / "spill")}
    )
    pipeline = dlt.pipeline(
        pipeline_name="resources_probe",
        pipelines_dir=str(tmp_path / "dlt"),
        destination=duckdb_destination(tmp_path / "warehouse.duckdb", resources),
        dataset_name="probe",
    )
    pipeline.run([{"id": 1}], table_name="probe_rows")

    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "select current_setting('memory_limit'), current_setting('threads'),"
            " current_setting('temp_directory')"
        )
    assert rows == [("1.0 GiB", 1, str(tmp_path / "spill"))]
    assert (tmp_path / "spill").is_dir()


def test_defaults_equal_the_dbt_profile() -> None:
    profile = PROFILES.read_text()

    assert (
        f"memory_limit: \"{{{{ env_var('{MEMORY_LIMIT_ENV}', '{DEFAULT_MEMORY_LIMIT}')" in profile
    )
    assert f"threads: \"{{{{ env_var('{THREADS_ENV}', '{DEFAULT_THREADS}')" in profile
    assert f"temp_directory: \"{{{{ env_var('{TEMP_DIR_ENV}', '{DEFAULT_TEMP_DIR}')" in profile
    assert DuckDBResources.from_environment({}) == DuckDBResources()


@pytest.mark.parametrize(
    ("variable", "value"),
    [(MEMORY_LIMIT_ENV, "lots"), (MEMORY_LIMIT_ENV, "2"), (THREADS_ENV, "0"), (THREADS_ENV, "x")],
)
def test_a_malformed_limit_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SourceConfigError, match=variable):
        DuckDBResources.from_environment({variable: value})


@pytest.mark.parametrize(
    ("memory_limit", "expected_bytes"),
    [("4GB", 4 * 1000**3), ("1536MB", 1536 * 1000**2), ("1.5GiB", 3 * 2**29), ("512 kib", 2**19)],
)
def test_the_memory_limit_is_read_in_bytes_as_duckdb_reads_it(
    memory_limit: str, expected_bytes: int
) -> None:
    resources = DuckDBResources.from_environment({MEMORY_LIMIT_ENV: memory_limit})
    assert resources.memory_limit_bytes == expected_bytes


def test_a_build_goes_on_after_a_model_spilled_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a query has spilled, DuckDB refuses to set `temp_directory` again: every model
    dbt runs after it, on a new cursor, must still get the repo profile's connection."""
    from dbt.cli.main import dbtRunner  # noqa: PLC0415 (dbt's import is slow; only here)

    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: spill_probe\nversion: '1.0'\nconfig-version: 2\nprofile: tally\n"
        "models:\n  spill_probe:\n    +materialized: table\n"
    )
    # Sorting three million hashes needs several times the 64 MB the build may hold.
    (project / "models" / "sorted_hashes.sql").write_text(
        "select md5(cast(range as varchar)) as hash from range(3000000) order by hash"
    )
    (project / "models" / "after_the_spill.sql").write_text(
        "select count(*) as count_hashes from {{ ref('sorted_hashes') }}"
    )
    spill = tmp_path / "spill"
    monkeypatch.setenv("TALLY_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "64MB")
    monkeypatch.setenv(THREADS_ENV, "1")
    monkeypatch.setenv(TEMP_DIR_ENV, str(spill))
    monkeypatch.delenv("TALLY_TARGET", raising=False)

    arguments = [
        "build",
        "--project-dir", str(project),
        "--profiles-dir", str(PROFILES.parent),
        "--target-path", str(tmp_path / "target"),
        "--log-path", str(tmp_path / "logs"),
        "--threads", "1",
    ]  # fmt: skip
    try:
        result = dbtRunner().invoke(arguments)
        # DuckDB removes its spill folder when the database closes.
        spilled = spill.is_dir()
    finally:
        release_duckdb()

    statuses = {r.node.name: str(r.status) for r in result.result} if result.result else {}
    assert statuses == {"sorted_hashes": "success", "after_the_spill": "success"}, result.exception
    assert spilled, "the sort did not spill, so the test proves nothing"
