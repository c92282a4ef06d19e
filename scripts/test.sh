#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint, format, types, architecture contracts,
# then pytest. PostgreSQL tests run when VARDEILD_TEST_DATABASE_URL is set (see docs/testing.md).
# Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff check"; ruff check src tests benches scripts
echo "== ruff format --check"; ruff format --check src tests benches scripts
echo "== mypy"; mypy
echo "== import-linter"; lint-imports --no-cache
echo "== pytest"
mkdir -p test-artifacts
# Two worker processes (pytest-xdist), one a core; VARDEILD_TEST_WORKERS=0 runs the tests in
# this one process, e.g. to debug one with pdb.
exec python -m pytest -n "${VARDEILD_TEST_WORKERS:-2}" --junitxml=test-artifacts/junit.xml "$@"
