"""The README and --help stay in step: every subcommand has help and appears in the README."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from oomlens.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_subcommand_has_help_and_is_in_the_readme(name: str) -> None:
    sub = _subcommands()[name]
    assert sub.description, f"{name} has no description"
    assert f"oomlens {name}" in README, f"the README does not show `oomlens {name}`"


def test_readme_quick_start_has_the_two_commands() -> None:
    start = README.index("## Quick start")
    block = README[start : README.index("```", README.index("```", start) + 3)]
    commands = [ln for ln in block.splitlines()[1:] if ln and not ln.startswith("```")]
    assert len(commands) == 2
    assert commands[1] == "bash scripts/test.sh"
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
