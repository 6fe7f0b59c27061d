#!/usr/bin/env bash
# Installs what the tests need (a local .venv) and runs lint, types and the whole test suite.
# The README's quick start and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
