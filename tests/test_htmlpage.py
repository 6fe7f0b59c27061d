"""The HTML report without a browser: embedded JSON, escaping, the Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from conftest import CASES
from helpers import case_paths, case_report
from oomlens.model import Report
from oomlens.render.htmlpage import build_page, embed_json, render_html
from oomlens.render.jsondoc import to_document

DATA_BLOCK = re.compile(
    r'<script type="application/json" id="oomlens-data">(.*?)</script>', re.DOTALL
)
PAYLOADS = {
    "python3": "<script>window.pwned=1;alert(1)</script>",
    "/oomtest-a": '/"><img src=x onerror="window.pwned=2;alert(2)">',
}


def crafted_log(tmp_path: Path, payloads: dict[str, str] = PAYLOADS) -> Path:
    """real-6.18-memcg-v1-single.log with its comm and cgroup path replaced by payloads."""
    text = (CASES / "real-6.18-memcg-v1-single.log").read_text(encoding="utf-8")
    for old, new in payloads.items():
        text = text.replace(old, new)
    path = tmp_path / "crafted.log"
    path.write_text(text, encoding="utf-8")
    return path


def crafted_report(tmp_path: Path, payloads: dict[str, str] = PAYLOADS) -> Report:
    from oomlens.analyze import diagnose
    from oomlens.reader import read_source
    from oomlens.sources import Source

    path = crafted_log(tmp_path, payloads)
    return diagnose(read_source(Source(name="crafted.log", path=path)), sources=["crafted.log"])


def embedded(html: str) -> object:
    m = DATA_BLOCK.search(html)
    assert m is not None
    return json.loads(m.group(1))


def inline_blocks(html: str) -> tuple[str, str]:
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    script = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    assert style is not None and script is not None
    return style.group(1), script.group(1)


def sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_every_case_embeds_its_document(path: Path) -> None:
    report = case_report(path.name)
    html = render_html(report)
    assert embedded(html) == json.loads(json.dumps(to_document(report)))
    assert html.startswith("<!DOCTYPE html>")


def test_empty_report_renders() -> None:
    report = Report(sources=("x.log",), events=(), analyses=())
    doc = embedded(render_html(report))
    assert doc == json.loads(json.dumps(to_document(report)))
    assert isinstance(doc, dict) and doc["events"] == []


def test_csp_hashes_match_the_inline_blocks() -> None:
    html = render_html(case_report("oomanalyser-archlinux-6.1.log"))
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta is not None
    csp = dict(d.strip().split(" ", 1) for d in meta.group(1).split(";"))
    style, script = inline_blocks(html)
    assert csp["default-src"] == "'none'"
    assert csp["style-src"] == f"'{sha256(style)}'"
    assert csp["script-src"] == f"'{sha256(script)}'"
    assert csp["img-src"] == "data:"
    assert "connect-src" not in csp  # the file never talks to the network


def test_app_page_may_fetch_its_own_origin_only() -> None:
    page = build_page(None, config={"mode": "app", "max_upload": 10})
    assert "connect-src 'self'" in page.csp
    assert f'content="{page.csp}"' in page.html
    assert embedded(page.html) is None


def test_log_strings_never_appear_as_markup(tmp_path: Path) -> None:
    payloads = {
        "python3": "</script><script>window.pwned=3</script>",
        "/oomtest-a": "/x\u2028\u2029</SCRIPT ><!--<img src=x onerror=alert(1)>&amp;",
    }
    report = crafted_report(tmp_path, payloads)
    html = render_html(report)
    # the template's own three <script> elements, and not one more
    assert html.lower().count("<script") == 3
    assert html.lower().count("</script") == 3
    assert "<img" not in html and "<!--" not in html
    assert "\u2028" not in html and "\u2029" not in html
    doc = embedded(html)
    assert doc == json.loads(json.dumps(to_document(report)))
    assert isinstance(doc, dict)
    assert doc["events"][0]["victim"]["comm"] == payloads["python3"]


def test_embed_json_escapes_what_could_end_the_block() -> None:
    text = embed_json({"k": "</script><b>&\u2028\u2029"})
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"k": "</script><b>&\u2028\u2029"}


def test_slots_are_filled_once() -> None:
    """Text that looks like a template slot, inside the data, stays data."""
    doc = {"schema": 1, "sources": ["{{script}} {{csp}}"], "events": []}
    html = build_page(doc).html
    _, script = inline_blocks(html)
    assert html.count(script) == 1
    assert "{{script}} {{csp}}" in html


def test_script_builds_the_dom_without_html_strings() -> None:
    js = (resources.files("oomlens.render") / "assets" / "report.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js
    assert "new Function" not in js


def test_no_network_references_in_the_page() -> None:
    html = render_html(case_report("real-6.18-memcg-v1-single.log"))
    style, script = inline_blocks(html)
    for text in (style, script):
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
    assert '<link rel="stylesheet"' not in html and " src=" not in html.split("<body>")[0]
