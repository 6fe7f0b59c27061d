"""Read sources into events: open → scan for reports → strip containers → parse.

This is the I/O edge of the core: everything after it works on values.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import BinaryIO

from oomlens.containers import Normalizer
from oomlens.errors import SourceError
from oomlens.model import LogLine, OomEvent
from oomlens.parse import Parser, in_order
from oomlens.scan import scan
from oomlens.sources import Source, open_binary


def read_source(source: Source, *, now: datetime.datetime | None = None) -> list[OomEvent]:
    """Every OOM event in one source, in order. Raises SourceError when it cannot be read."""
    parser = Parser(source.name)
    normalizer = Normalizer(source.name, now=now)
    events: list[OomEvent] = []
    try:
        with open_binary(source) as stream:
            for line in _lines(stream, normalizer, parser):
                events += parser.feed(line)
    except SourceError as err:
        # a damaged file (corrupt gzip, I/O error): keep what was read before the damage
        err.events = tuple(in_order(parser, events + parser.finish()))
        raise
    return in_order(parser, events + parser.finish())


def _lines(stream: BinaryIO, normalizer: Normalizer, parser: Parser) -> Iterator[LogLine]:
    last = 0
    for line_no, raw in scan(stream, lambda: parser.busy):
        if line_no != last + 1:
            normalizer.gap()
        last = line_no
        yield from normalizer.feed(line_no, raw)
    yield from normalizer.flush()
