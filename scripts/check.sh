#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, type checks, SQL lint, then pytest.
# Run scripts/setup.sh --dev first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check . && ruff format --check .
echo "== mypy"; mypy
echo "== sqlfluff"; sqlfluff lint models tests snapshots
echo "== pytest"; python -m pytest "$@"
