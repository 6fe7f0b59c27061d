"""Renderers: `render(report, fmt) -> str`. The keys of RENDERERS are the --format choices.

Each renderer's module is imported only when its format is asked for: the command line
builds its `--format` choices from the keys without paying for the HTML page's assets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oomlens.model import Report

# format -> (module, function): `function(report) -> str`
RENDERERS: dict[str, tuple[str, str]] = {
    "html": ("oomlens.render.htmlpage", "render_html"),
    "json": ("oomlens.render.jsondoc", "dumps"),
    "text": ("oomlens.render.text", "render_text"),
}


def render(report: Report, fmt: str = "text") -> str:
    """The report in format `fmt` (a key of RENDERERS)."""
    module, function = RENDERERS[fmt]
    text: str = getattr(importlib.import_module(module), function)(report)
    return text
