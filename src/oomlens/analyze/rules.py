"""Name the pattern behind an OOM, with its evidence: one small function per rule.

A rule is `def name(event: OomEvent, ctx: Context) -> Finding | None`. It reads the facts of
one event (and, through `ctx`, the other events of the same input), and returns a `Finding`
whose summary carries the log's numbers, whose evidence is the lines they came from, and
whose advice names the knob to turn. Adding a diagnosis is one function in `RULES`.

The rules live by theme: `rules_memory` (who holds the memory), `rules_kernel` (how the
allocation failed), `rules_policy` (what the kernel or the admin decided, across events).
The confidence policy is in `rules_facts`.

    for i, event in enumerate(events):
        for f in findings(event, Context.for_event(events, i)):
            print(f.severity, f.rule, f.summary)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oomlens.analyze import memory
from oomlens.analyze.rules_kernel import fragmentation, kernel_allocation, lowmem_exhaustion
from oomlens.analyze.rules_memory import (
    fork_bomb,
    hugetlb_reserved,
    memcg_limit_too_small,
    memory_leak,
    shmem_tmpfs,
    slab_leak,
    workload_too_big,
)
from oomlens.analyze.rules_policy import (
    manual_oom,
    oom_group,
    oom_loop,
    panic_on_oom,
    protection_audit,
    victim_not_freed,
)
from oomlens.model import Finding, OomEvent

__all__ = ["RULES", "SEVERITIES", "Context", "Rule", "findings"]

SEVERITIES = ("critical", "warning", "info")  # most urgent first: the order of `findings()`


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What a rule may know beyond its event."""

    page_size_kb: int = 4  # of this event (memory.page_size)
    events: tuple[OomEvent, ...] = ()  # every event of the same input, in order, this one too
    index: int = 0  # this event's position in `events`

    @classmethod
    def for_event(
        cls, events: Sequence[OomEvent], index: int, page_size_kb: int | None = None
    ) -> Context:
        """The context of `events[index]`; its page size is worked out from the event unless
        the caller already knows it."""
        evs = tuple(events)
        if page_size_kb is None:
            page_size_kb, _ = memory.page_size(evs[index])
        return cls(page_size_kb=page_size_kb, events=evs, index=index)


Rule = Callable[[OomEvent, Context], "Finding | None"]

RULES: tuple[Rule, ...] = (
    # what happened, as the kernel or the admin decided it
    manual_oom,
    panic_on_oom,
    oom_group,
    protection_audit,
    # who held the memory
    memory_leak,
    fork_bomb,
    workload_too_big,
    slab_leak,
    shmem_tmpfs,
    hugetlb_reserved,
    memcg_limit_too_small,
    # how the allocation failed
    fragmentation,
    lowmem_exhaustion,
    kernel_allocation,
    # across the events of the input
    oom_loop,
    victim_not_freed,
)


def findings(event: OomEvent, ctx: Context) -> tuple[Finding, ...]:
    """Every rule's finding for one event, most severe first (ties keep `RULES` order)."""
    found = [f for f in (rule(event, ctx) for rule in RULES) if f is not None]
    return tuple(sorted(found, key=lambda f: SEVERITIES.index(f.severity)))
