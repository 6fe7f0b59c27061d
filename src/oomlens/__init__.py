"""oomlens: turn Linux OOM-killer logs into answers.

>>> from oomlens import read_events, diagnose, render
>>> report = diagnose(read_events(["/var/log/kern.log"]))
>>> print(render(report, "text"))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from oomlens.analyze import diagnose
from oomlens.model import OomEvent, Report
from oomlens.render import render

__version__ = "0.1.0"
__all__ = ["OomEvent", "Report", "__version__", "diagnose", "read_events", "render"]


def read_events(paths: Sequence[str] | None = None) -> Iterator[OomEvent]:
    """Every OOM event in `paths` (files, directories, "-"), or in this machine's kernel log."""
    from oomlens.reader import read_source
    from oomlens.sources import resolve, system_sources

    for source in resolve(paths) if paths else system_sources():
        yield from read_source(source)
