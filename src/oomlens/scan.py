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
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import stat
import sys
import threading
from bisect import bisect_left
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO

_NL = b"\n"
_TRIGGER = 1
_KILL = 2
# The needles, with the kind of line they mark. Every report prints one of them (spec §0, §7):
# - the trigger line "<comm> invoked oom-killer: gfp_mask=..." opens a full report. (The
#   anonymous 2.6.1x header "oom-killer: gfp_mask=..." is reached through its kill line's
#   look-back.)
# - "ut of memory" is in the lines that are printed even when the header is rate-limited
#   (§9.5): the selection line "Out of memory: Kill process ..." / "Memory cgroup out of memory:
#   Kill process ..." (2.6.36-5.0, its kill line "Killed process ..." has no prefix and follows
#   within the look-ahead), the kill line "Out of memory: Killed process ..." (5.1+), 2.6.32's
#   "Out of memory (oom_kill_allocating_task): kill process", "Out of memory and no killable
#   processes..." and the panic_on_oom panics. It ends a report that a trigger opened.
# Not needles (each costs a pass over the data): "oom-kill:" (5.0+ summary, inside the header),
# "oom_reaper:" (after the kill, within the look-ahead), 2.6.32's headerless
# "No available memory (MPOL_BIND): kill process".
_NEEDLES = ((b"invoked oom-killer", _TRIGGER), (b"ut of memory", _KILL))

Line = tuple[int, bytes]
Hits = list[tuple[int, int]]  # (line start, kind), sorted


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
# Sources: where the bytes come from.


class _Source:
    """Reads into a buffer. A read error ends the input as its end would, so that the lines
    read before it are yielded; check() raises it afterwards (a cut .gz keeps its events)."""

    error: Exception | None = None

    def __call__(self, into: memoryview) -> int:
        if self.error is not None:
            return 0
        try:
            return self._read(into)
        except Exception as err:
            self.error = err
            return 0

    def _read(self, into: memoryview) -> int:
        raise NotImplementedError

    def check(self) -> None:
        if self.error is not None:
            raise self.error


class _StreamSource(_Source):
    """A stream; its first `size` bytes are read ahead (`head`) to tell whether it is small."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        # the "1" methods read the raw stream once at most: when that read fails, nothing read
        # before it is lost inside a buffered reader
        self.readinto: Callable[[memoryview], int | None] | None = getattr(
            stream, "readinto1", getattr(stream, "readinto", None)
        )
        self.read: Callable[[int], bytes | None] = getattr(stream, "read1", stream.read)
        head = bytearray()
        while len(head) < size:
            try:
                data = self.read(size - len(head))
            except Exception as err:
                self.error = err
                break
            if not data:
                break
            head += data
        self.head = self.unread = memoryview(bytes(head))

    def __call__(self, into: memoryview) -> int:
        if self.unread:
            n = min(len(into), len(self.unread))
            into[:n] = self.unread[:n]
            self.unread = self.unread[n:]
            return n
        return super().__call__(into)

    def _read(self, into: memoryview) -> int:
        if self.readinto is not None:
            return self.readinto(into) or 0
        data = self.read(len(into)) or b""
        into[: len(data)] = data
        return len(data)


class _PRead(_Source):
    """The bytes [at, stop) of a regular file, by offset: the fd's own position is never used."""

    def __init__(self, fd: int, at: int, stop: int) -> None:
        self.fd = fd
        self.at = at
        self.stop = stop

    def _read(self, into: memoryview) -> int:
        n = min(len(into), self.stop - self.at)
        if n <= 0:
            return 0
        got = os.preadv(self.fd, [into[:n]], self.at)
        self.at += got
        return got


def _regular_fd(stream: BinaryIO) -> int | None:
    """The fd of a plain file object on a regular file, else None (pipes, gzip, BytesIO)."""
    raw: object = stream
    if isinstance(raw, (io.BufferedReader, io.BufferedRandom)):
        raw = raw.raw
    if not isinstance(raw, io.FileIO):
        return None  # a GzipFile also has a fileno(): the compressed file's
    fd = raw.fileno()
    return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None


# ---------------------------------------------------------------------------------------
# The reader: complete lines, one window at a time, with the bytes before it kept.


@dataclass(slots=True)
class _Window:
    """Complete lines buf[start:end] (end is just past a newline), at stream offset base+start.

    buf[hist:start] holds the complete lines before them (the look-back history). `huge`, when
    set, is the first max_line bytes of an over-long line that starts at `end`; the stream
    offset just past that line is `huge_end`.
    """

    base: int
    hist: int
    start: int
    end: int
    huge: bytes | None = None
    huge_end: int = 0


class _Reader:
    def __init__(self, source: _Source, limits: Limits) -> None:
        self.source = source
        self.lim = limits
        # history + the longest line + a read + a lent newline: small enough to stay in the
        # CPU cache, which matters more than compacting less often
        self.buf = bytearray(limits.lookback + limits.max_line + limits.chunk + 2)
        self.mv = memoryview(self.buf)
        self.find = _searcher(self.buf)
        # stream offset of buf[0]: a file offset for _PRead, else counted from the stream's start
        self.base = source.at if isinstance(source, _PRead) else 0
        self.hist = 0  # history starts here, at a line start
        self.pos = 0  # first byte not handed out yet, a line start
        self.end = 0  # end of the bytes read
        self.eof = False

    def offset(self) -> int:
        """Stream offset of the next line to be handed out."""
        return self.base + self.pos

    def restart(self, at: int, origin: int) -> None:
        """Continue at line start `at` (a _PRead offset), with the look-back before it loaded."""
        source = self.source
        assert isinstance(source, _PRead)
        frm = max(origin, at - self.lim.lookback - 1)
        source.at = frm
        got = 0
        while got < at - frm:
            n = source(self.mv[got : at - frm])
            if not n:
                break
            got += n
        self.base, self.pos, self.end, self.eof = frm, got, got, False
        # the first line start at or after at-lookback, as _compact keeps (see _Emitter._lookback)
        self.hist = 0 if frm == origin else self.buf.find(_NL, 0, got) + 1

    def next_window(self) -> _Window | None:
        buf, lim = self.buf, self.lim
        while True:
            if not self.eof:
                want = min(self.end + lim.chunk, self.pos + lim.max_line + 1)
                if want > len(buf) - 1:
                    self._compact()
                    want = min(self.end + lim.chunk, self.pos + lim.max_line + 1)
                if want > self.end:
                    n = self.source(self.mv[self.end : want])
                    self.end += n
                    self.eof = not n
            nl = buf.rfind(_NL, self.pos, self.end)
            if nl >= 0:
                window = _Window(self.base, self.hist, self.pos, nl + 1)
                self.pos = nl + 1
                return window
            if self.eof:
                if self.pos == self.end:
                    return None
                buf[self.end] = 10  # the last line has no newline: lend it one
                self.end += 1
                window = _Window(self.base, self.hist, self.pos, self.end)
                self.pos = self.end
                return window
            if self.end - self.pos > lim.max_line:
                return self._huge()

    def _compact(self) -> None:
        """Move the history still needed and the unread tail to the front of the buffer."""
        keep = self.pos - self.lim.lookback
        keep = self.hist if keep <= self.hist else self.buf.find(_NL, keep - 1, self.pos) + 1
        n = self.end - keep
        self.mv[:n] = self.mv[keep : self.end]  # memoryview assignment is a memmove
        self.base += keep
        self.hist -= keep
        self.pos -= keep
        self.end = n

    def _huge(self) -> _Window:
        """Cut the over-long line at pos; read and drop its rest (the history stays intact)."""
        if self.end + self.lim.chunk + 1 > len(self.buf):
            self._compact()
        window = _Window(self.base, self.hist, self.pos, self.pos)
        window.huge = bytes(self.mv[self.pos : self.pos + self.lim.max_line])
        tail = self.end  # the rest of the line is read here, over and over
        at = self.base + tail
        # what follows its newline is kept: no more than a line may be, unread
        step = min(self.lim.chunk, self.lim.max_line + 1)
        while True:
            n = self.source(self.mv[tail : tail + step])
            if not n:
                self.eof = True
                window.huge_end = at + 1  # and no newline: the stream ends
                self.base, self.hist, self.pos, self.end = at - tail, tail, tail, tail
                return window
            nl = self.buf.find(_NL, tail, tail + n)
            if nl >= 0:
                window.huge_end = at + nl - tail + 1
                self.base, self.hist, self.pos, self.end = at - tail, nl + 1, nl + 1, tail + n
                return window
            at += n


def _find(reader: _Reader, start: int, end: int) -> Hits:
    """The starts of the lines in buf[start:end] that hold a needle, with their kind."""
    buf, find = reader.buf, reader.find
    found: dict[int, int] = {}
    for needle, kind in _NEEDLES:
        i = find(needle, start, end)
        while i >= 0:
            line = buf.rfind(_NL, start, i) + 1 or start
            if found.get(line, 0) < kind:
                found[line] = kind
            i = find(needle, buf.find(_NL, i, end) + 1, end)
    return sorted(found.items())


Find = Callable[[bytes, int, int], int]


def _searcher(buf: bytearray) -> Find:
    """buf.find(needle, start, end), done by the C library's memmem() when it has one.

    On log text glibc's memmem (a hashed Horspool since 2.30) is 2-3x faster than bytes.find,
    which makes it the largest share of the scan time after counting newlines.
    """
    try:
        import ctypes

        memmem = ctypes.CDLL(None).memmem
    except (ImportError, OSError, AttributeError):
        return buf.find
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    view = (ctypes.c_char * len(buf)).from_buffer(buf)  # pins buf: it cannot be resized
    addr = ctypes.addressof(view)

    def find(needle: bytes, start: int, end: int, _pin: object = view) -> int:
        hit: int | None = memmem(addr + start, max(0, end - start), needle, len(needle))
        return -1 if hit is None else hit - addr

    return find


def _kind(line: bytes) -> int:
    return max((kind for needle, kind in _NEEDLES if needle in line), default=0)


# ---------------------------------------------------------------------------------------
# The emitter: which lines of each window to yield.


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


# ---------------------------------------------------------------------------------------
# Drivers: one pass over a stream, or hits found in parallel then their regions read.


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


# A hit found by a worker: (stream offset of its line, newlines before it in the part, kind)
_Hit = tuple[int, int, int]


def _find_part(fd: int, start: int, stop: int, limits: Limits) -> tuple[list[_Hit], int]:
    """The hits in the lines starting in [start, stop) of a file, and how many lines there are."""
    # no look-back here: a smaller buffer, and less to move when compacting it
    reader = _Reader(_PRead(fd, start, stop), replace(limits, lookback=1))
    buf = reader.buf
    hits: list[_Hit] = []
    lines = 0
    while (w := reader.next_window()) is not None:
        c = w.start
        for hs, kind in _find(reader, w.start, w.end):
            lines += buf.count(_NL, c, hs)
            c = hs
            hits.append((w.base + hs, lines, kind))
        lines += buf.count(_NL, c, w.end)
        if w.huge is not None:
            kind = _kind(w.huge)
            if kind:
                hits.append((w.base + w.end, lines, kind))
            lines += 1
    reader.source.check()
    return hits, lines


def _parallel(
    fd: int, start: int, stop: int, n: int, busy: Callable[[], bool], limits: Limits
) -> Iterator[Line]:
    cuts = _cut(fd, start, stop, n)
    parts = _run_parts(fd, cuts, limits)
    hits: list[_Hit] = []
    before = 1
    for part_hits, part_lines in parts:
        hits.extend((off, before + k, kind) for off, k, kind in part_hits)
        before += part_lines
    offsets = [off for off, _, _ in hits]

    reader = _Reader(_PRead(fd, start, stop), limits)
    emitter = _Emitter(busy, limits, everything=False)
    i = 0
    while True:
        if not emitter.wants(reader.offset()):
            if i == len(hits):
                break
            off, emitter.ln, _ = hits[i]
            reader.restart(off, start)
        w = reader.next_window()
        if w is None:
            break
        j = bisect_left(offsets, w.base + w.end, i)
        local = [(off - w.base, kind) for off, _, kind in hits[i:j]]
        huge_kind = 0
        if w.huge is not None and j < len(hits) and offsets[j] == w.base + w.end:
            huge_kind = hits[j][2]
            j += 1
        i = j
        yield from emitter.feed(w, reader.buf, local, huge_kind)
    reader.source.check()


def _worker_count(workers: int | None) -> int:
    if workers is None:
        affinity = getattr(os, "sched_getaffinity", None)
        workers = min(8, len(affinity(0)) if affinity else os.cpu_count() or 1)
    if workers > 1 and (not hasattr(os, "fork") or threading.active_count() > 1):
        return 1  # forking a threaded process can deadlock the child on a lock it inherited
    return max(1, workers)


def _cut(fd: int, start: int, stop: int, n: int) -> list[int]:
    """Up to n+1 increasing offsets from start to stop that cut the file at line starts."""
    cuts = [start]
    for k in range(1, n):
        at = start + (stop - start) * k // n
        if at <= cuts[-1]:
            continue
        nl = _next_newline(fd, at - 1, stop)  # at itself when a line starts there
        if nl < 0 or nl + 1 >= stop:
            break
        cuts.append(nl + 1)
    cuts.append(stop)
    return cuts


def _next_newline(fd: int, at: int, stop: int) -> int:
    while at < stop:
        block = os.pread(fd, min(64 << 10, stop - at), at)
        if not block:
            break
        nl = block.find(_NL)
        if nl >= 0:
            return at + nl
        at += len(block)
    return -1


def _run_parts(fd: int, cuts: list[int], limits: Limits) -> list[tuple[list[_Hit], int]]:
    """_find_part over each part, the first here and the others in forked children."""
    running: dict[int, int] = {}  # child pid -> read end of its pipe, -1 once closed
    try:
        for k in range(1, len(cuts) - 1):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                status = 1
                try:
                    os.close(r)
                    part = _find_part(fd, cuts[k], cuts[k + 1], limits)
                    with open(w, "wb") as out:
                        out.write(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL))
                    status = 0
                finally:
                    os._exit(status)
            os.close(w)
            running[pid] = r
        results = [_find_part(fd, cuts[0], cuts[1], limits)]
        for k, pid in enumerate(list(running), 1):
            r, running[pid] = running[pid], -1
            with open(r, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(pid, 0)
            del running[pid]
            if os.waitstatus_to_exitcode(status) == 0 and data:
                results.append(pickle.loads(data))
            else:  # the child died (killed, out of memory...): do its part here
                results.append(_find_part(fd, cuts[k], cuts[k + 1], limits))
        return results
    finally:
        for pid, r in running.items():  # interrupted: stop the children still running
            if r >= 0:
                os.close(r)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
