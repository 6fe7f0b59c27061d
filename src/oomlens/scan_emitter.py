"""Which lines of each window `scan()` yields, as its module docstring lists them.

`_Emitter.feed()` takes one window of complete lines and its hits, and yields the hit lines,
their look-back and look-ahead, a trigger's report up to its kill line, and the lines busy()
asks for; it numbers them and remembers what was yielded across windows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING

from oomlens.scan_reader import _KILL, _NL, _TRIGGER, Hits, Line, _Window

if TYPE_CHECKING:
    from oomlens.scan import Limits


class _Emitter:
    def __init__(self, busy: Callable[[], bool], limits: Limits, *, everything: bool) -> None:
        self.busy = busy
        self.lim = limits
        self.ln = 1  # line number of the next window's first line
        self.done = -1  # stream offset just past the last line yielded
        self.ahead = sys.maxsize if everything else 0  # yield lines starting before this
        self.open_until = 0  # a trigger's report: yield lines starting before this
        self.busy_until = 0  # busy() is asked about lines starting before this
        self._asked = -1
        self._answer = False

    def wants(self, at: int) -> bool:
        """Whether the line starting at stream offset `at` is to be yielded (hits aside)."""
        if at < self.ahead or at < self.open_until:
            return True
        if at != self.done or at >= self.busy_until:
            return False
        if self._asked != at:  # ask once per position: the drivers may both ask
            self._asked = at
            self._answer = bool(self.busy())
        return self._answer

    def feed(self, w: _Window, buf: bytearray, hits: Hits, huge_kind: int) -> Iterator[Line]:
        """Yield the wanted lines of window `w`, whose hits (buffer index, kind) are `hits`."""
        mv = memoryview(buf)
        c, ln = w.start, self.ln  # the first line not looked at yet, and its number
        for hs, kind in hits:
            c, ln = yield from self._follow(w, buf, c, ln, hs)
            ln = yield from self._lookback(w, buf, c, ln, hs, kind)
            he = buf.find(_NL, hs, w.end)
            yield ln, bytes(mv[hs:he])
            self._hit(kind, w.base + he + 1)
            c, ln = he + 1, ln + 1
        c, ln = yield from self._follow(w, buf, c, ln, w.end)
        ln += buf.count(_NL, c, w.end)
        if w.huge is not None:
            if huge_kind:
                ln = yield from self._lookback(w, buf, w.end, ln, w.end, huge_kind)
                yield ln, w.huge
                self._hit(huge_kind, w.huge_end)
            elif self.wants(w.base + w.end):
                yield ln, w.huge
                self.done = w.huge_end
            ln += 1
        self.ln = ln

    def _hit(self, kind: int, after: int) -> None:
        """A hit line ending at stream offset `after` (just past its newline) was yielded."""
        self.done = after
        self.ahead = max(self.ahead, after + self.lim.lookahead)
        self.busy_until = after + self.lim.busy_span
        # a trigger opens a report and its kill line closes it
        self.open_until = after + self.lim.report_span if kind == _TRIGGER else 0

    def _follow(
        self, w: _Window, buf: bytearray, c: int, ln: int, stop: int
    ) -> Generator[Line, None, tuple[int, int]]:
        """Yield the lines from c on that are still wanted, up to line start `stop`."""
        cover = max(self.ahead, self.open_until) - w.base
        if c < cover and c < stop:
            end = stop if cover >= stop else min(stop, buf.find(_NL, cover - 1, stop) + 1)
            ln = yield from self._bulk(w, buf, c, end, ln)
            c = end
        while c < stop and self.wants(w.base + c):
            e = buf.find(_NL, c, stop)
            yield ln, bytes(buf[c:e])
            self.done = w.base + e + 1
            c, ln = e + 1, ln + 1
        return c, ln

    def _lookback(
        self, w: _Window, buf: bytearray, c: int, ln: int, hs: int, kind: int
    ) -> Generator[Line, None, int]:
        """Yield the lines before hit line `hs` not yielded yet that start within its look-back.

        `c` is the first line not looked at yet, numbered `ln`. Returns the number of `hs`.
        """
        lim = self.lim
        lb = hs - (lim.lookback if kind == _KILL else min(lim.lookback_trigger, lim.lookback))
        # the first line start at or after lb: history begins at a line start and goes back far
        # enough, and buf[hs-1] is a newline whenever hs > w.hist
        lb = w.hist if lb <= w.hist else buf.find(_NL, lb - 1, hs) + 1
        lb = max(lb, self.done - w.base)
        if lb >= hs:
            return ln + buf.count(_NL, c, hs)
        if lb < c:  # lines already passed over (in this window or in the history)
            ln -= buf.count(_NL, lb, c)
        else:
            ln += buf.count(_NL, c, lb)
        return (yield from self._bulk(w, buf, lb, hs, ln))

    def _bulk(
        self, w: _Window, buf: bytearray, a: int, b: int, ln: int
    ) -> Generator[Line, None, int]:
        """Yield every line of buf[a:b] (b just past a newline); return the next line number."""
        lines = bytes(buf[a:b]).split(_NL)
        lines.pop()
        yield from enumerate(lines, ln)
        self.done = w.base + b
        return ln + len(lines)
