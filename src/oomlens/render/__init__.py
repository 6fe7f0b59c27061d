"""Renderers: `render(report, fmt) -> str`. The keys of RENDERERS are the --format choices."""

from __future__ import annotations

from collections.abc import Callable

from oomlens.model import Report
from oomlens.render.htmlpage import render_html
from oomlens.render.jsondoc import dumps
from oomlens.render.text import render_text

RENDERERS: dict[str, Callable[[Report], str]] = {
    "html": render_html,
    "json": dumps,
    "text": render_text,
}


def render(report: Report, fmt: str = "text") -> str:
    """The report in format `fmt` (a key of RENDERERS)."""
    return RENDERERS[fmt](report)
