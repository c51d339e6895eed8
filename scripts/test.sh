#!/usr/bin/env bash
# The whole test suite in one command, on a machine with only Python 3.11:
# creates .venv if needed, installs Fermata with its test extras (pytest,
# Hypothesis, LangGraph for the differential tests, ruff and mypy for the
# generated-code tests), runs pytest.
# Extra arguments go to pytest: `bash scripts/test.sh -k resume -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
exec .venv/bin/python -m pytest "$@"
