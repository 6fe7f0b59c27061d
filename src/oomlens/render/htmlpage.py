"""One self-contained HTML page: the template, inline CSS/JS and the embedded JSON document.

The page builds its DOM from the embedded document (`<script type="application/json"
id="oomlens-data">`) with createElement/textContent only, so a process named `<script>` is
shown, never run. The Content-Security-Policy allows exactly the inline style and script
shipped here (by their SHA-256), nothing from the network and no other inline code.
The local web app (`oomlens serve`) uses the same page with no document, fed by its API.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from oomlens.model import Report
from oomlens.render.jsondoc import to_document

__all__ = ["Page", "build_page", "embed_json", "render_html"]

# Inside a <script> element only "</script" (any case) and "<!--" can end or confuse the
# block; escaping every <, > and & makes that impossible. U+2028/9 are escaped so the text
# is also a valid JavaScript literal for older engines.
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")
_SLOT = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True, slots=True)
class Page:
    """A rendered page and the Content-Security-Policy that lets its inline code run."""

    html: str
    csp: str


def render_html(report: Report) -> str:
    """The report as one HTML file that works offline: `to_document(report)` embedded."""
    return build_page(to_document(report)).html


def build_page(document: dict[str, Any] | None, *, config: dict[str, Any] | None = None) -> Page:
    """The page around `document` (None: the web app, which loads documents from its API).

    `config` is passed to the page's script as JSON, e.g. {"mode": "app", "max_upload": N};
    in app mode the policy also allows fetch() to the page's own origin.
    """
    style, script, template = _asset("report.css"), _asset("report.js"), _asset("report.html")
    app = bool(config and config.get("mode") == "app")
    csp = content_security_policy(style, script, app=app)
    values = {
        "csp": csp,
        "style": style,
        "script": script,
        "config": embed_json(config or {"mode": "static"}),
        "data": embed_json(document),
    }
    # one pass: text put into a slot is never searched for slots again
    html = _SLOT.sub(lambda m: values[m.group(1)], template)
    return Page(html=html, csp=csp)


def embed_json(value: Any) -> str:
    """JSON that is safe between <script type="application/json"> tags, and still JSON."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return _JSON_UNSAFE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def content_security_policy(style: str, script: str, *, app: bool = False) -> str:
    """Only these exact inline blocks may run; no network at view time (app: same origin)."""
    parts = [
        "default-src 'none'",
        f"style-src '{_sha256(style)}'",
        f"script-src '{_sha256(script)}'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        # browsers that know Trusted Types refuse any HTML string put into the DOM
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
    if app:
        parts.append("connect-src 'self'")
    return "; ".join(parts)


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


@functools.cache
def _asset(name: str) -> str:
    text = (resources.files("oomlens.render") / "assets" / name).read_text(encoding="utf-8")
    # these would end (or, for "<!--" and "<script", confuse) the inline element
    if name != "report.html" and re.search(r"</?(script|style)|<!--", text, re.IGNORECASE):
        raise AssertionError(f"assets/{name} must not contain <script, </style or <!--")
    return text
