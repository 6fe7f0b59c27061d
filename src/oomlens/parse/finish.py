"""Freeze an `EventBuilder` into an `OomEvent`: scope, victim cgroup, what is missing."""

from __future__ import annotations

import dataclasses

from oomlens.model import (
    Kill,
    Memcg,
    MemInfo,
    OomEvent,
    Scope,
    Stack,
    Swap,
    TaskTable,
    Trigger,
)
from oomlens.parse.builder import EventBuilder

CONSTRAINTS = {
    "CONSTRAINT_NONE": Scope.SYSTEM,
    "CONSTRAINT_MEMCG": Scope.MEMCG,
    "CONSTRAINT_CPUSET": Scope.CPUSET,
    "CONSTRAINT_MEMORY_POLICY": Scope.MEMPOLICY,
}


# Functions that call out_of_memory() for a global (not memcg) OOM.
GLOBAL_OOM_CALLERS = ("__alloc_pages", "pagefault_out_of_memory", "__get_free_pages")


def build_event(b: EventBuilder) -> OomEvent:
    """Everything `b` collected, as a frozen event."""
    stack = _stack(b)
    trigger = b.trigger
    same_task = stack is not None and (
        trigger is None or trigger.comm is None or stack.comm in (None, trigger.comm)
    )
    if trigger is not None and stack is not None and stack.pid is not None and same_task:
        trigger = dataclasses.replace(trigger, pid=stack.pid)
    if trigger is None and b.panic_task is not None:
        pid, comm, line_no = b.panic_task
        trigger = Trigger(
            line_no=line_no,
            comm=comm,
            pid=pid,
            gfp_mask=None,
            gfp_flags=None,
            order=None,
            oom_score_adj=None,
        )
    manual = b.manual or (trigger is not None and trigger.order == -1)
    meminfo = _meminfo(b)
    memcg = _memcg(b)
    victim = b.victim
    summary = b.summary
    if victim is None and summary is not None and summary.pid is not None:
        # 5.0+: the oom-kill: line names the task chosen to die; its kill line was cut away
        victim = Kill(
            line_no=summary.line_no,
            prefix=None,
            pid=summary.pid,
            comm=summary.task or "?",
            uid=summary.uid,
        )
    if victim is not None:
        victim = _victim_memcg(victim, b)
    swap = None
    if b.swap_total is not None or b.swap_free is not None:
        swap = Swap(line_no=b.swap_line or 0, total_kb=b.swap_total, free_kb=b.swap_free)
    tasks = None
    if b.task_columns is not None or b.tasks:
        tasks = TaskTable(
            line_no=b.tasks_line or (b.tasks[0].line_no if b.tasks else 0),
            columns=b.task_columns or (),
            rows=tuple(b.tasks),
        )
    scope = _scope(b, trigger, memcg, manual)
    missing = _missing(b, trigger, stack, meminfo, memcg, tasks, scope)
    first = b.lines[0]
    dated = next((ln for ln in b.lines if ln.wall), None)
    wall = dated.wall if dated is not None else None
    uptime = next((ln.uptime_s for ln in b.lines if ln.uptime_s is not None), None)
    return OomEvent(
        source=b.source,
        host=first.host,
        time=wall,
        time_year_guessed=dated is not None and dated.wall_year_guessed,
        uptime_s=uptime,
        boot_id=first.boot_id,
        kernel=stack.kernel if stack is not None else None,
        first_line=first.line_no,
        last_line=b.lines[-1].line_no,
        complete=not missing,
        missing=missing,
        scope=scope,
        trigger=trigger,
        stack=stack,
        meminfo=meminfo,
        swap=swap,
        memcg=memcg,
        tasks=tasks,
        summary=summary,
        selection=b.selection,
        victim=victim,
        also_killed=tuple(_victim_memcg(k, b) for k in b.also_killed),
        reaped=tuple(b.reaped),
        oom_group=b.oom_group,
        kill_prefix=_kill_prefix(b),
        panic=b.panic,
        panic_line_no=b.panic_line,
        no_killable=b.no_killable,
        exiting_pid=b.exiting_pid,
        manual=manual,
        suppressed=b.suppressed,
        headerless=b.headerless,
        victim_source=None
        if victim is None
        else ("kill line" if b.victim is not None else "oom-kill line"),
        lines=tuple(b.lines),
        unparsed=tuple(b.unparsed),
    )


def _stack(b: EventBuilder) -> Stack | None:
    st = b.stack
    if not st and not b.frames:
        return None

    def get_int(key: str) -> int | None:
        v = st.get(key)
        return v if isinstance(v, int) else None

    def get_str(key: str) -> str | None:
        v = st.get(key)
        return v if isinstance(v, str) else None

    return Stack(
        line_no=get_int("line_no"),
        cpu=get_int("cpu"),
        pid=get_int("pid"),
        uid=get_int("uid"),
        comm=get_str("comm"),
        tainted=get_str("tainted"),
        kernel=get_str("kernel"),
        hardware=get_str("hardware"),
        workqueue=get_str("workqueue"),
        frames=tuple(b.frames),
        raw=tuple(b.raw),
    )


def _meminfo(b: EventBuilder) -> MemInfo | None:
    if not (b.meminfo_line or b.counters or b.zones or b.nodes or b.totals or b.pagecache):
        return None  # (the tail alone, "N pages RAM", still counts: fragments keep it)
    line_no = b.meminfo_line
    if line_no is None:
        firsts = [ln.line_no for ln in b.lines if ln.text and ln.text[0].isdigit()]
        firsts += [z.line_no for z in b.zones] + [n.line_no for n in b.nodes]
        line_no = min(firsts) if firsts else 0
    return MemInfo(
        line_no=line_no,
        counters_pages=dict(b.counters),
        nodes=tuple(b.nodes),
        zones=tuple(b.zones),
        hugepages=tuple(b.hugepages),
        pagecache_pages=b.pagecache,
        swapcache_pages=b.swapcache,
        totals_pages=dict(b.totals),
        unreclaimable_slab=tuple(b.slab),
    )


def _memcg(b: EventBuilder) -> Memcg | None:
    oom = b.oom_memcg
    task = b.task_memcg
    if b.summary is not None:
        oom = b.summary.oom_memcg or oom
        task = b.summary.task_memcg or task
    if oom is None and b.stats and (b.memcg_counters or _memcg_kill(b)):
        oom = b.stats[0].path  # the first stats block is the OOMing cgroup's own
    if b.memcg_line is None and oom is None and task is None:
        return None
    if b.summary is not None and b.summary.global_oom and not b.memcg_counters:
        # a global OOM's oom-kill line names only the victim's cgroup
        return Memcg(line_no=None, task_memcg=task, oom_memcg=None)
    return Memcg(
        line_no=b.memcg_line,
        task_memcg=task,
        oom_memcg=oom,
        counters=tuple(b.memcg_counters),
        stats=tuple(b.stats),
    )


def _memcg_kill(b: EventBuilder) -> bool:
    prefix = _kill_prefix(b) or ""
    return prefix.startswith("Memory cgroup")


def _kill_prefix(b: EventBuilder) -> str | None:
    if b.selection is not None:
        return b.selection.prefix
    if b.victim is not None:
        return b.victim.prefix
    return b.exiting_prefix


def _victim_memcg(k: Kill, b: EventBuilder) -> Kill:
    memcg = None
    if b.summary is not None and b.summary.pid == k.pid:
        memcg = b.summary.task_memcg
    elif b.task_memcg is not None and b.victim is not None and k.pid == b.victim.pid:
        memcg = b.task_memcg
    elif b.oom_group is not None and k is not b.victim:
        memcg = b.oom_group
    return dataclasses.replace(k, memcg=memcg) if memcg else k


def _scope(
    b: EventBuilder, trigger: Trigger | None, memcg: Memcg | None, manual: bool
) -> Scope | None:
    if b.summary is not None and b.summary.constraint in CONSTRAINTS:
        scope = CONSTRAINTS[b.summary.constraint]
        return Scope.MANUAL if manual and scope is Scope.SYSTEM else scope
    if manual:
        return Scope.MANUAL
    prefix = (_kill_prefix(b) or "").lower()
    if prefix.startswith("memory cgroup") or (memcg is not None and memcg.oom_memcg):
        return Scope.MEMCG
    if b.memcg_counters or any("mem_cgroup_out_of_memory" in f for f in b.frames):
        return Scope.MEMCG
    if "mpol_bind" in prefix:
        return Scope.MEMPOLICY
    if prefix.startswith("out of memory") or b.counters or b.zones:
        return Scope.SYSTEM
    if any(f.lstrip("? ").startswith(GLOBAL_OOM_CALLERS) for f in b.frames):
        return Scope.SYSTEM  # out_of_memory() reached from the page allocator, not a memcg
    if b.panic is not None and "out of memory" in b.panic.lower():
        return Scope.SYSTEM
    return None


def _missing(
    b: EventBuilder,
    trigger: Trigger | None,
    stack: Stack | None,
    meminfo: MemInfo | None,
    memcg: Memcg | None,
    tasks: TaskTable | None,
    scope: Scope | None,
) -> tuple[str, ...]:
    missing = []
    if trigger is None:
        missing.append("header")
    if stack is None or not stack.frames:
        missing.append("stack")
    if scope is Scope.MEMCG:
        if memcg is None or not memcg.counters:
            missing.append("memcg")
    elif meminfo is None or not meminfo.counters_pages:
        missing.append("meminfo")
    # dump_tasks() is on by default from 2.6.36 (oom_score_adj era); older reports have none
    old = trigger is not None and trigger.oom_score_adj is None
    if (tasks is None or not tasks.rows) and not old:
        missing.append("tasks")
    if b.victim is None and b.panic is None and not b.no_killable and b.exiting_pid is None:
        missing.append("kill")  # (a victim named only by the oom-kill: line still lacks it)
    return tuple(missing)
