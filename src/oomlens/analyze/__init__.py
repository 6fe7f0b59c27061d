"""Interpret events: units, memory breakdown, the five answers (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from oomlens.analyze import answers, memory, scoring
from oomlens.model import EventAnalysis, OomEvent, Report

__all__ = ["analyze_event", "diagnose"]


def analyze_event(
    event: OomEvent, *, top: int = 10, what_if: Mapping[int, int] | None = None
) -> EventAnalysis:
    """What one event means: page size, breakdown, top consumers, the five answers, and the
    replay of the kernel's victim choice (`what_if`: pid -> oom_score_adj to try instead)."""
    page_kb, page_source = memory.page_size(event)
    parts, total_kb, total_label = memory.breakdown(event, page_kb)
    consumers = memory.consumers(event, page_kb, top)
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
            answers.prevention(event, consumers),
        ),
        replay=scoring.replay(event, page_size_kb=page_kb, what_if=what_if, top=top),
    )


def diagnose(
    events: Iterable[OomEvent],
    *,
    sources: Iterable[str] = (),
    what_if: Mapping[int, int] | None = None,
) -> Report:
    """The report for a set of events: each with its analysis."""
    evs = tuple(events)
    return Report(
        sources=tuple(sources),
        events=evs,
        analyses=tuple(analyze_event(e, what_if=what_if) for e in evs),
    )
