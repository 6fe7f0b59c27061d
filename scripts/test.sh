#!/usr/bin/env bash
# Installs what the tests need (a local .venv) and runs lint, types and the whole test suite.
# The README's quick start and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# the browser tests drive Debian's Chromium through Playwright (never `playwright install`)
if ! [ -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,browser]'
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
