"""Helpers shared by the tests: run a case file through the whole pipeline."""

from __future__ import annotations

from pathlib import Path

from conftest import CASES, NOW
from oomlens.analyze import diagnose
from oomlens.model import OomEvent, Report
from oomlens.reader import read_source
from oomlens.sources import Source


def case_events(name: str) -> list[OomEvent]:
    """Every event of tests/cases/NAME, its source named by the file name only."""
    path = CASES / name
    return read_source(Source(name=name, path=path), now=NOW)


def case_report(name: str) -> Report:
    return diagnose(case_events(name), sources=[name])


def case_paths() -> list[Path]:
    return sorted(CASES.glob("*.log"))
