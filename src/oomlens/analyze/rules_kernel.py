"""Rules about how the allocation failed: contiguity, CMA, lowmem, kernel callers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oomlens.analyze import memory
from oomlens.analyze import rules_facts as f
from oomlens.model import Finding, OomEvent, Scope, Zone
from oomlens.units import human_kb, pages_to_kb

if TYPE_CHECKING:
    from oomlens.analyze.rules import Context

CMA_SHARE = 0.5  # CMA pages make up at least half of a zone's free memory
# Kernel memory charged to a cgroup (memcg kmem accounting) shows these frames.
SLAB_FRAMES = ("kmem_cache_alloc", "___slab_alloc", "__slab_alloc", "new_slab")
KMEM_CHARGE_FRAMES = ("obj_cgroup_charge", "memcg_kmem_charge", "__memcg_kmem_charge_page")


def fragmentation(event: OomEvent, ctx: Context) -> Finding | None:
    """Free memory, but not in blocks of the order asked for; or free memory that is all CMA."""
    trap = _cma_trap(event, ctx)
    if trap is not None:
        return trap
    t = event.trigger
    if t is None or t.order is None or t.order < 1:
        return None
    page = ctx.page_size_kb
    need = page << t.order
    zones = f.fragmented_zones(event, page)
    if zones:
        z = zones[0]
        largest = max((fa.size_kb for fa in z.free_areas or () if fa.count), default=0)
        mins = f.sum_min_kb(event)
        advice = [
            "Compact on demand (echo 1 > /proc/sys/vm/compact_memory) and keep "
            "vm.compaction_proactiveness above 0 (5.9+) so the kernel compacts in the background.",
        ]
        if mins:
            advice.insert(
                0,
                f"Raise vm.min_free_kbytes above the {mins} kB the zones keep now (e.g. "
                f"{2 * mins}) so kswapd reclaims and compacts before allocations fail.",
            )
        return Finding(
            rule="fragmentation",
            severity="warning",
            summary=(
                f"An order-{t.order} allocation ({need} KiB contiguous) failed although {z.name} "
                f"had {human_kb(z.fields_kb['free'])} free, above its "
                f"{human_kb(z.fields_kb['min'])} min watermark: its largest free block was "
                f"{largest} KiB, so free memory was fragmented."
            ),
            evidence=f.lines(t.line_no, z.line_no, z.free_areas_line_no),
            confidence="high",
            advice=tuple(advice),
        )
    has_lists = event.meminfo is not None and any(z.free_areas for z in event.meminfo.zones)
    if has_lists:
        return None
    return Finding(
        rule="fragmentation",
        severity="info",
        summary=(
            f"An order-{t.order} allocation ({need} KiB contiguous) triggered the OOM; the log "
            "lacks the buddy free lists, so fragmentation cannot be confirmed."
        ),
        evidence=f.lines(t.line_no),
        confidence="low",
        advice=(
            "Check /proc/buddyinfo on the machine: few free blocks of order "
            f"{t.order} and above while MemFree is high means fragmentation.",
        ),
    )


def lowmem_exhaustion(event: OomEvent, ctx: Context) -> Finding | None:
    """32-bit HighMem kernel: Normal (lowmem) is exhausted while HighMem still has free pages."""
    mi = event.meminfo
    if mi is None:
        return None
    high = next((z for z in mi.zones if z.name == "HighMem"), None)
    normal = next((z for z in mi.zones if z.name == "Normal"), None)
    if high is None or normal is None:
        return None
    free, low = normal.fields_kb.get("free"), normal.fields_kb.get("low")
    h_free, h_min = high.fields_kb.get("free"), high.fields_kb.get("min")
    if free is None or low is None or h_free is None or h_min is None:
        return None
    if free >= low or h_free <= 2 * h_min:
        return None
    decoded = f.gfp(event)
    if decoded is not None and decoded.has("__GFP_HIGHMEM"):
        return None  # the allocation could have used HighMem: not a lowmem failure
    what = f"this {decoded.text} allocation" if decoded is not None else "a lowmem allocation"
    page = ctx.page_size_kb
    slab = f.counters_kb(event, page, "slab_unreclaimable", "slab_reclaimable", "slab")
    tables = f.counters_kb(event, page, "pagetables")
    held = ", ".join(
        f"{n} {human_kb(v)}" for n, v in (("kernel slab", slab), ("page tables", tables)) if v
    )
    return Finding(
        rule="lowmem_exhaustion",
        severity="warning",
        summary=(
            f"Lowmem ran out on a 32-bit kernel: Normal had {human_kb(free)} free (min "
            f"{human_kb(normal.fields_kb.get('min'))}, low {human_kb(low)}) while HighMem still "
            f"had {human_kb(h_free)} free, which {what} cannot use."
        ),
        evidence=f.lines(
            event.trigger.line_no if event.trigger else None,
            normal.line_no,
            high.line_no,
            f.field_line(event, "pages HighMem"),
        ),
        confidence="high" if decoded is not None else "medium",
        advice=(
            "Run a 64-bit kernel: it has no lowmem/HighMem split.",
            "Until then, shrink what must live in lowmem" + (f" ({held} here)." if held else "."),
        ),
    )


def kernel_allocation(event: OomEvent, ctx: Context) -> Finding | None:
    """The kernel itself needed the memory (no user page fault below): name the caller."""
    names = f.frame_names(event)
    if not names or f.is_manual(event):
        return None
    if any(n in f.FAULT_FRAMES for n in names):
        return None
    who = f.caller(event)
    if who is None:
        return None
    decoded = f.gfp(event)
    order = event.trigger.order if event.trigger else None
    size = f" order-{order}" if order else ""
    if event.scope is Scope.MEMCG:
        if not any(n in KMEM_CHARGE_FRAMES for n in names):
            return None  # the charge GFP says little (6.x prints GFP_KERNEL for user pages)
        kmem = memory.memcg_counter(event, "kmem")
        used = f" (kmem usage {human_kb(kmem.usage_kb)})" if kmem else ""
        return Finding(
            rule="kernel_allocation",
            severity="info",
            summary=(
                f"A kernel object allocation from {who} was charged to "
                f"{event.memcg_path or 'the cgroup'} and hit its limit{used}."
            ),
            evidence=f.lines(
                event.trigger.line_no if event.trigger else None,
                _frame_line(event, who),
                kmem.line_no if kmem else None,
            ),
            confidence="high",
            advice=(
                "Kernel memory (slab, sockets, page tables) counts toward the cgroup's limit: "
                "size the limit for it too.",
            ),
        )
    if decoded is not None and decoded.mask == 0:
        return None  # gfp_mask=0: a page-fault OOM (pagefault_out_of_memory), a user page
    if decoded is not None and (
        decoded.has("__GFP_HIGHMEM")
        or decoded.has("__GFP_MOVABLE")
        or decoded.has("__GFP_HARDWALL")
    ):
        return None  # a user-data page (pipe, page cache) allocated from a syscall
    alloc = f"a {decoded.text}{size} allocation" if decoded is not None else f"an{size} allocation"
    confidence, note = f.hedge(event, "high" if decoded is not None else "medium", ("header",))
    if decoded is None and not note:
        confidence, note = "medium", " (the log does not show the GFP flags)"
    forking = any(n in f.FORK_FRAMES for n in names)
    return Finding(
        rule="kernel_allocation",
        severity="info",
        summary=(
            f"The kernel needed the memory, not a user page fault: {alloc} from {who}"
            f"{' during fork()' if forking else ''}{note}."
        ),
        evidence=f.lines(event.trigger.line_no if event.trigger else None, _frame_line(event, who)),
        confidence=confidence,
        advice=_kernel_advice(event, forking),
    )


def _cma_trap(event: OomEvent, ctx: Context) -> Finding | None:
    mi = event.meminfo
    if mi is None:
        return None
    decoded = f.gfp(event)
    if decoded is not None and decoded.has("__GFP_MOVABLE"):
        return None  # movable allocations may use CMA pages
    zone = next((z for z in mi.zones if _trapped(z)), None)
    if zone is None:
        return None
    free, cma, low_mark = zone.fields_kb["free"], zone.fields_kb["free_cma"], zone.fields_kb["min"]
    what = f"this {decoded.text} allocation" if decoded is not None else "a non-movable allocation"
    reserved = mi.totals_pages.get("cma reserved")
    size = (
        f" ({human_kb(pages_to_kb(reserved, ctx.page_size_kb))} reserved now)" if reserved else ""
    )
    return Finding(
        rule="fragmentation",
        severity="warning",
        summary=(
            f"CMA trap: {zone.name} had {human_kb(free)} free, but {human_kb(cma)} of it was CMA, "
            f"which {what} cannot use; the rest, {human_kb(free - cma)}, was below the "
            f"{human_kb(low_mark)} min watermark."
        ),
        evidence=f.lines(
            event.trigger.line_no if event.trigger else None,
            f.field_line(event, "free_cma"),
            zone.line_no,
            zone.free_areas_line_no,
            f.field_line(event, "pages cma reserved"),
        ),
        confidence="high" if decoded is not None else "medium",
        advice=(
            "Size the CMA area to what its users (camera, video, DMA) need: cma= on the kernel "
            f"command line or the device tree{size}; kernel allocations (page tables, slab) "
            "cannot use CMA pages.",
        ),
    )


def _trapped(zone: Zone) -> bool:
    free, cma, low_mark = (zone.fields_kb.get(k) for k in ("free", "free_cma", "min"))
    if not free or not cma or low_mark is None:
        return False
    return cma >= free * CMA_SHARE and free - cma < low_mark


def _frame_line(event: OomEvent, name: str) -> int | None:
    for ln in event.lines:
        text = ln.text
        at = text.find(name)
        if at >= 0 and (at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")):
            end = text[at + len(name) : at + len(name) + 1]
            if end in ("+", ".", ")", " ", ""):
                return ln.line_no
    return None


def _kernel_advice(event: OomEvent, forking: bool) -> tuple[str, ...]:
    out = []
    if forking:
        out.append(
            "fork() needs kernel memory (stack, page tables): cap task counts with TasksMax= "
            "(systemd), --pids-limit (containers) or ulimit -u."
        )
    if any(n.startswith(SLAB_FRAMES) for n in f.frame_names(event)):
        out.append("A slab allocation: check for a growing cache with slabtop -o -s c.")
    mins = f.sum_min_kb(event)
    out.append(
        "Raise vm.min_free_kbytes"
        + (f" above the {mins} kB the zones keep now" if mins else "")
        + " so kernel allocations keep a larger reserve."
    )
    return tuple(out)
