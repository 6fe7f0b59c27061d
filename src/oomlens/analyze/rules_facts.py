"""What the rules share: sizes in kB, where a field sits in the log, and how sure to be.

Confidence policy (every rule follows it):

- a rule starts at the confidence its own evidence allows: "high" when the log states the
  pattern outright (a panic line, a reaper failure, counters over a threshold), "medium" when
  it is an inference from one snapshot, "low" when a key figure is missing;
- each section the rule relies on that the event lacks (`OomEvent.missing`: a fragment, a
  grep-filtered paste) lowers it one step, and the summary says which section was missing
  (`hedge()`), so the reader sees why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oomlens.analyze import history, memory
from oomlens.analyze.gfp import GfpDecoding, decode
from oomlens.errors import OomlensError
from oomlens.model import MemcgCounter, OomEvent, Scope, Task, Zone
from oomlens.units import pages_to_kb

if TYPE_CHECKING:
    from oomlens.analyze.rules import Context

CONFIDENCES = ("low", "medium", "high")
SECTIONS = {
    "header": "trigger line",
    "stack": "call trace",
    "meminfo": "Mem-Info block",
    "tasks": "task table",
    "kill": "kill line",
    "memcg": "memory cgroup counters",
}
ANON_KEYS = ("active_anon", "inactive_anon", "Active_anon")
FILE_KEYS = ("active_file", "inactive_file")
# Frames of the allocator and the OOM killer itself: the caller is the first frame after them.
ALLOCATOR_PREFIXES = (
    "dump_",
    "__dump_",
    "show_",
    "unwind_",
    "oom_",
    "out_of_memory",
    "select_bad_process",
    "printk",
    "panic",
    "cpuset_print",
    "___ratelimit",
    "__ratelimit",
    "__alloc_pages",
    "alloc_pages",
    "__alloc_frozen_pages",
    "alloc_frozen_pages",
    "__get_free_pages",
    "get_zeroed_page",
    "get_page_from_freelist",
    "__folio_alloc",
    "folio_alloc",
    "new_slab",
    "allocate_slab",
    "alloc_slab_page",
    "___slab_alloc",
    "__slab_alloc",
    "kmem_cache_alloc",
    "kmalloc",
    "__kmalloc",
    "mem_cgroup_",
    "__mem_cgroup_",
    "try_charge",
    "charge_memcg",
    "obj_cgroup_",
    "memcg_",
    "__memcg_",
    "pagefault_out_of_memory",
)
# A user page fault somewhere below: the allocation was for a user page (or its page table).
FAULT_FRAMES = (
    "handle_mm_fault",
    "__handle_mm_fault",
    "do_page_fault",
    "__do_page_fault",
    "do_user_addr_fault",
    "exc_page_fault",
    "page_fault",
    "do_anonymous_page",
    "do_fault",
    "__do_fault",
    "filemap_fault",
    "filemap_nopage",
    "do_swap_page",
    "do_wp_page",
    "do_translation_fault",
    "do_mem_abort",
    "el0_da",
    "do_DataAbort",
    "mm_fault_error",
)
FORK_FRAMES = ("copy_process", "_do_fork", "do_fork", "kernel_clone", "dup_mm", "dup_task_struct")


def lines(*nums: int | None) -> tuple[int, ...]:
    """Line numbers, sorted, without duplicates or unknowns."""
    return tuple(sorted({n for n in nums if n}))


def lower(confidence: str, steps: int = 1) -> str:
    return CONFIDENCES[max(CONFIDENCES.index(confidence) - steps, 0)]


def hedge(event: OomEvent, confidence: str, needs: Iterable[str]) -> tuple[str, str]:
    """Confidence lowered one step if the event lacks a section the rule needs, and a note."""
    gaps = [SECTIONS.get(s, s) for s in needs if s in event.missing]
    if not gaps:
        return confidence, ""
    return lower(confidence), f" (evidence is thin: the log lacks the {' and '.join(gaps)})"


def field_line(event: OomEvent, name: str, *, start: int | None = None) -> int | None:
    """The first line (at or after `start`) where `name` appears as a field: `name:`,
    `name=` or `name <value>`, starting a word."""
    for ln in event.lines:
        if start is not None and ln.line_no < start:
            continue
        text = ln.text
        at = text.find(name)
        while at >= 0:
            before = text[at - 1] if at else " "
            after = text[at + len(name) : at + len(name) + 1]
            if (before.isspace() or before in "[(,") and after in (":", "=", " ", ""):
                return ln.line_no
            at = text.find(name, at + 1)
    return None


def text_line(event: OomEvent, fragment: str) -> int | None:
    """The first line of the event whose text contains `fragment`."""
    return next((ln.line_no for ln in event.lines if fragment in ln.text), None)


def ram_kb(event: OomEvent, page_kb: int) -> int | None:
    mi = event.meminfo
    ram = mi.totals_pages.get("RAM") if mi is not None else None
    return pages_to_kb(ram, page_kb) if ram else None


def counters_kb(event: OomEvent, page_kb: int, *keys: str) -> int | None:
    """Sum of Mem-Info counters (pages → kB); None when none of them was printed."""
    mi = event.meminfo
    if mi is None or not any(k in mi.counters_pages for k in keys):
        return None
    return pages_to_kb(sum(mi.counters_pages.get(k, 0) for k in keys), page_kb)


def memcg_limit(event: OomEvent) -> tuple[int | None, MemcgCounter | None]:
    """The `memory:` limit in kB (None if unknown or unlimited) and its counter."""
    return memory.memcg_limit_kb(event), memory.memcg_counter(event)


def memcg_stat_kb(event: OomEvent, *keys: str) -> tuple[int | None, int | None]:
    """A `Memory cgroup stats` value in kB (the first key printed) and its stats line."""
    if event.memcg is None or not event.memcg.stats:
        return None, None
    st = event.memcg.stats[0]
    for key in keys:
        if key in st.values:
            value = st.values[key]
            return memory.stat_kb(st, value), st.line_no
    return None, st.line_no


def task_kb(task: Task, page_kb: int) -> int:
    """Resident plus swapped-out memory of a task row, in kB."""
    return pages_to_kb((task.rss_pages or 0) + (task.swapents or 0), page_kb)


def task_own_kb(task: Task, page_kb: int) -> int:
    """Anonymous resident plus swapped-out memory (6.8+ tables split rss), in kB."""
    return pages_to_kb((task.rss_anon_pages or 0) + (task.swapents or 0), page_kb)


def pgtables_kb(task: Task, page_kb: int) -> int:
    if task.pgtables_bytes is not None:
        return task.pgtables_bytes // 1024
    return pages_to_kb((task.nr_ptes or 0) + (task.nr_pmds or 0), page_kb)


def pct(part: float, whole: float | None) -> int:
    return round(100 * part / whole) if whole else 0


def share(part: float, whole: float) -> str:
    """A percentage for a summary: "42%", "0.8%", "under 0.1%"."""
    value = 100 * part / whole if whole else 0.0
    if value >= 10:
        return f"{value:.0f}%"
    return f"{value:.1f}%" if value >= 0.1 else "under 0.1%"


def is_manual(event: OomEvent) -> bool:
    """SysRq-f (or /proc/sysrq-trigger): the kernel was told to kill, not out of memory."""
    if event.manual or event.scope is Scope.MANUAL:
        return True
    if event.trigger is not None and event.trigger.order == -1:
        return True
    return "moom_callback" in frame_names(event)


def release(event: OomEvent) -> str | None:
    if event.kernel:
        return event.kernel
    return event.stack.kernel if event.stack is not None else None


def gfp(event: OomEvent) -> GfpDecoding | None:
    """The trigger's GFP mask decoded for the event's kernel, None when not printed."""
    t = event.trigger
    if t is None or not t.gfp_mask:
        return None
    try:
        return decode(t.gfp_mask, release(event))
    except (OomlensError, ValueError):
        return None


def frame_names(event: OomEvent) -> list[str]:
    """Call-trace function names, innermost first, without offsets, compiler suffixes
    (.part.N, .constprop.N, .isra.N, .cold) or the unreliable `?` frames."""
    if event.stack is None:
        return []
    out = []
    for frame in event.stack.frames:
        if frame.startswith("?"):
            continue
        out.append(frame.split("+", 1)[0].split(".", 1)[0].strip())
    return out


def caller(event: OomEvent) -> str | None:
    """The first call-trace frame outside the allocator and the OOM killer."""
    return next((f for f in frame_names(event) if not f.startswith(ALLOCATOR_PREFIXES)), None)


def zone_field(zone: Zone, name: str) -> int | None:
    return zone.fields_kb.get(name)


def usable(zone: Zone, decoded: GfpDecoding | None) -> bool:
    """Whether an allocation with these GFP flags may take pages from the zone."""
    if decoded is None:
        return True
    if zone.name == "HighMem":
        return decoded.has("__GFP_HIGHMEM")
    if zone.name == "Movable":
        return decoded.has("__GFP_HIGHMEM") and decoded.has("__GFP_MOVABLE")
    return True


def fragmented_zones(event: OomEvent, page_kb: int) -> list[Zone]:
    """Zones above their min watermark with no free block of the requested order.

    Only for order >= 1, and only when no zone the allocation may use had such a block
    while above min plus its lowmem_reserve (then the failure was not about contiguity).
    The reserve taken is the zone's largest, a conservative stand-in for the one of the
    allocation's class zone.
    """
    t, mi = event.trigger, event.meminfo
    if t is None or t.order is None or t.order < 1 or mi is None:
        return []
    need_kb = page_kb << t.order
    decoded = gfp(event)
    out = []
    for z in mi.zones:
        free, low_mark = zone_field(z, "free"), zone_field(z, "min")
        if not z.free_areas or free is None or low_mark is None or not usable(z, decoded):
            continue
        if free <= low_mark:
            continue
        reserve = pages_to_kb(max(z.lowmem_reserve_pages or (0,)), page_kb)
        if any(fa.count and fa.size_kb >= need_kb for fa in z.free_areas):
            if free > low_mark + reserve:
                return []
            continue
        out.append(z)
    return out


def sum_min_kb(event: OomEvent) -> int | None:
    """The zones' min watermarks summed: about what vm.min_free_kbytes is set to."""
    if event.meminfo is None:
        return None
    mins = [z.fields_kb["min"] for z in event.meminfo.zones if "min" in z.fields_kb]
    return sum(mins) if mins else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outlier:
    """A task holding most of the table's memory."""

    top: Task
    runner_up: Task
    top_kb: int  # rss + swap
    runner_up_kb: int
    table_kb: int  # all rows, rss + swap


def outlier(event: OomEvent, page_kb: int) -> Outlier | None:
    """The top task when it holds > 50% of the table's memory and >= 3x the next one."""
    if event.tasks is None:
        return None
    rows = [t for t in event.tasks.rows if task_kb(t, page_kb) > 0]
    if len(rows) < 2:
        return None
    ranked = sorted(rows, key=lambda t: (-task_kb(t, page_kb), t.pid))
    top, nxt = ranked[0], ranked[1]
    top_kb, next_kb = task_kb(top, page_kb), task_kb(nxt, page_kb)
    table_kb = sum(task_kb(t, page_kb) for t in rows)
    if top_kb * 2 <= table_kb or top_kb < 3 * next_kb:
        return None
    return Outlier(top=top, runner_up=nxt, top_kb=top_kb, runner_up_kb=next_kb, table_kb=table_kb)


def anon_share(event: OomEvent, task: Task) -> float | None:
    """The anonymous share of a task's resident memory (6.8+ table, or its kill line)."""
    if task.rss_anon_pages is not None and task.rss_pages:
        return task.rss_anon_pages / task.rss_pages
    v = event.victim
    if v is not None and v.pid == task.pid and v.anon_rss_kb is not None:
        rss = v.anon_rss_kb + (v.file_rss_kb or 0) + (v.shmem_rss_kb or 0)
        return v.anon_rss_kb / rss if rss else None
    return None


def total(
    event: OomEvent, page_kb: int, *, swap: bool = False
) -> tuple[int | None, str, int | None]:
    """What the OOM ran against: (kB, "RAM" / "the cgroup limit", the line that says so).

    With `swap`, a system OOM counts the swap space too (task sizes include swapped pages).
    """
    if event.scope is Scope.MEMCG:
        limit, counter = memcg_limit(event)
        return limit, "the cgroup limit", counter.line_no if counter else None
    ram = ram_kb(event, page_kb)
    sw = event.swap.total_kb if event.swap is not None else None
    if swap and ram is not None and sw:
        return ram + sw, "RAM + swap", field_line(event, "pages RAM")
    return ram, "RAM", field_line(event, "pages RAM")


def swap_state(event: OomEvent) -> str | None:
    """ "none" (no swap), "full" (<= 1% free), "free", or None when the log does not say."""
    sw = event.swap
    if sw is None or sw.total_kb is None:
        return None
    if sw.total_kb == 0:
        return "none"
    if sw.free_kb is not None and sw.free_kb <= sw.total_kb // 100:
        return "full"
    return "free"


def series(event: OomEvent, ctx: Context) -> tuple[history.Recurrence, ...]:
    """The recurrences (same cgroup, same process name) this event belongs to."""
    events, index = position(event, ctx)
    return tuple(r for r in _recurring(events) if index in r.indexes)


def next_event(event: OomEvent, ctx: Context) -> OomEvent | None:
    """The next event of the same input, if any."""
    events, index = position(event, ctx)
    return next(
        (events[i] for i in range(index + 1, len(events)) if events[i].source == event.source),
        None,
    )


def position(event: OomEvent, ctx: Context) -> tuple[Sequence[OomEvent], int]:
    """The events of the input and this event's index among them."""
    events = ctx.events
    if 0 <= ctx.index < len(events) and events[ctx.index] is event:
        return events, ctx.index
    for i, e in enumerate(events):
        if e is event:
            return events, i
    return (event,), 0


# One slot: every event of an input asks about the same events in turn, so the
# recurrences are worked out once per input instead of once per event (O(n) not O(n^2)).
_last: list[tuple[Sequence[OomEvent], tuple[history.Recurrence, ...]]] = []


def _recurring(events: Sequence[OomEvent]) -> tuple[history.Recurrence, ...]:
    for seen, found in _last:
        if seen is events:
            return found
    found = history.recurring(events)
    _last[:] = [(events, found)]
    return found
