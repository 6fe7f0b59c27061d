"""Find the lines of OOM-killer reports in a big log without a per-line Python loop.

A multi-GB journal holds a handful of reports among millions of ordinary lines. `scan()` reads
the stream in chunks, finds two needles at C speed (memmem, else bytearray.find), counts
newlines with bytearray.count for the line numbers, and cuts lines only in and around the hits,
so that the per-line parser sees a few thousand lines instead of millions. Memory stays
constant: a working buffer of about 1.5 MiB, whatever the input size.

Which lines are yielded, for a line whose first `max_line` bytes hold a needle (a "hit"), a
trigger line (`invoked oom-killer`) or a kill line (`ut of memory`):
- the hit line, and the lines not yielded yet that start at most `lookback` bytes before a
  kill line (the report of a kill line whose trigger line is missing or mangled), or at most
  `lookback_trigger` bytes before a trigger line (a report starts with it, spec §0);
- the lines that start less than `lookahead` bytes after its end (a late `oom_reaper` line);
- after a trigger line, every line until the next kill line, at most `report_span` bytes (a
  long task table between them);
- after any yielded line, the next one while `busy()` says the parser is inside a report, at
  most `busy_span` bytes past the last hit.
Small inputs (below `whole_below` bytes) are passed through whole: grep fragments and pastes
can lack both needles, and reading them whole costs nothing.

Big regular files are split at line starts across processes (`os.fork`): each finds the hits
and counts the newlines of its part; the parent then reads only the hit regions. The result is
the same as the sequential scan.

The parts: `scan_reader` (sources, the line reader, the needle search), `scan_emitter` (which
lines of each window are yielded) and `scan_split` (the parallel hit search).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from oomlens.scan_emitter import _Emitter
from oomlens.scan_reader import (
    Line,
    _find,
    _kind,
    _PRead,
    _Reader,
    _regular_fd,
    _Source,
    _StreamSource,
)
from oomlens.scan_split import _parallel, _worker_count


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Sizes, in bytes, that bound what `scan` yields around each hit and holds in memory."""

    lookback: int = 256 << 10  # yield the lines starting this far before a kill line
    # and before a trigger line (at most lookback): "sysrq: Manual OOM execution",
    # "oom_kill_process: N callbacks suppressed", the odd line another CPU printed in between
    lookback_trigger: int = 4 << 10
    lookahead: int = 128 << 10  # and those starting this far after a hit line's end
    report_span: int = 2 << 20  # after a trigger line: up to the next kill line, at most this far
    busy_span: int = 8 << 20  # busy() extends at most this far past a hit line: a parser that
    # stays busy by mistake must not turn a scan into a parse of the whole log
    max_line: int = 1 << 20  # a longer line is cut to this many bytes (and is still one line)
    chunk: int = 256 << 10  # bytes per read
    parallel_min: int = 64 << 20  # split regular files at least this big across processes

    def __post_init__(self) -> None:
        sizes = (self.lookback, self.lookahead, self.report_span, self.busy_span)
        if min(*sizes, self.lookback_trigger, self.max_line, self.chunk) < 1:
            raise ValueError("scan limits must be positive")
        if self.max_line < self.lookback:
            # a cut line must never fall inside a look-back: its tail is not kept
            raise ValueError("max_line must be at least lookback")


DEFAULT_LIMITS = Limits()


def scan(
    stream: BinaryIO,
    busy: Callable[[], bool] = lambda: False,
    *,
    whole_below: int = 8 << 20,
    workers: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[Line]:
    """Yield (line_no, raw_line) for the lines in and around OOM reports, in order.

    line_no is 1-based from the stream's current position; raw_line has no trailing b"\\n"
    (a b"\\r" may remain) and at most `limits.max_line` bytes. busy() is consulted before
    stopping after a yielded line: while it returns True (the parser is inside a report whose
    end it has not seen), the following lines are yielded even beyond the look-ahead window
    (up to `limits.busy_span` bytes past the last hit). Inputs below `whole_below` bytes are
    yielded whole. `workers` caps the processes used on a big regular file (default: the CPUs
    available; 1: no extra process); the stream is then left at the end of the file.
    A read error (a cut .gz, a failing disk) is raised after the lines read before it.
    """
    fd = _regular_fd(stream)
    if fd is None:
        source = _StreamSource(stream, whole_below)
        yield from _sequential(source, busy, limits, everything=len(source.head) < whole_below)
        return
    start = stream.tell()
    stop = max(start, os.fstat(fd).st_size)
    if stop - start < whole_below:
        yield from _sequential(_PRead(fd, start, stop), busy, limits, everything=True)
    else:
        n = _worker_count(workers) if stop - start >= limits.parallel_min else 1
        if n > 1:
            yield from _parallel(fd, start, stop, n, busy, limits)
        else:
            yield from _sequential(_PRead(fd, start, stop), busy, limits, everything=False)
    stream.seek(stop)


# ---------------------------------------------------------------------------------------
# The driver of one pass over a stream (`scan_split` has the parallel one).


def _sequential(
    source: _Source, busy: Callable[[], bool], limits: Limits, *, everything: bool
) -> Iterator[Line]:
    reader = _Reader(source, limits)
    emitter = _Emitter(busy, limits, everything=everything)
    while (w := reader.next_window()) is not None:
        if everything:
            yield from emitter.feed(w, reader.buf, [], 0)
        else:
            huge_kind = 0 if w.huge is None else _kind(w.huge)
            yield from emitter.feed(w, reader.buf, _find(reader, w.start, w.end), huge_kind)
    source.check()
