#!/usr/bin/env bash
# Install what the tests need, check the code (ruff, import-linter's layer rules, mypy), then run the whole test
# suite (unit, integration on real nodes, notebooks).
# Run it as root (or with sudo). Extra arguments go to pytest, e.g.: bash scripts/test.sh -m "not integration"
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
# The Incus engine for the cluster tests (tests/integration/test_incus.py); not part of a student's install.
bash scripts/install-incus.sh || exit 1
.venv/bin/ruff check . || exit 1
.venv/bin/lint-imports || exit 1  # the layout's rules: [tool.importlinter] in pyproject.toml
.venv/bin/mypy || exit 1  # halab/, graders/, solutions/: [tool.mypy] in pyproject.toml
.venv/bin/python -m pytest -ra --durations=25 "$@"
status=$?
if [ "$status" = 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$status"
