"""Rules about who held the memory: one process, many, the kernel, tmpfs, hugepages, a limit."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from oomlens.analyze import cgroups
from oomlens.analyze import rules_facts as f
from oomlens.model import Finding, OomEvent, Scope
from oomlens.units import human_kb, is_unlimited

if TYPE_CHECKING:
    from oomlens.analyze.rules import Context

LEAK_MIN_SHARE = 0.25  # an outlier below a quarter of RAM/limit cannot explain the OOM alone
FORK_MIN_SAME = 50  # rows with one name, whatever the table size
SLAB_SHARE = 0.30  # unreclaimable slab above this share of RAM is abnormal
SHMEM_SHARE = 0.25
HUGETLB_SHARE = 0.10
AT_LIMIT_PCT = 95  # usage within 5% of the limit counts as "at the limit"
CACHE_GONE = 0.02  # page cache below 2% of RAM: nothing left to reclaim


def memory_leak(event: OomEvent, ctx: Context) -> Finding | None:
    """One process holds most of the memory, mostly anonymous; or its kills keep growing."""
    if f.is_manual(event) or f.fragmented_zones(event, ctx.page_size_kb):
        return None
    for rec in f.series(event, ctx):
        if rec.growing:
            sizes = [v for v in rec.anon_kb if v]
            return Finding(
                rule="memory_leak",
                severity="critical",
                summary=(
                    f"{rec.kind.capitalize()} {rec.key} was killed {rec.count} times in this log "
                    f"and the victim's anonymous memory grew each time, from "
                    f"{human_kb(sizes[0])} to {human_kb(sizes[-1])}: it leaks."
                ),
                evidence=f.lines(*rec.line_nos),
                confidence="high",
                advice=(
                    f"Restarts only reset the leak: find what grows in {rec.key} (a heap "
                    "profiler, or pmap -x PID over time) and cap it meanwhile so it dies alone.",
                ),
            )
    page = ctx.page_size_kb
    out = f.outlier(event, page)
    if out is None:
        return None
    top = out.top
    anon = f.anon_share(event, top)
    if anon is not None and anon < 0.5:
        return None  # file- or shmem-backed: not a heap that grows
    total_kb, label, total_line = f.total(event, page, swap=True)
    if total_kb and out.top_kb < total_kb * LEAK_MIN_SHARE:
        return None
    confidence = "low"
    if event.scope is not Scope.MEMCG and anon is not None and anon >= 0.8 and total_kb:
        confidence = "medium" if out.top_kb * 2 >= total_kb else "low"
    share = ""
    if total_kb:  # resident pages include shared file pages that may be charged elsewhere
        pct = min(f.pct(out.top_kb, total_kb), 100)
        share = f", {pct}% of {label} {human_kb(total_kb)}"
        if out.top_kb > total_kb * 1.05:
            share = f", more than {label} ({human_kb(total_kb)})"
    anon_text = f", {round(anon * 100)}% of it anonymous" if anon is not None else ""
    ratio = out.top_kb / max(out.runner_up_kb, 1)
    victim = event.victim
    return Finding(
        rule="memory_leak",
        severity="warning",
        summary=(
            f"{top.comm} (pid {top.pid}) held {human_kb(out.top_kb)} resident and swapped"
            f"{share}, {ratio:.0f}x the "
            f"next task ({out.runner_up.comm}){anon_text}; one snapshot cannot tell a leak from "
            "a job that needs this much."
        ),
        evidence=f.lines(
            top.line_no,
            out.runner_up.line_no,
            total_line,
            f.field_line(event, "Total swap") if label == "RAM + swap" else None,
            victim.line_no if victim is not None and victim.pid == top.pid else None,
        ),
        confidence=confidence,
        advice=(
            f"Watch {top.comm}'s memory over time (pidstat -r -p PID 60, or the container's "
            "memory graph) to see whether it keeps growing.",
            _cap_advice(event, top.comm, f.ram_kb(event, page) if label != "RAM" else total_kb),
        ),
    )


def fork_bomb(event: OomEvent, ctx: Context) -> Finding | None:
    """Many tasks with one name that together hold much of the memory."""
    if event.tasks is None or not event.tasks.rows:
        return None
    rows = event.tasks.rows
    comm, n = Counter(t.comm for t in rows).most_common(1)[0]
    if n < FORK_MIN_SAME and not (n * 2 > len(rows) and len(rows) >= 20):
        return None
    page = ctx.page_size_kb
    group = [t for t in rows if t.comm == comm]
    tables_kb = sum(f.pgtables_kb(t, page) for t in group)
    # rss counts each task's shared file pages (the interpreter, libraries) again and again:
    # where the table splits rss (6.8+), count what is each task's own (anon + swap)
    own = all(t.rss_anon_pages is not None for t in group)
    group_kb = sum(f.task_own_kb(t, page) if own else f.task_kb(t, page) for t in group)
    group_kb += tables_kb
    total_kb, label, total_line = f.total(event, page)
    if total_kb is None:
        total_kb, label = sum(f.task_kb(t, page) for t in rows), "the task table"
    if group_kb * 4 < total_kb:
        return None
    forking = any(name in f.FORK_FRAMES for name in f.frame_names(event))
    confidence = "high" if n >= 4 * FORK_MIN_SAME or forking else "medium"
    if n < FORK_MIN_SAME:
        confidence = "low"
    during = ", and the failing allocation came from fork()" if forking else ""
    return Finding(
        rule="fork_bomb",
        severity="critical",
        summary=(
            f"{n} of {len(rows)} tasks are {comm}, holding {human_kb(group_kb)} together"
            f"{' of their own (anon, swap, page tables)' if own else ''} "
            f"({f.pct(group_kb, total_kb)}% of {label}, page tables {human_kb(tables_kb)})"
            f"{during}: a fork bomb or a runaway process pool."
        ),
        evidence=f.lines(event.tasks.line_no, *(t.line_no for t in group[:5]), total_line),
        confidence=confidence,
        advice=(
            f"{n} {comm} processes were running: cap the task count below that with TasksMax= "
            "(systemd unit), --pids-limit (Docker/Podman), podPidsLimit (kubelet) or ulimit -u.",
            f"Find who keeps starting {comm}: ps -eo ppid=,comm= | sort | uniq -c | sort -rn.",
        ),
    )


def workload_too_big(event: OomEvent, ctx: Context) -> Finding | None:
    """No outlier, page cache gone, no swap left: the machine is too small for the load."""
    page = ctx.page_size_kb
    if event.scope is not Scope.SYSTEM or f.is_manual(event) or f.fragmented_zones(event, page):
        return None
    ram = f.ram_kb(event, page)
    file_kb = f.counters_kb(event, page, *f.FILE_KEYS)
    anon_kb = f.counters_kb(event, page, *f.ANON_KEYS)
    if ram is None or file_kb is None or anon_kb is None:
        return None
    swap = f.swap_state(event)
    if anon_kb * 2 < ram or file_kb > ram * CACHE_GONE or swap == "free":
        return None
    if f.outlier(event, page) is not None:
        return None  # memory_leak's case
    confidence, note = f.hedge(event, "high" if swap else "medium", ("tasks",))
    top = sorted(event.tasks.rows, key=lambda t: -f.task_kb(t, page))[:3] if event.tasks else []
    who = ", ".join(f"{t.comm} {human_kb(f.task_kb(t, page))}" for t in top)
    swap_text = {
        "none": "there is no swap",
        "full": f"swap is full ({human_kb(event.swap.free_kb if event.swap else None)} free)",
        None: "the log shows no swap figures",
    }[swap]
    stands = f"No single process stands out ({who})" if top else "Anonymous memory fills RAM"
    return Finding(
        rule="workload_too_big",
        severity="warning",
        summary=(
            f"{stands} while page cache is down to {human_kb(file_kb)} "
            f"({f.share(file_kb, ram)} of {human_kb(ram)} RAM) and {swap_text}: the workload "
            f"needs more memory than the machine has{note}."
        ),
        evidence=f.lines(
            f.field_line(event, "active_file"),
            f.field_line(event, "pages RAM"),
            event.swap.line_no if event.swap else None,
            *(t.line_no for t in top),
        ),
        confidence=confidence,
        advice=(
            f"Add RAM or swap (RAM {human_kb(ram)}, swap "
            f"{human_kb(event.swap.total_kb if event.swap else None)}), or run less at once"
            + (f": the biggest were {who}." if who else "."),
            "Give each service a MemoryMax= so one load cannot take the machine down, and run "
            "systemd-oomd or earlyoom to act before the kernel has to.",
        ),
    )


def slab_leak(event: OomEvent, ctx: Context) -> Finding | None:
    """Unreclaimable kernel slab dominates RAM: killing processes cannot free it."""
    page = ctx.page_size_kb
    ram = f.ram_kb(event, page)
    unrec = f.counters_kb(event, page, "slab_unreclaimable")
    old_total = unrec is None  # before 2.6.30 the kernel printed one "slab:" counter
    if old_total:
        unrec = f.counters_kb(event, page, "slab")
    if ram is None or unrec is None or event.meminfo is None:
        return None
    anon = f.counters_kb(event, page, *f.ANON_KEYS) or 0
    if not (unrec > ram * SLAB_SHARE or (unrec > anon and unrec * 10 >= ram)):
        return None
    mi = event.meminfo
    top = max(mi.unreclaimable_slab, key=lambda s: s.used_kb) if mi.unreclaimable_slab else None
    tasks_kb = sum(f.task_kb(t, page) for t in event.tasks.rows) if event.tasks else None
    what = (
        "Kernel slab (reclaimable and not: this kernel prints one figure)"
        if old_total
        else ("Unreclaimable kernel slab")
    )
    more = ", more than all anonymous memory" if unrec > anon else ""
    held = f" while the task table holds only {human_kb(tasks_kb)}" if tasks_kb else ""
    largest = f"; the largest cache is {top.name} at {human_kb(top.used_kb)}" if top else ""
    advice = [
        "Find the growing cache: slabtop -o -s c, or /proc/slabinfo sorted by size"
        + (f" ({top.name} leads here)." if top else "."),
    ]
    if top is not None and top.name.startswith("kmemleak"):
        advice.append(
            "kmemleak_object is kmemleak's own bookkeeping: boot with kmemleak=off or build "
            "without CONFIG_DEBUG_KMEMLEAK on production systems."
        )
    advice.append("Leaked slab comes back only with a kernel/driver fix or a reboot.")
    return Finding(
        rule="slab_leak",
        severity="critical",
        summary=(
            f"{what} holds {human_kb(unrec)} ({f.pct(unrec, ram)}% of {human_kb(ram)} RAM{more})"
            f"{held}: memory that killing processes cannot free{largest}."
        ),
        evidence=f.lines(
            f.field_line(event, "slab" if old_total else "slab_unreclaimable"),
            f.field_line(event, "pages RAM"),
            top.line_no if top else None,
            event.tasks.line_no if event.tasks else None,
        ),
        confidence="medium" if old_total else "high",
        advice=tuple(advice),
    )


def shmem_tmpfs(event: OomEvent, ctx: Context) -> Finding | None:
    """tmpfs / shared memory fills RAM or the cgroup: it stays when its users are killed."""
    page = ctx.page_size_kb
    if event.scope is Scope.MEMCG:
        shmem, stats_line = f.memcg_stat_kb(event, "shmem")
        anon, _ = f.memcg_stat_kb(event, "anon", "rss")
        limit, counter = f.memcg_limit(event)
        whole, label = limit, "the cgroup limit"
        where = stats_line
    else:
        shmem = f.counters_kb(event, page, "shmem")
        anon = (f.counters_kb(event, page, *f.ANON_KEYS) or 0) - (shmem or 0)
        whole, label, counter = f.ram_kb(event, page), "RAM", None
        where = event.meminfo.line_no if event.meminfo else None
    if shmem is None or not whole:
        return None
    if not (shmem >= whole * SHMEM_SHARE or (shmem * 10 >= whole and shmem > (anon or 0))):
        return None
    v = event.victim
    mapped = (
        f" and the victim {v.comm} mapped {human_kb(v.shmem_rss_kb)} of it"
        if v is not None and v.shmem_rss_kb is not None
        else ""
    )
    path = event.memcg_path
    stays = f"stays charged to {path}" if path and event.scope is Scope.MEMCG else "stays"
    return Finding(
        rule="shmem_tmpfs",
        severity="critical",
        summary=(
            f"shmem/tmpfs holds {human_kb(shmem)} ({f.pct(shmem, whole)}% of {label} "
            f"{human_kb(whole)}){mapped}: killing processes does not free it, it {stays} until "
            "the files or segments are removed."
        ),
        evidence=f.lines(
            f.field_line(event, "shmem", start=where),
            counter.line_no if counter else f.field_line(event, "pages RAM"),
            v.line_no if v is not None else None,
        ),
        confidence="high",
        advice=_shmem_advice(event, whole),
    )


def hugetlb_reserved(event: OomEvent, ctx: Context) -> Finding | None:
    """HugeTLB pools take a large share of RAM that ordinary allocations cannot use."""
    mi = event.meminfo
    page = ctx.page_size_kb
    ram = f.ram_kb(event, page)
    if mi is None or not mi.hugepages or ram is None:
        return None
    reserved = sum(h.total * h.size_kb for h in mi.hugepages)
    free = sum(h.free * h.size_kb for h in mi.hugepages)
    anon = f.counters_kb(event, page, *f.ANON_KEYS) or 0
    if not reserved or (reserved < ram * HUGETLB_SHARE and reserved < anon):
        return None
    pools: dict[int, int] = {}
    for h in mi.hugepages:
        pools[h.size_kb] = pools.get(h.size_kb, 0) + h.total
    shape = " + ".join(f"{n} x {human_kb(size)}" for size, n in sorted(pools.items()) if n)
    unused = free * 10 >= ram
    return Finding(
        rule="hugetlb_reserved",
        severity="critical" if unused else "warning",
        summary=(
            f"HugeTLB pools reserve {human_kb(reserved)} ({shape}, {f.pct(reserved, ram)}% of "
            f"{human_kb(ram)} RAM), {f'{human_kb(free)} of it' if free else 'none of it'} free: "
            "ordinary allocations cannot use these pages."
        ),
        evidence=f.lines(
            *(h.line_no for h in mi.hugepages if h.total), f.field_line(event, "pages RAM")
        ),
        confidence="high",
        advice=(
            "Shrink the pools to what the application maps: "
            + "; ".join(_pool_knob(size, n) for size, n in sorted(pools.items()) if n)
            + ".",
        ),
    )


def memcg_limit_too_small(event: OomEvent, ctx: Context) -> Finding | None:
    """A cgroup OOM: usage at the limit, often again and again."""
    if event.scope is not Scope.MEMCG:
        return None
    path = event.memcg_path or (event.memcg.task_memcg if event.memcg else None)
    attr = cgroups.attribute(path) if path else None
    limit, counter = f.memcg_limit(event)
    repeats = max((r.count for r in f.series(event, ctx) if r.kind == "cgroup"), default=1)
    if counter is None:
        confidence, note = "low", " (evidence is thin: the log lacks the memory: usage line)"
    else:
        confidence, note = ("high" if repeats >= 2 else "medium"), ""
    name = attr.name if attr is not None and attr.kind != "cgroup" else (path or "the cgroup")
    figures = ""
    if counter is not None and limit is not None:
        fails = f", failcnt {counter.failcnt}" if counter.failcnt is not None else ""
        figures = f" of {human_kb(limit)} (usage {human_kb(counter.usage_kb)}{fails})"
    anon, _ = f.memcg_stat_kb(event, "anon", "rss")
    filled = f", {human_kb(anon)} of it anonymous" if anon and limit else ""
    # v1 memory+swap / kmem, v2 swap: a second counter may be the one that ran out
    full = [
        c
        for c in (event.memcg.counters if event.memcg else ())
        if c.name != "memory" and c.limit_kb > 0 and not is_unlimited(c.limit_kb)
        if c.usage_kb * 100 >= c.limit_kb * AT_LIMIT_PCT
    ]
    at_limit = bool(counter and limit and counter.usage_kb * 100 >= limit * AT_LIMIT_PCT)
    if counter is not None and not at_limit:
        confidence = f.lower(confidence)
    also = "".join(
        f"; {c.name} is at its {human_kb(c.limit_kb)} limit{' too' if at_limit else ''}"
        for c in full
    )
    again = f"; it ran out {repeats} times in this log" if repeats >= 2 else ""
    advice = [cgroups.advice(attr, limit)]
    if any(c.name in ("memory+swap", "swap") for c in full):
        advice.append(
            "Swap is capped as well: raise memory+swap with it (Docker --memory-swap, cgroup v1 "
            "memory.memsw.limit_in_bytes, v2 memory.swap.max)."
        )
    return Finding(
        rule="memcg_limit_too_small",
        severity="critical" if repeats >= 3 else "warning",
        summary=f"{name} hit its memory limit{figures}{filled}{also}{again}{note}.",
        evidence=f.lines(
            counter.line_no if counter else None,
            event.memcg.stats[0].line_no if event.memcg and event.memcg.stats else None,
            event.summary.line_no if event.summary else None,
            event.memcg.line_no if event.memcg else None,
            event.selection.line_no if event.selection else None,
            event.victim.line_no if event.victim and counter is None else None,
        ),
        confidence=confidence,
        advice=tuple(advice),
    )


def _cap_advice(event: OomEvent, comm: str, total_kb: int | None) -> str:
    if event.scope is Scope.MEMCG:
        attr = cgroups.attribute(event.memcg_path or "")
        where = attr.name if attr is not None else "the cgroup"
        return f"A leak in {comm} will hit any limit of {where}; a bigger limit only buys time."
    ram = f" below the {human_kb(total_kb)} of RAM" if total_kb else ""
    return (
        f"Cap {comm}{ram} so a leak kills only it: MemoryMax= on its systemd unit, "
        "or docker --memory."
    )


def _shmem_advice(event: OomEvent, whole: int) -> tuple[str, ...]:
    if event.scope is not Scope.MEMCG:
        return (
            "Find what fills it: df -h -t tmpfs, du -xsh /dev/shm /run /tmp, and ipcs -m for "
            "SysV segments; delete stale files.",
            f"Cap tmpfs mounts with size= (tmpfs defaults to half of RAM, {human_kb(whole // 2)} "
            "here), e.g. mount -o remount,size=<size> /dev/shm.",
        )
    attr = cgroups.attribute(event.memcg_path or "")
    kind = attr.kind if attr is not None else "cgroup"
    if kind.startswith("kubernetes"):
        cap = "a memory-backed emptyDir counts against the limit: give it a sizeLimit"
    elif kind in ("docker", "podman"):
        cap = "cap /dev/shm with --shm-size"
    else:
        cap = "cap the tmpfs mount with size="
    return (
        f"Files the cgroup wrote to tmpfs stay charged to it after the writer dies: remove "
        f"them, {cap}, or raise the limit above {human_kb(whole)}.",
    )


def _pool_knob(size_kb: int, count: int) -> str:
    if size_kb == 2048:
        return f"vm.nr_hugepages (2 MiB pages, {count} now)"
    unit = next((u for u, k in (("G", 1 << 20), ("M", 1 << 10)) if size_kb % k == 0), "K")
    size = size_kb // {"G": 1 << 20, "M": 1 << 10, "K": 1}[unit]
    return (
        f"hugepagesz={size}{unit} hugepages=<n> on the kernel command line, or "
        f"/sys/kernel/mm/hugepages/hugepages-{size_kb}kB/nr_hugepages ({count} now)"
    )
