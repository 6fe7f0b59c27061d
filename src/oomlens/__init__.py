"""oomlens: turn Linux OOM-killer logs into answers.

>>> from oomlens import read_events, diagnose, render
>>> report = diagnose(read_events(["/var/log/kern.log"]))
>>> print(render(report, "text"))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from oomlens._version import __version__

if TYPE_CHECKING:
    from oomlens.analyze import diagnose
    from oomlens.model import OomEvent, Report
    from oomlens.render import render

__all__ = ["OomEvent", "Report", "__version__", "diagnose", "read_events", "render"]

# The command line imports this package first: load the rest only when it is asked for.
_LAZY = {
    "diagnose": "oomlens.analyze",
    "render": "oomlens.render",
    "OomEvent": "oomlens.model",
    "Report": "oomlens.model",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'oomlens' has no attribute {name!r}")


def read_events(paths: Sequence[str] | None = None) -> Iterator[OomEvent]:
    """Every OOM event in `paths` (files, directories, "-"), or in this machine's kernel log."""
    from oomlens.reader import read_source
    from oomlens.sources import resolve, system_sources

    for source in resolve(paths) if paths else system_sources():
        yield from read_source(source)
