"""The five questions people ask of an OOM, answered from one event with its evidence."""

from __future__ import annotations

from oomlens.analyze import cgroups
from oomlens.analyze.memory import memcg_counter, memcg_limit_kb, stat_kb
from oomlens.model import Answer, Attribution, Consumer, Finding, MemoryPart, OomEvent, Scope
from oomlens.units import human_kb, is_unlimited

QUESTIONS = {
    "scope": "System-wide or cgroup OOM?",
    "consumers": "Who consumed the memory?",
    "swap": "Was swap available?",
    "thrashing": "Was the system thrashing?",
    "prevention": "What would have prevented it?",
}


def _answer(key: str, summary: str, details: list[str], evidence: list[int | None]) -> Answer:
    lines = tuple(sorted({n for n in evidence if n}))
    return Answer(
        key=key,
        question=QUESTIONS[key],
        summary=summary,
        details=tuple(details),
        evidence=lines,
    )


def scope(event: OomEvent) -> Answer:
    ev: list[int | None] = []
    if event.summary is not None:
        ev.append(event.summary.line_no)
    if event.memcg is not None:
        ev.append(event.memcg.line_no)
    if event.selection is not None:
        ev.append(event.selection.line_no)
    elif event.victim is not None:
        ev.append(event.victim.line_no)
    if event.trigger is not None and event.trigger.order == -1:
        ev.append(event.trigger.line_no)
    details: list[str] = []
    path = event.memcg_path
    limit = memcg_limit_kb(event)
    if event.scope is Scope.MEMCG:
        where = f" in {path}" if path else ""
        summary = f"cgroup OOM{where}: the cgroup hit its memory limit, not the machine."
        counter = memcg_counter(event)
        if limit is not None and counter is not None:
            usage = counter.usage_kb
            summary = (
                f"cgroup OOM{where}: the cgroup hit its {human_kb(limit)} limit "
                f"(usage {human_kb(usage)}), not the machine."
            )
        if event.victim is not None and event.victim.memcg and event.victim.memcg != path:
            details.append(f"The victim's own cgroup is {event.victim.memcg}.")
    elif event.scope is Scope.SYSTEM:
        summary = "System-wide OOM: the whole machine ran out of memory."
    elif event.scope is Scope.CPUSET:
        mems = event.summary.mems_allowed if event.summary else None
        summary = (
            "cpuset-constrained OOM: the allocating task may only use memory nodes "
            f"{mems or '(see log)'}; those ran out, other nodes may still have had free memory."
        )
    elif event.scope is Scope.MEMPOLICY:
        summary = (
            "Memory-policy OOM: the allocation was bound (mbind/MPOL_BIND) to nodes that ran out."
        )
    elif event.scope is Scope.MANUAL:
        summary = (
            "Manual OOM (SysRq-f / order=-1): someone asked the kernel to kill a task; memory "
            "was not necessarily exhausted."
        )
    else:
        summary = "The log does not show whether this OOM was system-wide or in a cgroup."
    return _answer("scope", summary, details, ev)


def consumers(
    event: OomEvent,
    parts: tuple[MemoryPart, ...],
    total_kb: int | None,
    total_label: str,
    top: tuple[Consumer, ...],
) -> Answer:
    ev: list[int | None] = []
    details: list[str] = []
    if top:
        ev.append(event.tasks.line_no if event.tasks else None)
        t = top[0]
        share = ""
        rows = event.tasks.rows if event.tasks else ()
        rss_pages = sum(r.rss_pages or 0 for r in rows)
        top_pages = next((r.rss_pages or 0 for r in rows if r.pid == t.pid), 0)
        if rss_pages and len(rows) > 1:
            pct = 100 * top_pages // rss_pages
            share = f", {pct}% of the resident memory of the {len(rows)} listed tasks"
        summary = f"{t.comm} (pid {t.pid}) held the most: {human_kb(t.rss_kb)} resident{share}."
        for c in top[:5]:
            split = ""
            if c.anon_kb is not None:
                split = (
                    f" (anon {human_kb(c.anon_kb)}, file {human_kb(c.file_kb)}, "
                    f"shmem {human_kb(c.shmem_kb)})"
                )
            mark = "  <- killed" if c.victim else ""
            details.append(f"{c.comm} [{c.pid}]: {human_kb(c.rss_kb)}{split}{mark}")
    elif event.victim is not None and event.victim.anon_rss_kb is not None:
        v = event.victim
        ev.append(v.line_no)
        summary = (
            f"The task table is not in the log; the victim {v.comm} (pid {v.pid}) had "
            f"{human_kb(v.anon_rss_kb)} anon, {human_kb(v.file_rss_kb)} file and "
            f"{human_kb(v.shmem_rss_kb)} shmem resident."
        )
    else:
        summary = "The log does not show per-process memory (no task table, no kill figures)."
    if parts:
        if event.meminfo is not None:
            ev.append(event.meminfo.line_no)
        elif event.memcg is not None and event.memcg.stats:
            ev.append(event.memcg.stats[0].line_no)
        against = f" ({total_label} {human_kb(total_kb)})" if total_kb else ""
        big = max(parts, key=lambda p: p.kb)
        details.append(
            "Memory by kind"
            + against
            + ": "
            + ", ".join(f"{p.name} {human_kb(p.kb)}" for p in parts)
        )
        if big.name in ("slab unreclaimable", "slab (all)"):
            summary += f" Kernel slab ({human_kb(big.kb)}) outweighs every process."
        elif big.name == "shmem":
            summary += (
                f" shmem/tmpfs ({human_kb(big.kb)}) is the largest part: killing does not free it."
            )
    return _answer("consumers", summary, details, ev)


def swap(event: OomEvent) -> Answer:
    ev: list[int | None] = []
    details: list[str] = []
    sw = event.swap
    counters = {c.name: c for c in event.memcg.counters} if event.memcg else {}
    if sw is not None:
        ev.append(sw.line_no)
    if event.scope is Scope.MANUAL:
        free = ""
        if sw is not None and sw.total_kb == 0:
            free = " (no swap is configured)"
        elif sw is not None and sw.total_kb is not None:
            free = f" ({human_kb(sw.free_kb)} of {human_kb(sw.total_kb)} swap free)"
        summary = (
            f"Not the question here: this OOM was triggered by hand (SysRq-f), not by a "
            f"shortage{free}."
        )
        return _answer("swap", summary, details, ev)
    if event.scope is Scope.MEMCG and counters:
        memsw = counters.get("memory+swap")
        v2swap = counters.get("swap")
        if memsw is not None:
            ev.append(memsw.line_no)
            mem = counters.get("memory")
            if mem is not None and memsw.usage_kb < mem.usage_kb:
                summary = (
                    "The log cannot tell: swap accounting is off for this cgroup "
                    f"(memory+swap usage {human_kb(memsw.usage_kb)} is below its memory usage)."
                )
            elif mem is not None and memsw.limit_kb <= mem.limit_kb:
                summary = (
                    "No: the cgroup's memory+swap limit equals its memory limit, "
                    "so it could not swap."
                )
            elif memsw.usage_kb >= memsw.limit_kb and not is_unlimited(memsw.limit_kb):
                summary = "No: the cgroup used its whole memory+swap allowance."
            elif memsw.usage_kb == (mem.usage_kb if mem else -1):
                summary = (
                    "No swap was in use by the cgroup "
                    "(none configured on the host, or swappiness 0)."
                )
            else:
                summary = "Yes, within the cgroup's memory+swap limit; it still ran out."
        elif v2swap is not None:
            ev.append(v2swap.line_no)
            if v2swap.limit_kb == 0:
                summary = "No: the cgroup's swap.max is 0."
            elif v2swap.usage_kb >= v2swap.limit_kb:
                summary = (
                    f"No: the cgroup used its whole swap allowance ({human_kb(v2swap.limit_kb)})."
                )
            else:
                summary = (
                    f"Swap was allowed (usage {human_kb(v2swap.usage_kb)}); "
                    "the cgroup still hit its limit."
                )
        else:
            summary = "The log shows no swap figures for this cgroup."
        return _answer("swap", summary, details, ev)
    if sw is None or sw.total_kb is None:
        summary = "The log does not show the swap figures."
    elif sw.total_kb == 0:
        summary = "No: no swap is configured."
    elif sw.free_kb is not None and sw.free_kb <= sw.total_kb // 100:
        summary = f"No: swap was full ({human_kb(sw.free_kb)} free of {human_kb(sw.total_kb)})."
    else:
        summary = (
            f"Yes: {human_kb(sw.free_kb)} of {human_kb(sw.total_kb)} swap was free, "
            "yet the kernel could not use it for this allocation."
        )
        details += _gfp_swap_details(event)
    return _answer("swap", summary, details, ev)


def _gfp_swap_details(event: OomEvent) -> list[str]:
    """Why free swap may not have helped this allocation, from its GFP mask."""
    t = event.trigger
    if t is None or t.gfp_mask is None:
        return []
    from oomlens.analyze.gfp import GfpMaskError, decode

    try:
        d = decode(t.gfp_mask, event.kernel)
    except GfpMaskError:
        return []
    out = []
    if not d.has("__GFP_IO") or not d.has("__GFP_DIRECT_RECLAIM"):
        out.append(
            f"The allocation ({d.text or t.gfp_mask}) could not start IO or reclaim directly, "
            "so it could not push pages out to swap itself."
        )
    zones = event.meminfo.zones if event.meminfo else ()
    if not d.has("__GFP_HIGHMEM") and any(z.name == "HighMem" for z in zones):
        out.append(
            "It needed low memory (no __GFP_HIGHMEM on a 32-bit HighMem kernel): swapping out "
            "user pages that live in HighMem does not free the low zones."
        )
    if not out and t.order:
        out.append(
            f"It was an order-{t.order} allocation: it needs {2**t.order} contiguous pages, "
            "which swapping does not create."
        )
    return out


def thrashing(event: OomEvent, page_kb: int) -> Answer:
    ev: list[int | None] = []
    details: list[str] = []
    signs: list[str] = []
    mi = event.meminfo
    if mi is not None:
        c = mi.counters_pages
        ram = mi.totals_pages.get("RAM")
        file_pages = c.get("active_file", 0) + c.get("inactive_file", 0)
        if ram and ("active_file" in c or "inactive_file" in c):
            ev.append(mi.line_no)
            pct = 100 * file_pages / ram
            if pct < 1.0:
                signs.append(
                    f"page cache nearly gone ({human_kb(file_pages * page_kb)}, "
                    f"{'<0.01' if pct < 0.01 else f'{pct:.2f}'}% of RAM)"
                )
        unrec = [n for n in mi.nodes if n.all_unreclaimable] + [
            z for z in mi.zones if z.all_unreclaimable
        ]
        if unrec:
            ev.extend(u.line_no for u in unrec)
            signs.append("kernel marked memory all_unreclaimable (reclaim gave up)")
        below = [
            z
            for z in mi.zones
            if "free" in z.fields_kb
            and "min" in z.fields_kb
            and z.fields_kb.get("managed", 1)
            and z.fields_kb["free"] < z.fields_kb["min"]
        ]
        if below:
            ev.extend(z.line_no for z in below)
            names = ", ".join(
                f"{z.name}" + (f" (node {z.node})" if z.node is not None else "") for z in below
            )
            signs.append(f"free memory below the min watermark in {names}")
    elif event.memcg is not None and event.memcg.stats:
        st = event.memcg.stats[0]
        v = st.values
        file_kb = stat_kb(st, v.get("file", v.get("cache", 0)))
        counter = memcg_counter(event)
        usage = counter.usage_kb if counter is not None else None
        ev.append(st.line_no)
        refaults = v.get("workingset_refault_file", v.get("workingset_refault"))
        if usage is None or usage <= 0:
            cannot = "The log does not show the cgroup's usage, so it cannot tell."
            return _answer("thrashing", cannot, details, ev)
        starved = 100 * file_kb / usage < 2
        # refaults count since the cgroup was made: only many of them (a tenth of the usage
        # read back from disk, at 4 kB a page) say the working set did not fit
        churn = refaults is not None and refaults * 4 >= usage // 10 > 0
        if refaults:
            details.append(
                f"workingset_refault_file {refaults}: evicted file pages were read back."
            )
        if starved and churn:
            possibly = (
                f"Possibly: the cgroup's page cache was nearly gone ({human_kb(file_kb)}) and "
                f"{refaults} evicted file pages had been read back (a count since the cgroup "
                "started, so the rate is unknown)."
            )
            return _answer("thrashing", possibly, details, ev)
        elif starved:
            full = (
                "Full rather than thrashing: the cgroup's page cache was nearly gone "
                f"({human_kb(file_kb)}), so reclaim had little left to free."
            )
            return _answer("thrashing", full, details, ev)
    if signs:
        summary = "Yes, likely: " + "; ".join(signs) + "."
    elif ev:
        summary = "No clear sign of thrashing: page cache and reclaim figures look normal."
    else:
        summary = "The log does not show the figures needed to tell."
    return _answer("thrashing", summary, details, ev)


def prevention(
    event: OomEvent,
    top: tuple[Consumer, ...],
    found: tuple[Finding, ...] = (),
    attribution: Attribution | None = None,
) -> Answer:
    ev: list[int | None] = []
    details: list[str] = []
    limit = memcg_limit_kb(event)
    # the patterns' advice first (most severe first), each piece of advice once
    advice: list[str] = []
    for f in found:
        if f.severity in ("critical", "warning") and f.advice:
            ev.extend(f.evidence)
            advice += [a for a in f.advice if a not in advice]
    # a knob to change reads better as the answer than a way to watch or investigate
    advice.sort(key=lambda a: a.startswith("Watch"))
    if event.scope is Scope.MANUAL:
        summary = "Nothing to prevent: this kill was requested by hand (SysRq-f)."
        advice = []
    elif event.scope is Scope.MEMCG:
        summary = cgroups.advice(attribution, limit)
        advice = [a for a in advice if a != summary]
        details.append(
            "Set a soft limit below the hard one (memory.high, systemd MemoryHigh=) so the "
            "workload is slowed and reclaimed before it is killed."
        )
    elif event.scope is Scope.CPUSET:
        summary = (
            "Widen the cpuset's memory nodes (cpuset.mems) "
            "or move the workload to nodes with memory."
        )
    elif event.scope is None and event.victim is None:
        summary = "The report is cut short: too little of it is in the log to say."
    elif advice:
        summary = advice.pop(0)
    else:
        summary = "Limit the biggest consumer, add memory or swap, or spread the load."
        lost = [m for m in event.missing if m in ("header", "meminfo", "tasks")]
        if lost:
            summary = (
                f"The log holds only part of the report (no {', '.join(lost)}), so only general "
                "advice: limit the biggest consumer, add memory or swap, or spread the load."
            )
        if top:
            details.append(
                f"Cap {top[0].comm} with a cgroup limit (systemd MemoryMax=, Docker --memory) "
                "so it is killed before the machine stalls."
            )
    if event.scope in (Scope.SYSTEM, Scope.CPUSET, Scope.MEMPOLICY):
        if event.swap is not None and event.swap.total_kb == 0:
            details.append("Add swap or zram so cold anonymous pages have somewhere to go.")
        details.append(
            "Run an early userspace killer (systemd-oomd or earlyoom) "
            "to act before the kernel must."
        )
    details = advice + details
    if event.victim is not None and event.victim.oom_score_adj not in (None, 0):
        ev.append(event.victim.line_no)
        details.append(
            f"The victim had oom_score_adj {event.victim.oom_score_adj}: "
            "check that this policy is intended."
        )
    return _answer("prevention", summary, details, ev)
