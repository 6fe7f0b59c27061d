"""The watcher: OOM events as they happen → output, history, hooks, metrics.

`Watcher.run()` polls a follower (`live.kmsg`), feeds each record through `Normalizer` and
`Parser`, and once the log has been quiet for `quiet_s` (time for the oom_reaper line that
follows a kill) calls `Parser.flush()` and emits every report whose kill line was seen. It
remembers, in the history store, the boot id, the last record read while no report was open
(where a restart resumes) and the kill line of the last event emitted (so that a restart
emits nothing twice). Hooks (`live.hooks`) run in worker threads and never hold the loop up;
`live.metrics` serves the Prometheus metrics.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import select
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from oomlens.analyze import analyze_event
from oomlens.containers import Normalizer
from oomlens.live.hooks import HOOK_TIMEOUT_S, HookRunner, _stderr
from oomlens.live.kmsg import Follower, Gap, Record
from oomlens.live.metrics import Metrics, monotonic_uptime, parse_address
from oomlens.model import LogLine, OomEvent
from oomlens.parse import Parser
from oomlens.render.jsondoc import event_document
from oomlens.store import History, WatchState

__all__ = [
    "HOOK_TIMEOUT_S",
    "MAX_WAIT_S",
    "QUIET_S",
    "RECENT",
    "Counters",
    "Emit",
    "HookRunner",
    "Metrics",
    "Watcher",
    "monotonic_uptime",
    "parse_address",
    "stop_on_signals",
]

QUIET_S = 0.3  # flush once the log has been quiet this long (the oom_reaper line comes first)
MAX_WAIT_S = 0.8  # ... or once records have kept coming this long since the first unflushed
RECENT = 50  # earlier events of this run that analysis sees beside a new one

Emit = Callable[[dict[str, Any]], None]


@dataclasses.dataclass
class Counters:
    """What the watcher did; the health half goes to stderr and the metrics too."""

    records: int = 0
    events: int = 0
    duplicates: int = 0  # events read again after a restart, not emitted again
    gaps: int = 0
    lost_records: int = 0
    parse_failures: int = 0
    hook_failures: int = 0


class Watcher:
    """Follows one kernel log and emits each OOM event once, as soon as its report is complete."""

    def __init__(
        self,
        follower: Follower,
        *,
        boot_id: str,
        emit: Emit,
        store: History | None = None,
        hooks: HookRunner | None = None,
        metrics: Metrics | None = None,
        host: str | None = None,
        last_event: int | None = None,
        warn: Callable[[str], None] | None = None,
        quiet_s: float = QUIET_S,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self.follower = follower
        self.boot_id = boot_id
        self.emit = emit
        self.store = store
        self.hooks = hooks
        self.metrics = metrics
        self.host = host
        self.last_event = last_event  # kmsg: seq of the last kill line emitted; journal: µs
        self.warn = warn or _stderr
        self.quiet_s = quiet_s
        self.max_wait_s = max_wait_s
        self.counters = Counters()
        self._normalizer = Normalizer(follower.name)
        self._parser = Parser(follower.name)
        # the last record read and fed outside any report: where a restart resumes
        self._position: str | None = follower.position
        self._read_position = follower.position
        self._saved: tuple[str | None, int | None] | None = None
        self._first_unflushed: float | None = None
        self._last_record = 0.0
        self._recent: deque[OomEvent] = deque(maxlen=RECENT)
        if hooks is not None:
            hooks.on_failure = lambda: self._count("hook_failures")

    def run(self, stop: threading.Event, wake_fd: int | None = None) -> Counters:
        """Follow until `stop` is set (a write to `wake_fd` wakes the loop) or input ends."""
        poller = select.poll()
        source_fd = self.follower.fileno()
        poller.register(source_fd, select.POLLIN)
        if wake_fd is not None:
            poller.register(wake_fd, select.POLLIN)
        ended = False
        self._save_state()
        while not stop.is_set():
            ready = poller.poll(self._timeout_ms())
            if wake_fd is not None and any(fd == wake_fd for fd, _ in ready):
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_fd, 512)
            if any(fd == source_fd for fd, _ in ready):
                items = self.follower.read()
                if items is None:
                    ended = True
                    break
                self._take(items)
            if self._flush_due():
                self._flush()
        self._flush(final=ended)
        return self.counters

    # -- reading --------------------------------------------------------------------------

    def _take(self, items: Sequence[Record | Gap]) -> None:
        now = time.monotonic()
        for item in items:
            if isinstance(item, Gap):
                self._gap(item)
                continue
            self._count("records")
            self._feed(self._normalizer.feed(item.seq, item.data))
            self._read_position = item.position
        if items:
            self._last_record = now
            if self._first_unflushed is None:
                self._first_unflushed = now

    def _gap(self, gap: Gap) -> None:
        self._count("gaps")
        self._count("lost_records", gap.lost)
        self.warn(
            f"{self.follower.name}: {gap.lost} records lost (seq {gap.first_missing}-"
            f"{gap.next_seq - 1}, {gap.reason}); an OOM report among them may be incomplete "
            "or missing"
        )
        self._normalizer.gap()

    def _feed(self, lines: list[LogLine]) -> None:
        for line in lines:
            try:
                events = self._parser.feed(line)
            except Exception:  # a parser bug must not stop the watcher: report and go on
                self._parse_failure(line)
                continue
            for event in events:
                self._publish(event)

    def _parse_failure(self, line: LogLine) -> None:
        self._count("parse_failures")
        self.warn(f"parser failed on {line.text!r}:\n{traceback.format_exc()}")
        self._parser = Parser(self.follower.name)

    def _timeout_ms(self) -> int | None:
        if self._first_unflushed is None:
            return None  # nothing pending: sleep until a record or a signal arrives
        due = min(self._last_record + self.quiet_s, self._first_unflushed + self.max_wait_s)
        return max(0, int((due - time.monotonic()) * 1000) + 1)

    def _flush_due(self) -> bool:
        if self._first_unflushed is None:
            return False
        now = time.monotonic()
        return (
            now >= self._last_record + self.quiet_s
            or now >= self._first_unflushed + self.max_wait_s
        )

    def _flush(self, *, final: bool = False) -> None:
        self._first_unflushed = None
        self._feed(self._normalizer.flush())
        try:
            events = self._parser.finish() if final else self._parser.flush()
        except Exception:
            self._count("parse_failures")
            self.warn(f"parser failed while flushing:\n{traceback.format_exc()}")
            self._parser, events = Parser(self.follower.name), []
        for event in events:
            self._publish(event)
        if not self._parser.busy:
            self._position = self._read_position
        self._save_state()

    # -- emitting -------------------------------------------------------------------------

    def _publish(self, event: OomEvent) -> None:
        kill = _kill_line(event)
        seq = kill.seq if kill is not None else None
        key = _event_key(self.follower.kind, kill)
        if key is not None and self.last_event is not None and key <= self.last_event:
            self._count("duplicates")
            return
        event = dataclasses.replace(
            event,
            boot_id=event.boot_id or self.boot_id,
            host=event.host or self.host,
            time=event.time or _wall_time(event.uptime_s),
        )
        # the kills of this run so far, for the patterns that span several (OOM loops, leaks)
        self._recent.append(event)
        recent = tuple(self._recent)
        analysis = analyze_event(event, events=recent, index=len(recent) - 1)
        doc = event_document(event, analysis)
        doc["seq"] = seq
        doc["kill_uptime_s"] = kill.uptime_s if kill is not None else None
        doc["boot_id"] = event.boot_id
        if self.store is not None:
            doc["id"] = self.store.add(doc)  # None: stored before (a replay)
        doc["emitted_uptime_s"] = round(monotonic_uptime(), 6)
        self.emit(doc)
        self._count("events")
        if self.metrics is not None:
            self.metrics.observe(doc)
        if self.hooks is not None:
            self.hooks.submit(doc)
        # only now: a crash before this line emits the event again after a restart (at least
        # once), never not at all
        if key is not None:
            self.last_event = key
        self._save_state()

    def _save_state(self) -> None:
        if self.store is None:
            return
        now = (self._position, self.last_event)
        if now == self._saved or (self._position is None and self.last_event is None):
            return
        self.store.save_watch_state(
            WatchState(
                source=self.follower.name,
                boot_id=self.boot_id,
                position=self._position,
                last_event=None if self.last_event is None else str(self.last_event),
            )
        )
        self._saved = now

    def _count(self, name: str, n: int = 1) -> None:
        setattr(self.counters, name, getattr(self.counters, name) + n)
        if self.metrics is not None:
            self.metrics.count(name, n)


def _kill_line(event: OomEvent) -> LogLine | None:
    """The line that ended the report: the victim's kill line, else the last line."""
    line_no = event.victim.line_no if event.victim is not None else event.last_line
    return next((ln for ln in reversed(event.lines) if ln.line_no == line_no), None)


def _event_key(kind: str, kill: LogLine | None) -> int | None:
    """What orders events within a boot: the kmsg seq, or the journal's kernel time stamp."""
    if kill is None:
        return None
    if kind == "kmsg":
        return kill.seq
    return round(kill.uptime_s * 1_000_000) if kill.uptime_s is not None else None


def _wall_time(uptime_s: float | None) -> str | None:
    """Local wall time of a kernel time stamp of this boot (what `dmesg -T` prints)."""
    if uptime_s is None:
        return None
    wall = time.time() - (monotonic_uptime() - uptime_s)
    return datetime.datetime.fromtimestamp(wall).isoformat(timespec="seconds")


# -- starting ---------------------------------------------------------------------------


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[int]:
    """SIGINT/SIGTERM set `stop`; yields a file descriptor that becomes readable on a signal."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    old_fd = signal.set_wakeup_fd(w)

    def handler(signum: int, frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield r
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        signal.set_wakeup_fd(old_fd)
        os.close(r)
        os.close(w)
