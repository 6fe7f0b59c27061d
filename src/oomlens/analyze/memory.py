"""Page size, memory breakdown and top consumers of one event (pure functions)."""

from __future__ import annotations

from oomlens.model import Consumer, MemcgCounter, MemcgStats, MemoryPart, OomEvent, Scope, Task
from oomlens.units import is_unlimited, pages_to_kb

PAGE_SIZES_KB = (4, 8, 16, 64)


def page_size(event: OomEvent) -> tuple[int, str]:
    """The page size in kB and how it was found.

    The buddy lists' first term is one page (`15*4kB`, `3*64kB`); failing that, the kill
    line's rss in kB against the victim's task row in pages; failing that, 4 kB.
    """
    if event.meminfo is not None:
        for zone in event.meminfo.zones:
            if zone.free_areas:
                size = zone.free_areas[0].size_kb
                if size in PAGE_SIZES_KB:
                    return size, "buddy lists"
    victim = event.victim
    if victim is not None and event.tasks is not None and victim.anon_rss_kb is not None:
        row = next((t for t in event.tasks.rows if t.pid == victim.pid), None)
        rss_kb = (victim.anon_rss_kb or 0) + (victim.file_rss_kb or 0) + (victim.shmem_rss_kb or 0)
        if row is not None and row.rss_pages and rss_kb:
            ratio = rss_kb / row.rss_pages
            best = min(PAGE_SIZES_KB, key=lambda s: abs(s - ratio))
            if abs(best - ratio) / best < 0.25:
                return best, "kill line vs task table"
    return 4, "default"


def memcg_counter(event: OomEvent, name: str = "memory") -> MemcgCounter | None:
    """The `memory:` (or `swap:`, `memory+swap:`, ...) usage/limit line of the OOMing cgroup."""
    if event.memcg is None:
        return None
    return next((c for c in event.memcg.counters if c.name == name), None)


def memcg_limit_kb(event: OomEvent) -> int | None:
    """The `memory:` limit of the OOMing cgroup, None when unknown or unlimited."""
    c = memcg_counter(event)
    if c is None or is_unlimited(c.limit_kb) or c.limit_kb <= 0:
        return None
    return c.limit_kb


def stat_kb(stats: MemcgStats, value: int) -> int:
    """A `Memory cgroup stats` value in kB: the one-line v1 form is in kB, the rest in bytes."""
    return value if stats.unit == "kB" else value // 1024


def breakdown(event: OomEvent, page_kb: int) -> tuple[tuple[MemoryPart, ...], int | None, str]:
    """How memory divided at the OOM, in kB, and the total it is measured against."""
    if event.scope is Scope.MEMCG and event.memcg is not None and event.memcg.stats:
        return _memcg_breakdown(event.memcg.stats[0], memcg_limit_kb(event))
    if event.meminfo is None or not event.meminfo.counters_pages:
        return (), None, ""
    c = event.meminfo.counters_pages

    def kb(*keys: str) -> int | None:
        """The sum of the counters the log printed, None when it printed none of them."""
        if not any(k in c for k in keys):
            return None
        return pages_to_kb(sum(c.get(k, 0) for k in keys), page_kb)

    shmem = kb("shmem")
    anon = kb("active_anon", "inactive_anon", "isolated_anon", "Active_anon")
    if anon is not None and shmem is not None:
        # shmem is swap-backed and sits on the anon LRU: take it out of anon, not out of file
        anon = max(anon - shmem, 0)
    slab = [
        ("slab reclaimable", kb("slab_reclaimable")),
        ("slab unreclaimable", kb("slab_unreclaimable")),
    ]
    if "slab_reclaimable" not in c and "slab" in c:
        slab = [("slab (all)", kb("slab"))]  # <= 2.6.x printed one "slab:" counter
    parts = [
        ("anon", anon),
        ("page cache", kb("active_file", "inactive_file", "isolated_file")),
        ("shmem", shmem),
        *slab,
        ("page tables", kb("pagetables", "sec_pagetables")),
        ("free", kb("free")),
    ]
    out = [MemoryPart(name=n, kb=v) for n, v in parts if v is not None]
    ram_pages = event.meminfo.totals_pages.get("RAM")
    total = pages_to_kb(ram_pages, page_kb) if ram_pages else None
    if total is not None:
        other = total - sum(p.kb for p in out)
        if other > 0:
            out.append(MemoryPart(name="other (kernel, hugepages, reserved)", kb=other))
    return tuple(out), total, "RAM"


def _memcg_breakdown(
    stats: MemcgStats, limit_kb: int | None
) -> tuple[tuple[MemoryPart, ...], int | None, str]:
    v = stats.values

    def kb(*keys: str) -> int:
        return stat_kb(stats, sum(v.get(k, 0) for k in keys))

    if "anon" in v:  # cgroup v2 memory.stat
        parts = [
            ("anon", kb("anon")),  # v2 "anon" excludes shmem; "file" includes it
            ("page cache", max(kb("file") - kb("shmem"), 0)),
            ("shmem", kb("shmem")),
            ("slab reclaimable", kb("slab_reclaimable")),
            ("slab unreclaimable", kb("slab_unreclaimable")),
            ("kernel stack", kb("kernel_stack")),
            ("page tables", kb("pagetables")),
            ("sock", kb("sock")),
        ]
    else:  # cgroup v1: cache / rss / shmem
        parts = [
            ("anon", kb("rss")),
            ("page cache", max(kb("cache") - kb("shmem"), 0)),
            ("shmem", kb("shmem")),
        ]
    out = tuple(
        MemoryPart(name=n, kb=val) for n, val in parts if n in ("anon", "page cache") or val
    )
    return out, limit_kb, "cgroup limit"


def consumers(event: OomEvent, page_kb: int, top: int = 10) -> tuple[Consumer, ...]:
    """The tasks with the most resident memory, largest first (kB)."""
    if event.tasks is None:
        return ()
    victim_pid = event.victim.pid if event.victim else None

    def to_kb(v: int | None) -> int | None:
        return None if v is None else pages_to_kb(v, page_kb)

    def row(t: Task) -> Consumer:
        return Consumer(
            pid=t.pid,
            comm=t.comm,
            rss_kb=to_kb(t.rss_pages) or 0,
            anon_kb=to_kb(t.rss_anon_pages),
            file_kb=to_kb(t.rss_file_pages),
            shmem_kb=to_kb(t.rss_shmem_pages),
            swap_kb=to_kb(t.swapents),
            oom_score_adj=t.oom_score_adj,
            victim=t.pid == victim_pid,
        )

    ranked = sorted(event.tasks.rows, key=lambda t: (-(t.rss_pages or 0), t.pid))
    return tuple(row(t) for t in ranked[:top])
