#!/usr/bin/env bash
# The whole test suite in one command, on a machine with only Python 3.11:
# creates .venv if needed, installs Fermata with its test extras (pytest,
# Hypothesis, LangGraph for the differential tests, ruff and mypy), then
# runs the lint and type gate (`ruff check`, `mypy --strict` on the project's
# own source, configured in pyproject.toml) and pytest.
#
#   bash scripts/test.sh                      # the gate, then every test (what CI runs)
#   bash scripts/test.sh -m "not slow"        # inner loop: no gate, no slow tests
#   bash scripts/test.sh -k resume -x         # any pytest arguments: no gate
#   FERMATA_GATE=1 bash scripts/test.sh -k x  # the gate as well, with arguments
#
# Extra arguments go to pytest and skip the gate (it takes ~10 s), unless
# FERMATA_GATE=1; with no arguments, or in CI (.ci/run sets FERMATA_GATE=1),
# the gate always runs and a finding fails the run before any test.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
if [ $# -eq 0 ] || [ "${FERMATA_GATE:-0}" = 1 ]; then
    # The whole repository, tests and examples included ([tool.ruff] in pyproject.toml).
    .venv/bin/ruff check .
    # Which packages, strictness and the path layout: [tool.mypy] in pyproject.toml.
    .venv/bin/mypy
fi
exec .venv/bin/python -m pytest "$@"
