"""Across the events of one input: when each kill happened, and what keeps getting killed.

`timeline()` lists the events in order with their time, scope, cgroup and victim;
`recurring()` groups them by cgroup and by process name and says how often, how far apart and
whether the victim's anonymous memory grew from kill to kill. The oom_loop and memory_leak
rules read these; renderers may show the timeline as is.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Sequence
from typing import TypedDict

from oomlens.model import OomEvent, Recurrence, Scope

__all__ = ["Recurrence", "TimelineEntry", "cgroup_key", "recurring", "seconds_between", "timeline"]

GROWTH_MIN_KILLS = 3  # two points are not a trend
GROWTH_FACTOR = 1.2  # last victim at least 20% bigger than the first
GROWTH_TOLERANCE = 0.95  # a step may shrink by 5% (page-size rounding, shared pages)


class TimelineEntry(TypedDict):
    """One event of the input, as the timeline shows it."""

    index: int  # position in the events given
    line_no: int  # the kill line, else the event's first line
    time: str | None  # ISO-8601 wall time, when the log gives it
    uptime_s: float | None  # seconds since boot
    scope: str | None  # Scope value: "system", "memcg", ...
    memcg: str | None  # cgroup whose limit was hit, else the victim's cgroup
    victim: str | None  # the killed process's name
    pid: int | None
    anon_kb: int | None  # the victim's anon-rss from the kill line


def timeline(events: Sequence[OomEvent]) -> list[TimelineEntry]:
    """The events in input order, one entry each."""
    out: list[TimelineEntry] = []
    for i, e in enumerate(events):
        v = e.victim
        out.append(
            TimelineEntry(
                index=i,
                line_no=_line_no(e),
                time=e.time,
                uptime_s=e.uptime_s,
                scope=e.scope.value if e.scope is not None else None,
                memcg=cgroup_key(e),
                victim=v.comm if v is not None else None,
                pid=v.pid if v is not None else None,
                anon_kb=v.anon_rss_kb if v is not None else None,
            )
        )
    return out


def recurring(events: Sequence[OomEvent], *, min_count: int = 2) -> tuple[Recurrence, ...]:
    """Cgroups and process names that show up in at least `min_count` events of one source.

    A cgroup counts every OOM it was in (limit hit, or the victim's cgroup); a process name
    counts kills. Cgroups come first, then processes, each by first appearance.
    """
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, e in enumerate(events):
        path = cgroup_key(e)
        if path is not None:
            groups.setdefault(("cgroup", e.source, path), []).append(i)
        if e.victim is not None:
            groups.setdefault(("process", e.source, e.victim.comm), []).append(i)
    out = [
        _recurrence(kind, key, idx, events)
        for (kind, _source, key), idx in groups.items()
        if len(idx) >= min_count
    ]
    out.sort(key=lambda r: (r.kind != "cgroup", r.indexes[0]))
    return tuple(out)


def _growing(anon_kb: Sequence[int | None], count: int) -> bool:
    """The victim's anon memory grew kill over kill (at least three kills)."""
    values = [v for v in anon_kb if v]
    if len(values) < GROWTH_MIN_KILLS or len(values) < count:
        return False
    steady = all(b >= a * GROWTH_TOLERANCE for a, b in itertools.pairwise(values))
    return steady and values[-1] >= values[0] * GROWTH_FACTOR


def cgroup_key(event: OomEvent) -> str | None:
    """The cgroup an event is about: the one whose limit was hit, else the victim's.

    The root cgroup "/" says nothing about who was killed, so it does not count.
    """
    path = event.memcg_path
    if path is None and event.scope is not Scope.MEMCG:
        if event.victim is not None and event.victim.memcg:
            path = event.victim.memcg
        elif event.summary is not None and event.summary.task_memcg:
            path = event.summary.task_memcg
    if path is None and event.memcg is not None:
        path = event.memcg.oom_memcg or event.memcg.task_memcg
    return path if path and path != "/" else None


def seconds_between(a: OomEvent, b: OomEvent) -> float | None:
    """Seconds from event a to event b: kernel uptime when both have it (same boot), else wall."""
    same_boot = a.boot_id is None or b.boot_id is None or a.boot_id == b.boot_id
    up_a, up_b = a.uptime_s, b.uptime_s
    if same_boot and up_a is not None and up_b is not None and up_b >= up_a:
        return up_b - up_a
    wa, wb = _wall(a.time), _wall(b.time)
    if wa is not None and wb is not None:
        return (wb - wa).total_seconds()
    return None


def _recurrence(kind: str, key: str, idx: list[int], events: Sequence[OomEvent]) -> Recurrence:
    evs = [events[i] for i in idx]
    anon = tuple(e.victim.anon_rss_kb if e.victim else None for e in evs)
    return Recurrence(
        kind=kind,
        key=key,
        indexes=tuple(idx),
        line_nos=tuple(_line_no(e) for e in evs),
        anon_kb=anon,
        intervals_s=tuple(seconds_between(a, b) for a, b in itertools.pairwise(evs)),
        growing=_growing(anon, len(idx)),
    )


def _line_no(event: OomEvent) -> int:
    if event.victim is not None:
        return event.victim.line_no
    if event.summary is not None:
        return event.summary.line_no
    return event.first_line


def _wall(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is not None:  # naive and aware stamps cannot be subtracted: use UTC
        stamp = stamp.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return stamp
