"""Interpret events: units, breakdown, the five answers, victim replay, patterns (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from oomlens.analyze import answers, cgroups, history, memory, rules, scoring
from oomlens.model import EventAnalysis, OomEvent, Report, Scope

__all__ = ["analyze_event", "diagnose"]


def analyze_event(
    event: OomEvent,
    *,
    top: int = 10,
    what_if: Mapping[int, int] | None = None,
    events: Sequence[OomEvent] | None = None,
    index: int = 0,
) -> EventAnalysis:
    """What one event means: page size, breakdown, top consumers, patterns, the five answers,
    and the replay of the kernel's victim choice (`what_if`: pid -> oom_score_adj to try).

    `events` (with this event at `index`) are the other events of the same input, for the
    patterns that span several kills (OOM loops, growing leaks).
    """
    page_kb, page_source = memory.page_size(event)
    parts, total_kb, total_label = memory.breakdown(event, page_kb)
    consumers = memory.consumers(event, page_kb, top)
    ctx = rules.Context.for_event(events if events is not None else (event,), index, page_kb)
    found = rules.findings(event, ctx)
    path = event.memcg_path
    if path is None and event.scope is not Scope.MEMCG and event.victim is not None:
        path = event.victim.memcg  # a system OOM: whose cgroup the victim ran in
    attribution = cgroups.attribute(path) if path else None
    return EventAnalysis(
        page_size_kb=page_kb,
        page_size_source=page_source,
        total_kb=total_kb,
        total_label=total_label or None,
        breakdown=parts,
        consumers=consumers,
        answers=(
            answers.scope(event),
            answers.consumers(event, parts, total_kb, total_label, consumers),
            answers.swap(event),
            answers.thrashing(event, page_kb),
            answers.prevention(event, consumers, found, attribution),
        ),
        replay=scoring.replay(event, page_size_kb=page_kb, what_if=what_if, top=top),
        findings=found,
        attribution=attribution,
    )


def diagnose(
    events: Iterable[OomEvent],
    *,
    sources: Iterable[str] = (),
    what_if: Mapping[int, int] | None = None,
) -> Report:
    """The report for a set of events: each with its analysis, and what recurs across them."""
    evs = tuple(events)
    return Report(
        sources=tuple(sources),
        events=evs,
        analyses=tuple(
            analyze_event(e, what_if=what_if, events=evs, index=i) for i, e in enumerate(evs)
        ),
        recurring=history.recurring(evs),
    )
