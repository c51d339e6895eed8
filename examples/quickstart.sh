#!/usr/bin/env bash
# Fermata in one command: install into .venv, then run the refund example to
# its human approval, answer it, pass the static `interrupt before pay`, and
# show the finished run. Everything is kept in .fermata/runs.db (SQLite, the
# CLI's default store), so each step below is a separate process resuming
# from disk, as it would be in real use.
#
# FERMATA=/path/to/fermata uses an installed `fermata` instead of .venv (the
# test suite does this); FERMATA_STORE=sqlite:///elsewhere.db keeps the runs
# elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${FERMATA:-}" ]; then
    fermata=$FERMATA
else
    PYTHON=${PYTHON:-python3}
    if [ ! -x .venv/bin/fermata ]; then
        echo "==> installing fermata into .venv"
        "$PYTHON" -m venv .venv
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e .
    fi
    fermata=.venv/bin/fermata
fi
thread="quickstart-$(date +%s)-$$"

echo "==> fermata check examples/"
"$fermata" check --strict examples/

echo
echo "==> fermata run: a refund of 250 needs a person's approval"
"$fermata" run examples/refund.flow --thread "$thread" \
    --input '{"amount": 250, "reason": "parcel never arrived"}'

echo
echo "==> fermata resume: the reviewer approves"
"$fermata" resume --thread "$thread" --value '{"approved": true, "comment": "looks fine"}'

echo
echo "==> fermata resume: continue past \`interrupt before pay\`"
"$fermata" resume --thread "$thread"

echo
echo "==> fermata history"
"$fermata" history --thread "$thread"

echo
echo "==> fermata state: the finished run"
"$fermata" state --thread "$thread"
