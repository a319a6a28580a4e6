"""The docs fingerprint follows the project's dbt files and the warehouse's shape, nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.docs_server import SITE_FILES
from runner.docs_state import docs_are_current, docs_fingerprint, forget_docs, remember_docs

SHAPE = [("staging", "stg_orders", 1, "order_id", "VARCHAR", "The order's id.")]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models" / "staging").mkdir(parents=True)
    (root / "tests" / "python").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: tally\n")
    (root / "models" / "staging" / "stg_orders.sql").write_text("select 1 as order_id\n")
    (root / "models" / "staging" / "_models.yml").write_text("models: []\n")
    (root / "tests" / "python" / "test_something.py").write_text("x = 1\n")
    return root


def test_the_fingerprint_changes_with_a_model_description_or_the_warehouse(project: Path) -> None:
    before = docs_fingerprint(project, None, SHAPE)
    assert docs_fingerprint(project, None, SHAPE) == before, "stable for the same inputs"

    yml = project / "models" / "staging" / "_models.yml"
    yml.write_text("models: [{name: stg_orders, description: Orders.}]\n")
    described = docs_fingerprint(project, None, SHAPE)
    assert described != before

    new_column = [*SHAPE, ("staging", "stg_orders", 2, "status", "VARCHAR", None)]
    assert docs_fingerprint(project, None, new_column) != described
    assert docs_fingerprint(project, "spark", SHAPE) != described

    renamed = project / "models" / "staging" / "stg_shop_orders.sql"
    shutil.move(project / "models" / "staging" / "stg_orders.sql", renamed)
    assert docs_fingerprint(project, None, SHAPE) != described, "a moved file changes it"


def test_files_dbt_does_not_read_leave_the_fingerprint_alone(project: Path) -> None:
    before = docs_fingerprint(project, None, SHAPE)
    (project / "tests" / "python" / "test_something.py").write_text("x = 2\n")
    (project / "models" / "staging" / "notes.txt").write_text("scratch\n")
    (project / "README.md").write_text("# readme\n")
    assert docs_fingerprint(project, None, SHAPE) == before


def test_the_site_is_current_only_when_complete_and_generated_for_the_fingerprint(
    tmp_path: Path,
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    remember_docs(target, "abc")
    assert not docs_are_current(target, "abc"), "no site files yet"

    for name in SITE_FILES:
        (target / name).write_text("{}")
    assert docs_are_current(target, "abc")
    assert not docs_are_current(target, "def")

    forget_docs(target)
    assert not docs_are_current(target, "abc")
    forget_docs(target)  # forgetting twice is fine
