"""`scan()` of a big regular file split across processes: the same lines as one pass, sooner.

The file is cut at line starts into up to one part per worker; each part is searched for hits,
and its newlines counted for the line numbers, in a forked child (the first part here). The
parent then reads only the regions around the hits, with the emitter of the sequential scan.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from oomlens.scan_emitter import _Emitter
from oomlens.scan_reader import _NL, Line, _find, _kind, _PRead, _Reader

if TYPE_CHECKING:
    from oomlens.scan import Limits

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
