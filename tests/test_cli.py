"""The command line: help, version, exit statuses, the report's promises, a closed stdout."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from conftest import CASES
from oomlens import __version__
from oomlens.cli import build_parser, main

Capsys = pytest.CaptureFixture[str]

EXAMPLE_CASE = CASES / "real-6.18-global-oom.log"  # the one --example analyses
FRAGMENT = CASES / "035-2.6.34-rc1-mm-with-score-wording-quoted-snip.log"  # "<snip>" lines
QUESTIONS = (
    "System-wide or cgroup OOM?",
    "Who consumed the memory?",
    "Was swap available?",
    "Was the system thrashing?",
    "What would have prevented it?",
)
# The keys every event of the JSON document carries (schema 1; new keys are additive).
EVENT_KEYS = {
    "source",
    "host",
    "time",
    "uptime_s",
    "kernel",
    "lines",
    "complete",
    "missing",
    "scope",
    "memcg",
    "trigger",
    "victim",
    "also_killed",
    "reaped",
    "swap",
    "meminfo",
    "zones",
    "memcg_stats",
    "tasks",
    "unparsed_lines",
}
SCHEMA = json.loads((resources.files("oomlens") / "schema" / "report.schema.json").read_text())


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


SUBCOMMANDS = sorted(_subcommands())


def _exit_status(capsys: Capsys, *argv: str) -> tuple[int | str | None, str, str]:
    """Run a command line that ends in SystemExit (--help, --version, usage errors)."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_subcommands_found() -> None:
    assert "analyze" in SUBCOMMANDS


def test_top_level_help(capsys: Capsys) -> None:
    status, out, err = _exit_status(capsys, "--help")
    assert status == 0
    assert err == ""
    assert out.startswith("usage: oomlens")
    for name in SUBCOMMANDS:
        assert f"    {name} " in out, f"{name} not listed in --help"
    assert "Exit status: 0 OOM events found, 1 none found, 2 usage or input error." in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(name: str, capsys: Capsys) -> None:
    status, out, err = _exit_status(capsys, name, "--help")
    assert status == 0
    assert err == ""
    assert out.startswith(f"usage: oomlens {name}")
    description = _subcommands()[name].description
    assert description, f"{name} has no description"
    assert " ".join(description.split()[:4]) in " ".join(out.split())


def test_version(capsys: Capsys) -> None:
    status, out, _ = _exit_status(capsys, "--version")
    assert status == 0
    assert out == f"oomlens {__version__}\n"


def test_no_subcommand_prints_help(capsys: Capsys) -> None:
    assert main([]) == 2
    out, _ = capsys.readouterr()
    assert out.startswith("usage: oomlens")
    assert "analyze" in out


def test_unknown_subcommand_is_a_usage_error(capsys: Capsys) -> None:
    status, out, err = _exit_status(capsys, "analyse-this")
    assert status == 2
    assert out == ""
    assert "invalid choice: 'analyse-this'" in err


def test_unknown_format_is_a_usage_error(capsys: Capsys) -> None:
    status, _, err = _exit_status(capsys, "analyze", "--format", "yaml", str(FRAGMENT))
    assert status == 2
    assert "invalid choice: 'yaml'" in err


def test_example(capsys: Capsys) -> None:
    assert main(["analyze", "--example"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "killed python3 (pid 1987)" in out
    assert "example:real-6.18-global-oom.log" in out


def test_text_report_answers_the_five_questions(capsys: Capsys) -> None:
    assert main(["analyze", "--example"]) == 0
    out, _ = capsys.readouterr()
    positions = [out.find(f"{n}. {q}") for n, q in enumerate(QUESTIONS, 1)]
    assert -1 not in positions, out
    assert positions == sorted(positions)


def test_strict_fails_on_unknown_lines(capsys: Capsys) -> None:
    # without --strict the unknown lines are counted, not fatal
    assert main(["analyze", "--format", "json", str(FRAGMENT)]) == 0
    doc = json.loads(capsys.readouterr().out)
    (event,) = doc["events"]
    assert event["unparsed_lines"] > 0
    first = event["unparsed"][0]
    assert main(["analyze", "--strict", str(FRAGMENT)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"oomlens: error: {FRAGMENT}:{first['line']}: unrecognised line")
    assert repr(first["text"]) in err
    assert "Traceback" not in err


def test_strict_passes_a_clean_report(capsys: Capsys) -> None:
    assert main(["analyze", "--strict", "--format", "json", str(EXAMPLE_CASE)]) == 0
    (event,) = json.loads(capsys.readouterr().out)["events"]
    assert event["unparsed_lines"] == 0


def test_json_document_keys_for_every_event(capsys: Capsys) -> None:
    cases = sorted(str(p) for p in CASES.glob("*.log"))
    assert main(["analyze", "--format", "json", *cases]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 1
    jsonschema.validate(doc, SCHEMA)
    assert len(doc["events"]) >= len(cases) // 2
    for event in doc["events"]:
        missing = EVENT_KEYS - event.keys()
        assert not missing, f"{event['source']} line {event['lines']['first']}: no {missing}"
        assert set(event["lines"]) == {"first", "last"}
        assert event["unparsed_lines"] == len(event.get("unparsed", []))
    # each case file is its own source, named as given
    assert {e["source"] for e in doc["events"]} <= set(cases)


def test_json_is_sorted_and_stable(capsys: Capsys) -> None:
    assert main(["analyze", "--format", "json", "--example"]) == 0
    first = capsys.readouterr().out
    assert main(["analyze", "--format", "json", "--example"]) == 0
    assert capsys.readouterr().out == first
    doc = json.loads(first)
    # one line per event, keys sorted: each event line is the compact sorted encoding
    lines = first.splitlines()
    assert lines[0] == '{"events":['
    assert lines[1] == json.dumps(
        doc["events"][0], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert list(doc) == sorted(doc)


def _oomlens(*argv: str, stdout: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "oomlens", *argv], stdout=stdout, stderr=subprocess.PIPE, env=env
    )


def test_closed_stdout_like_head() -> None:
    # `oomlens analyze -f json *.log | head -1`: about 1 MB of JSON into a pipe whose reader
    # leaves after the first line
    cases = sorted(str(p) for p in CASES.glob("*.log"))
    proc = _oomlens("analyze", "--format", "json", *cases, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b'{"events":[\n'
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert err == ""


def test_stdout_closed_before_any_output() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails with EPIPE
    try:
        proc = _oomlens("analyze", "--example", stdout=write_end)
    finally:
        os.close(write_end)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0
    assert "Traceback" not in err
    assert err == ""
