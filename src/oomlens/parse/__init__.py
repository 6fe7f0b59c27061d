"""Cut a stream of kernel log lines into OOM events.

`Parser.feed(line)` takes one `LogLine` at a time and returns the events that are complete.
Reports are grouped per host (a syslog file can hold several). Within a host, a trigger line
opens a report; section lines join it; the kill (or panic) line ends it; a late
`oom_reaper` line finds its event by pid. Kill lines that come without their report
(rate-limited headers, grep fragments) become events of their own, with the section lines
seen just before them.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from oomlens.model import LogLine, OomEvent
from oomlens.parse import patterns as p
from oomlens.parse.builder import SECTION_OF, EventBuilder
from oomlens.parse.classify import JOINABLE, KILL_KINDS, SECTION_KINDS, classify
from oomlens.parse.finish import build_event

__all__ = ["Parser", "in_order", "parse_lines"]

# Kinds with no report open that start a report whose header is missing.
HEADERLESS_STARTS = KILL_KINDS | {"summary", "task_in", "task_in_head", "limit_reached"}
# Consecutive unrelated lines after which an unfinished report counts as cut short.
MAX_GAP = 200
# Unrelated lines after which section lines seen with no report open are dropped.
PENDING_GAP = 20
# Section lines kept while no report is open (a headerless report's table can be long).
PENDING_MAX = 100_000
# Closed reports kept back for a late oom_reaper line before they are emitted.
HOLD = 4

# Linux version 5.10.0-10-amd64 (debian-kernel@lists.debian.org) (gcc-10 ...) #1 SMP ...
# dump_header from oom_kill_process+0x23c/0x248    out_of_memory+0x214/0x500
OOM_FRAME = re.compile(r"\b(?:oom_kill_process|out_of_memory|dump_header)\b")
LINUX_VERSION = re.compile(r"^Linux version (?P<release>\d\S*)")


@dataclass
class _Host:
    current: EventBuilder | None = None
    pending: list[tuple[str, LogLine, str]] = field(default_factory=list)
    pending_gap: int = 0
    ignore_sections: bool = False  # after a warn_alloc / SysRq-m Mem-Info: not an OOM's
    trailing: list[LogLine] = field(default_factory=list)
    foreign: int = 0  # other programs' lines since the last report line (syslog files)
    done: deque[EventBuilder] = field(default_factory=deque)
    held: tuple[str, LogLine, str] | None = None
    kernel: str | None = None
    suppressed: int | None = None
    manual: bool = False


class Parser:
    """Turns `LogLine`s into `OomEvent`s; feed lines in order, then call `finish()`."""

    def __init__(self, source: str) -> None:
        self.source = source
        # one state per host, and per printing task where CONFIG_PRINTK_CALLER shows it
        # ("[ T1234]"): two reports printed at once by two tasks (before oom_lock, ≈4.2,
        # or memcg OOMs in different cgroups) interleave line by line and are told apart
        self.hosts: dict[tuple[str | None, str | None], _Host] = {}
        self.releases: list[str] = []  # every kernel release the input showed, in order

    @property
    def busy(self) -> bool:
        """True while a report is open whose end has not been seen (or may be starting)."""
        for st in self.hosts.values():
            if st.pending:
                return True
            if st.current is not None and not st.current.ended:
                return True
            if st.held is not None and (st.held[0] == "trigger" or st.held[0] in SECTION_KINDS):
                return True
        return False

    def feed(self, line: LogLine) -> list[OomEvent]:
        """Take one line; return the events it completed (usually none)."""
        if not line.kernel:
            return self._foreign(line)
        key = (line.host, line.caller if line.caller and line.caller[0] == "T" else None)
        if line.text.startswith("oom_reaper:"):
            key = self._reaper_key(line, key)
        st = self.hosts.get(key)
        if st is None:
            st = self.hosts[key] = _Host()
        section = self._section(st)
        if st.held is not None:
            hkind, hline, htext = st.held
            after = SECTION_OF.get(hkind, section)
            early = None
            if line.cont and hkind in JOINABLE:
                early = classify(line.text, after)
                if early == "other":
                    # a hard-wrapped line (mail, serial console): glue it to the one before
                    joined = htext + " " + line.text
                    st.held = (classify(joined, section), hline, joined)
                    return []
            st.held = None
            out = self._process(st, hkind, hline, htext)
            section = self._section(st)
            kind = early if early is not None and section == after else None
        else:
            out, kind = [], None
        if kind is None:
            kind = classify(line.text, section)
        st.held = (kind, line, line.text)
        return out

    def finish(self) -> list[OomEvent]:
        """End of input: close every open report and return all events not yet returned."""
        out: list[OomEvent] = []
        for st in self.hosts.values():
            if st.held is not None:
                out += self._process(st, *st.held)
                st.held = None
            out += self._close(st)
            out += self._drop_pending(st)
            while st.done:
                out.append(self._emit(st, st.done.popleft()))
        out.sort(key=lambda e: e.first_line)
        return out

    def flush(self) -> list[OomEvent]:
        """Live use: return every report whose kill (or panic) line has been seen.

        A watcher calls this once the log has been quiet for a moment after a kill line
        (time for a late `oom_reaper` line); reports still waiting for their kill line stay.
        """
        out: list[OomEvent] = []
        for st in self.hosts.values():
            if st.held is not None:
                out += self._process(st, *st.held)
                st.held = None
            if st.current is not None and st.current.ended:
                out += self._close(st)
            while st.done:
                out.append(self._emit(st, st.done.popleft()))
        return out

    # -- internals -------------------------------------------------------------------

    def _section(self, st: _Host) -> str | None:
        if st.current is not None and not st.current.ended:
            return st.current.section
        if st.pending:
            kind = st.pending[-1][0]
            return SECTION_OF.get(kind) or _pending_section(st.pending)
        return None

    def _process(self, st: _Host, kind: str, line: LogLine, text: str) -> list[OomEvent]:
        out: list[OomEvent] = []
        if kind == "cpu":
            m = p.CPU_LINE.match(text) or p.PID_LINE.match(text)
            if m:
                self._release(st, m["release"])
        elif kind == "other":
            v = LINUX_VERSION.match(text)
            if v:
                self._release(st, v["release"])
        if kind == "trigger":
            out += self._close(st)
            b = EventBuilder(self.source, headerless=False)
            b.manual, st.manual = st.manual, False
            b.suppressed, st.suppressed = st.suppressed, None
            b.add(kind, line, text)
            st.current, st.pending, st.ignore_sections = b, [], False
            return out
        if kind == "manual":
            st.manual = True
            return out
        if kind == "suppressed":
            m = p.SUPPRESSED.match(text)
            if m:
                st.suppressed = int(m["n"] or m["m"])
            return out
        if kind == "reaped":
            self._reaped(st, line, text)
            return out
        if kind == "not_oom":
            st.pending, st.ignore_sections = [], True
            return out
        cur = st.current
        if cur is not None:
            if kind == "blank":
                return out
            if cur.ended:
                if cur.wants(kind):
                    cur.add(kind, line, text)
                    return out
                out += self._close(st)
            elif kind in ("other", "note", "panic_end"):
                st.trailing.append(line)
                if len(st.trailing) + st.foreign > MAX_GAP:
                    out += self._close(st)
                return out
            elif cur.wants(kind):
                st.foreign = 0
                for t in st.trailing:
                    cur.add("other", t)
                st.trailing = []
                cur.add(kind, line, text)
                return out
            else:
                out += self._close(st)
        # no report open
        if kind in HEADERLESS_STARTS:
            b = EventBuilder(self.source, headerless=True)
            b.manual, st.manual = st.manual, False
            b.suppressed, st.suppressed = st.suppressed, None
            for pk, pl, pt in st.pending:
                b.add(pk, pl, pt)
            b.add(kind, line, text)
            st.current, st.pending, st.ignore_sections = b, [], False
            return out
        if kind in SECTION_KINDS and not st.ignore_sections:
            if kind in ("cpu", "meminfo_start", "tasks_header", "tasks_banner") and any(
                pk == kind for pk, _, _ in st.pending
            ):
                out += self._drop_pending(st)  # a second header of the same kind
            st.pending.append((kind, line, text))
            st.pending_gap = 0
            if len(st.pending) > PENDING_MAX:
                del st.pending[: PENDING_MAX // 2]
            return out
        if kind != "blank" and (st.pending or st.ignore_sections):
            st.pending_gap += 1
            if st.pending_gap > PENDING_GAP:
                out += self._drop_pending(st)
                st.ignore_sections = False
        return out

    def _drop_pending(self, st: _Host) -> list[OomEvent]:
        """Forget the section lines seen with no report open, unless their call trace shows
        the OOM killer (an excerpt that starts after the trigger and stops before the kill)."""
        pending, st.pending = st.pending, []
        if not any(k == "frame" and OOM_FRAME.search(t) for k, _, t in pending):
            return []
        b = EventBuilder(self.source, headerless=True)
        for pk, pl, pt in pending:
            b.add(pk, pl, pt)
        st.done.append(b)
        return self._close(st)

    def _foreign(self, line: LogLine) -> list[OomEvent]:
        """Another program's line (syslog): not part of any report, but it counts towards
        the gap after which an unfinished report is taken as cut short."""
        out: list[OomEvent] = []
        for st in self.hosts.values():
            if st.current is None or st.current.ended:
                continue
            st.foreign += 1
            if len(st.trailing) + st.foreign > MAX_GAP:
                out += self._close(st)
        return out

    def _reaper_key(
        self, line: LogLine, key: tuple[str | None, str | None]
    ) -> tuple[str | None, str | None]:
        """The oom_reaper kthread prints its line: route it to the task that killed the pid."""
        m = p.REAPED.match(line.text) or p.REAP_FAILED.match(line.text)
        if m is None:
            return key
        pid = int(m["pid"])
        for k, st in self.hosts.items():
            if k[0] != line.host:
                continue
            if (st.current is not None and st.current.owns_pid(pid)) or any(
                b.owns_pid(pid) for b in st.done
            ):
                return k
        return key

    def _reaped(self, st: _Host, line: LogLine, text: str) -> None:
        m = p.REAPED.match(text) or p.REAP_FAILED.match(text)
        if m is None:
            return
        pid = int(m["pid"])
        candidates = [st.current] if st.current is not None else []
        candidates += reversed(st.done)
        for b in candidates:
            if b is not None and b.owns_pid(pid):
                b.add("reaped", line, text)
                return

    def _release(self, st: _Host, release: str) -> None:
        st.kernel = release
        if not self.releases or self.releases[-1] != release:
            self.releases.append(release)

    def _close(self, st: _Host) -> list[OomEvent]:
        out: list[OomEvent] = []
        if st.current is not None:
            st.done.append(st.current)
            st.current = None
        st.trailing, st.foreign = [], 0
        while len(st.done) > HOLD:
            out.append(self._emit(st, st.done.popleft()))
        return out

    def _emit(self, st: _Host, b: EventBuilder) -> OomEvent:
        event = build_event(b)
        if event.kernel is None and st.kernel is not None:
            event = replace(event, kernel=st.kernel)
        return event


def _pending_section(pending: list[tuple[str, LogLine, str]]) -> str | None:
    for kind, _, _ in reversed(pending):
        if kind in SECTION_OF:
            return SECTION_OF[kind]
    return None


def parse_lines(lines: Iterable[LogLine], source: str = "-") -> list[OomEvent]:
    """Every OOM event in `lines`, in input order; the kernel release filled in from any
    line of the input when the report itself does not show it."""
    parser = Parser(source)
    events: list[OomEvent] = []
    for line in lines:
        events += parser.feed(line)
    return in_order(parser, events + parser.finish())


def in_order(parser: Parser, events: list[OomEvent]) -> list[OomEvent]:
    """`events` (all a parser returned) in input order, each with a kernel release: its
    own, or the first one any line of the input showed ("when any line in the file shows it")."""
    fallback = parser.releases[0] if parser.releases else None
    out = []
    for event in sorted(events, key=lambda e: e.first_line):
        if event.kernel is None and fallback is not None:
            event = replace(event, kernel=fallback)
        out.append(event)
    return out
