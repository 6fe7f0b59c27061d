"""Every case file through the whole pipeline, compared in full with its golden text and JSON.

`pytest --update-golden` rewrites the goldens; review them in the diff like code.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from helpers import case_paths, case_report
from oomlens.render import RENDERERS, render

SCHEMA = json.loads((resources.files("oomlens") / "schema" / "report.schema.json").read_text())
CASES = case_paths()


def _check(path: Path, text: str, update: bool) -> None:
    if update:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden {path.name}: run pytest --update-golden and review it"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_text(case: Path, update_golden: bool) -> None:
    out = render(case_report(case.name), "text")
    _check(case.with_suffix(".expected.txt"), out, update_golden)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_json(case: Path, update_golden: bool) -> None:
    # `--format json` writes one line per event; the golden is the same document indented,
    # so that a change reads as a diff. They are compared as documents, in full.
    doc = json.loads(render(case_report(case.name), "json"))
    golden = case.with_suffix(".expected.json")
    if update_golden:
        golden.write_text(
            json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    assert golden.exists(), f"no golden {golden.name}: run pytest --update-golden and review it"
    assert doc == json.loads(golden.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_json_matches_schema(case: Path) -> None:
    doc = json.loads(case.with_suffix(".expected.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_every_renderer_renders_an_empty_report(fmt: str) -> None:
    from oomlens.model import Report

    assert render(Report(sources=(), events=(), analyses=()), fmt)
