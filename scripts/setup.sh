#!/usr/bin/env bash
# Installs the project into ./.venv from pinned versions.
#   scripts/setup.sh          what `python run.py` and `dbt build` need
#   scripts/setup.sh --dev    also the test, lint and type-check tools, and Debian's chromium
#                             and chromium-driver for the docs site's browser test
# Needs Python 3.11 (`PYTHON` overrides the interpreter) and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3.11}"
requirements=requirements.txt
with_browser=false
for arg in "$@"; do
  case "$arg" in
    --dev) requirements=requirements-dev.txt; with_browser=true ;;
    *) echo "setup.sh: unknown option \`$arg\`; use --dev or nothing" >&2; exit 2 ;;
  esac
done

if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "setup.sh: \`$python\` is not Python 3.11; install it or set PYTHON=/path/to/python3.11" >&2
  exit 2
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -r "$requirements" -c constraints.txt

if $with_browser && ! command -v chromium >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# The Spark target runs pyspark, which needs a Java runtime (17 on Debian 12).
if ! command -v java >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
echo "setup.sh: ready; activate with \`source .venv/bin/activate\`"
