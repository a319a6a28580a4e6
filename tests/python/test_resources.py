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
