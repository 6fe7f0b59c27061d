"""The watcher: OOM events as they happen → output, history, hooks, metrics.

`Watcher.run()` polls a follower (`live.kmsg`), feeds each record through `Normalizer` and
`Parser`, and once the log has been quiet for `quiet_s` (time for the oom_reaper line that
follows a kill) calls `Parser.flush()` and emits every report whose kill line was seen. It
remembers, in the history store, the boot id, the last record read while no report was open
(where a restart resumes) and the kill line of the last event emitted (so that a restart
emits nothing twice). Hooks run in worker threads and never hold the loop up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from oomlens.analyze import analyze_event
from oomlens.containers import Normalizer
from oomlens.errors import OomlensError
from oomlens.live.kmsg import Follower, Gap, Record
from oomlens.model import LogLine, OomEvent
from oomlens.parse import Parser
from oomlens.render.jsondoc import event_document
from oomlens.store import History, WatchState

QUIET_S = 0.3  # flush once the log has been quiet this long (the oom_reaper line comes first)
MAX_WAIT_S = 0.8  # ... or once records have kept coming this long since the first unflushed
HOOK_TIMEOUT_S = 30.0
RECENT = 50  # earlier events of this run that analysis sees beside a new one

Emit = Callable[[dict[str, Any]], None]


def monotonic_uptime() -> float:
    """CLOCK_MONOTONIC in seconds: the clock of the kernel's log time stamps."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


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


def _stderr(message: str) -> None:
    print(f"oomlens watch: {message}", file=sys.stderr, flush=True)


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


# -- hooks ------------------------------------------------------------------------------


class HookRunner:
    """Runs `--exec` commands for each event, with the event JSON on stdin, in threads."""

    def __init__(
        self,
        commands: Sequence[str],
        *,
        timeout: float = HOOK_TIMEOUT_S,
        workers: int = 4,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.commands = tuple(commands)
        self.timeout = timeout
        self.warn = warn or _stderr
        self.on_failure: Callable[[], None] = lambda: None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="oomlens-hook")

    def submit(self, doc: dict[str, Any]) -> None:
        """Queue every command for this event; returns at once."""
        data = (json.dumps(doc, sort_keys=True, ensure_ascii=False) + "\n").encode()
        env = _hook_env(doc)
        for command in self.commands:
            self._pool.submit(self._run, command, data, env)

    def close(self) -> None:
        """Wait for queued hooks (each bounded by the timeout)."""
        self._pool.shutdown(wait=True)

    def _run(self, command: str, data: bytes, env: dict[str, str]) -> None:
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", command],
                stdin=subprocess.PIPE,
                stdout=2,  # the watcher's stdout carries events: hook output goes to stderr
                env=env,
                start_new_session=True,  # its own process group: a timeout kills all of it
            )
        except OSError as err:
            self._failed(f"hook {command!r} could not start: {err.strerror}")
            return
        try:
            proc.communicate(data, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            self._failed(f"hook {command!r} timed out after {self.timeout:g}s and was killed")
            return
        if proc.returncode != 0:
            self._failed(f"hook {command!r} exited with status {proc.returncode}")

    def _failed(self, message: str) -> None:
        self.on_failure()
        self.warn(message)


def _hook_env(doc: dict[str, Any]) -> dict[str, str]:
    victim = doc.get("victim") or {}
    extra = {
        "OOMLENS_EVENT_ID": doc.get("id"),
        "OOMLENS_SEQ": doc.get("seq"),
        "OOMLENS_SCOPE": doc.get("scope"),
        "OOMLENS_MEMCG": doc.get("memcg"),
        "OOMLENS_VICTIM_PID": victim.get("pid"),
        "OOMLENS_VICTIM_COMM": victim.get("comm"),
    }
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


# -- metrics ----------------------------------------------------------------------------


class Metrics:
    """Prometheus metrics on `ADDRESS:PORT` (the optional `prometheus_client` package)."""

    HEALTH: ClassVar[dict[str, str]] = {
        "records": "kernel log records read",
        "gaps": "times records were lost before they could be read",
        "lost_records": "kernel log records lost before they could be read",
        "parse_failures": "records the parser failed on (a bug: please report it)",
        "hook_failures": "--exec hooks that failed, timed out or could not start",
        "duplicates": "events read again after a restart and not emitted again",
    }

    def __init__(self, address: str) -> None:
        try:
            import prometheus_client as pc  # type: ignore[import-not-found,unused-ignore]
        except ImportError as err:
            raise OomlensError(
                "--metrics needs the Prometheus client library: pip install 'oomlens[metrics]'"
            ) from err
        host, port = parse_address(address)
        self.registry = pc.CollectorRegistry()
        labels = ["scope", "memcg", "victim", "pattern"]
        self.kills = pc.Counter("oomlens_kills", "OOM kills seen", labels, registry=self.registry)
        self.last_kill = pc.Gauge(
            "oomlens_last_kill_timestamp_seconds",
            "Unix time of the last OOM kill",
            registry=self.registry,
        )
        self.anon_rss = pc.Gauge(
            "oomlens_last_victim_anon_rss_bytes",
            "anon-rss of the last victim",
            registry=self.registry,
        )
        self.anon_hist = pc.Histogram(
            "oomlens_victim_anon_rss_bytes",
            "anon-rss of OOM victims when they were killed",
            buckets=[float(1 << s) for s in range(20, 38, 2)],
            registry=self.registry,
        )
        self.health = {
            name: pc.Counter(f"oomlens_{name}", text, registry=self.registry)
            for name, text in self.HEALTH.items()
        }
        try:
            self.server, _ = pc.start_http_server(port, addr=host, registry=self.registry)
        except OSError as err:
            raise OomlensError(
                f"cannot serve metrics on {address}: {err.strerror} (pick another port)"
            ) from err

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def observe(self, doc: dict[str, Any]) -> None:
        """Count one emitted event."""
        victim = doc.get("victim") or {}
        findings = (doc.get("analysis") or {}).get("findings") or []
        self.kills.labels(
            scope=doc.get("scope") or "unknown",
            memcg=doc.get("memcg") or "",
            victim=victim.get("comm") or "",
            pattern=findings[0]["rule"] if findings else "none",
        ).inc()
        uptime = doc.get("uptime_s")
        lag = monotonic_uptime() - uptime if isinstance(uptime, (int, float)) else 0.0
        self.last_kill.set(time.time() - lag)
        anon_kb = victim.get("anon_rss_kb")
        if isinstance(anon_kb, int):
            self.anon_rss.set(anon_kb * 1024)
            self.anon_hist.observe(anon_kb * 1024)

    def count(self, name: str, n: int = 1) -> None:
        if name in self.health:
            self.health[name].inc(n)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def parse_address(address: str) -> tuple[str, int]:
    """ "127.0.0.1:9717", "[::1]:9717", ":9717" (→ 127.0.0.1) or "9717" → (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep:
        host, port = "", address
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdecimal() or not 0 <= int(port) < 65536:
        raise OomlensError(
            f"bad --metrics address {address!r}: expected HOST:PORT, e.g. 127.0.0.1:9717"
        )
    return host, int(port)
