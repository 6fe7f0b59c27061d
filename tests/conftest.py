"""Shared fixtures: golden files, pinned time and terminal."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"
# Year-less syslog stamps ("Oct 12 19:00:20") take their year from this date in tests.
NOW = datetime.datetime(2026, 11, 25, 12, 0, 0)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/cases/*.expected.* from the current output (review the diff!)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _pin_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: causes a real kernel OOM kill in a memory cgroup (needs root; skips itself)",
    )
