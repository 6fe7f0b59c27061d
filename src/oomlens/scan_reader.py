"""Where `scan()`'s bytes come from, cut into complete lines, and where the needles are in them.

A `_Source` reads a stream or, by offset, part of a regular file; a `_Reader` hands out windows
of complete lines from one fixed buffer, keeping the look-back history before them and cutting
over-long lines; `_find()` locates the lines that hold a needle (at C speed: memmem when the C
library has it). `scan_emitter` decides which of those lines are yielded.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from oomlens.scan import Limits

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
