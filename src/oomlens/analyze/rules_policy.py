"""Rules about what was decided: by the admin (SysRq, sysctls, oom_score_adj), by the kernel
(group kills, the reaper), and what keeps happening across the events of one input."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oomlens.analyze import cgroups
from oomlens.analyze import rules_facts as f
from oomlens.analyze.history import Recurrence, seconds_between
from oomlens.model import Finding, OomEvent, Scope, Task
from oomlens.units import human_kb, human_seconds

if TYPE_CHECKING:
    from oomlens.analyze.rules import Context

LOOP_MIN_KILLS = 3
QUICK_S = 60.0  # a second kill within a minute: the first one did not help
EXEMPT_ROW_SHARE = 0.25  # -1000 rows worth a finding: a quarter of the table...
EXEMPT_MEMORY_SHARE = 0.25  # ...or a quarter of its memory


def manual_oom(event: OomEvent, ctx: Context) -> Finding | None:
    """SysRq-f or /proc/sysrq-trigger: someone asked for a kill; memory may have been fine."""
    if not f.is_manual(event):
        return None
    page = ctx.page_size_kb
    free, ram = f.counters_kb(event, page, "free"), f.ram_kb(event, page)
    if free is not None and ram:
        if free * 20 >= ram:
            state = (
                f"{human_kb(free)} of {human_kb(ram)} RAM ({f.pct(free, ram)}%) was free, so "
                "memory was not exhausted"
            )
        else:
            state = f"memory was low as well ({human_kb(free)} free of {human_kb(ram)})"
    else:
        state = "the log does not show how much memory was free"
    v = event.victim
    killed = f"; {v.comm} (pid {v.pid}) was killed because a kill was requested" if v else ""
    meminfo_line = event.meminfo.line_no if event.meminfo else None
    return Finding(
        rule="manual_oom",
        severity="info",
        summary=f"Manual OOM (SysRq-f, order=-1): {state}{killed}.",
        evidence=f.lines(
            event.trigger.line_no if event.trigger else None,
            f.text_line(event, "moom_callback"),
            f.text_line(event, "Manual OOM execution"),
            f.field_line(event, "free", start=meminfo_line) if meminfo_line else None,
            v.line_no if v else None,
        ),
        confidence="high",
        advice=(
            "Find who asked: SysRq-f from a keyboard or serial console (allowed by bit 64 of "
            "kernel.sysrq) or 'echo f > /proc/sysrq-trigger' by root (always allowed).",
        ),
    )


def panic_on_oom(event: OomEvent, ctx: Context) -> Finding | None:
    """vm.panic_on_oom made the kernel panic instead of killing a process."""
    text = event.panic
    if not text or "panic_on_oom" not in text:
        return None
    value = "2" if "compulsory" in text else "1"
    return Finding(
        rule="panic_on_oom",
        severity="critical",
        summary=(
            f"The kernel panicked instead of killing a process: vm.panic_on_oom is {value} "
            f"(Kernel panic - not syncing: {text})."
        ),
        evidence=f.lines(event.panic_line_no, event.trigger.line_no if event.trigger else None),
        confidence="high",
        advice=(
            "Set vm.panic_on_oom=0 (sysctl -w vm.panic_on_oom=0, and in /etc/sysctl.d/) so the "
            "OOM killer picks a victim instead.",
            "If the panic is intended (to fail over), set kernel.panic=10 so the machine reboots "
            "by itself, and keep kdump to save the evidence.",
        ),
    )


def oom_group(event: OomEvent, ctx: Context) -> Finding | None:
    """memory.oom.group: the whole cgroup was killed, not one process."""
    if not event.oom_group:
        return None
    kills = [k for k in (event.victim, *event.also_killed) if k is not None]
    pids = sorted({k.pid for k in kills})
    names = ", ".join(sorted({f"{k.comm} {k.pid}" for k in kills}))
    attr = cgroups.attribute(event.oom_group)
    if attr is not None and attr.kind.startswith("kubernetes"):
        knob = (
            "Kubernetes (1.28+ on cgroup v2) sets memory.oom.group=1 on every container; set "
            "the kubelet's singleProcessOOMKill: true (1.32+) to kill one process only."
        )
    elif attr is not None and attr.unit is not None:
        knob = (
            f"systemd sets memory.oom.group with OOMPolicy=kill: use OOMPolicy=continue on "
            f"{attr.unit} if one process may die alone."
        )
    else:
        knob = (
            f"echo 0 > /sys/fs/cgroup{event.oom_group}/memory.oom.group to kill one process only."
        )
    return Finding(
        rule="oom_group",
        severity="info",
        summary=(
            f"memory.oom.group is set on {event.oom_group}: the kernel killed the whole group "
            f"({len(pids)} process{'es' if len(pids) != 1 else ''}: {names}) instead of one task."
        ),
        evidence=f.lines(f.text_line(event, "memory.oom.group"), *(k.line_no for k in kills)),
        confidence="high",
        advice=(knob,),
    )


def protection_audit(event: OomEvent, ctx: Context) -> Finding | None:
    """oom_score_adj policy shaped the outcome: -1000 exemptions, a +1000 volunteer."""
    page = ctx.page_size_kb
    rows = event.tasks.rows if event.tasks else ()
    exempt = [t for t in rows if t.oom_score_adj == -1000]
    table_kb = sum(f.task_kb(t, page) for t in rows)
    exempt_kb = sum(f.task_kb(t, page) for t in exempt)
    no_kill = event.no_killable or bool(event.panic and "no killable" in event.panic)
    many = len(exempt) >= 2 and (
        len(exempt) >= len(rows) * EXEMPT_ROW_SHARE or exempt_kb >= table_kb * EXEMPT_MEMORY_SHARE
    )
    volunteer = _volunteer(event)
    if not (no_kill or many or volunteer):
        return None
    parts, advice, severity = [], [], "info"
    if no_kill:
        severity = "critical"
        empty = sum(1 for t in rows if t.oom_score_adj != -1000 and not t.rss_pages)
        why = (
            f" ({len(exempt)} exempt, {empty} with no memory to free)" if rows and not many else ""
        )
        parts.append(f"the kernel found no killable process{why} and panicked")
    big_exempt = sorted(exempt, key=lambda t: -f.task_kb(t, page))[:5]
    if many:
        parts.append(
            f"{len(exempt)} of {len(rows)} tasks are exempt with oom_score_adj -1000 "
            f"({', '.join(t.comm for t in big_exempt[:3])}; {human_kb(exempt_kb)} together)"
        )
        if exempt_kb * 4 >= table_kb:
            severity = "critical" if no_kill else "warning"
        advice.append(
            "Keep -1000 for what must survive (sshd, systemd-udevd); give big processes -900 "
            "instead so they stay killable as a last resort (OOMScoreAdjust= in the unit, or "
            "choom -p PID -n -900)."
        )
    if volunteer is not None:
        comm, pid, bigger = volunteer
        spared = ""
        if bigger is not None:
            spared = (
                f", although {bigger.comm} (pid {bigger.pid}) held "
                f"{human_kb(f.task_kb(bigger, page))}"
            )
            severity = "warning" if severity == "info" else severity
        parts.append(
            f"{comm} (pid {pid}) was killed first because its oom_score_adj is 1000{spared}"
        )
        advice.append(
            f"oom_score_adj 1000 makes {comm} the first victim: check that this is intended "
            "(Kubernetes gives BestEffort pods 1000; reset with OOMScoreAdjust= or choom -n 0)."
        )
    confidence, note = f.hedge(event, "high", ("tasks",) if no_kill else ())
    text = "; ".join(parts)
    return Finding(
        rule="protection_audit",
        severity=severity,
        summary=f"oom_score_adj shaped this OOM: {text}{note}.",
        evidence=f.lines(
            event.panic_line_no if no_kill else None,
            *(t.line_no for t in (big_exempt if many or no_kill else ())),
            event.victim.line_no if volunteer and event.victim else None,
            volunteer[2].line_no if volunteer and volunteer[2] else None,
            event.tasks.line_no if event.tasks and (many or no_kill) else None,
        ),
        confidence=confidence,
        advice=tuple(advice)
        or ("Find why no task could be killed: every task was exempt or held no memory.",),
    )


def oom_loop(event: OomEvent, ctx: Context) -> Finding | None:
    """The same cgroup or process killed again and again in one input."""
    rec = _loop(event, ctx)
    if rec is None:
        return None
    n, k = rec.count, rec.indexes.index(f.position(event, ctx)[1]) + 1
    mean = rec.mean_interval_s
    if n == 2:
        times = "twice in this log" + (f", {human_seconds(mean)} apart" if mean is not None else "")
    else:
        times = f"{n} times in this log" + (
            f", every {human_seconds(mean)} on average" if mean is not None else ""
        )
    quick = mean is not None and mean < QUICK_S
    what = f"cgroup {rec.key}" if rec.kind == "cgroup" else f"process {rec.key}"
    if rec.kind == "cgroup":
        limit, _ = f.memcg_limit(event)
        fix = cgroups.advice(cgroups.attribute(rec.key), limit)
    else:
        fix = f"Fix {rec.key}'s memory use or give it more room before it restarts again."
    return Finding(
        rule="oom_loop",
        severity="critical" if n >= 5 or quick else "warning",
        summary=f"The {what} ran out of memory {times}; this is number {k}.",
        evidence=f.lines(*rec.line_nos),
        confidence="high" if n >= LOOP_MIN_KILLS and mean is not None else "medium",
        advice=(
            fix,
            "A restart policy (Kubernetes restartPolicy, systemd Restart=) brings it back into "
            "the same shortage: each kill loses its work.",
        ),
    )


def victim_not_freed(event: OomEvent, ctx: Context) -> Finding | None:
    """The kill did not give memory back: reaper failed, or shmem stayed for the next OOM."""
    failed = [r for r in event.reaped if not r.success]
    if failed:
        r = failed[0]
        return Finding(
            rule="victim_not_freed",
            severity="critical",
            summary=(
                f"oom_reaper could not reap {r.comm} (pid {r.pid}): its memory stays until the "
                "task exits by itself (often stuck in D state or on a lock)."
            ),
            evidence=f.lines(r.line_no, event.victim.line_no if event.victim else None),
            confidence="high",
            advice=(
                "Look for what blocks the victim: cat /proc/PID/stack and the hung-task warnings "
                "in the log (NFS, FUSE or a stuck block device are usual suspects).",
            ),
        )
    v = event.victim
    reap = next((r for r in event.reaped if v is not None and r.pid == v.pid), None)
    left = reap.anon_rss_kb if reap is not None else None
    if reap and v is not None and v.anon_rss_kb and left and left * 2 >= v.anon_rss_kb:
        return Finding(
            rule="victim_not_freed",
            severity="warning",
            summary=(
                f"After the kill {reap.comm} still held {human_kb(left)} of its "
                f"{human_kb(v.anon_rss_kb)} anonymous memory when oom_reaper was done."
            ),
            evidence=f.lines(v.line_no, reap.line_no),
            confidence="medium",
            advice=("Check whether the victim's memory is pinned (mlock, RDMA, vfio).",),
        )
    return _shmem_stayed(event, ctx)


def _shmem_stayed(event: OomEvent, ctx: Context) -> Finding | None:
    after = f.next_event(event, ctx)
    if after is None or event.victim is None:
        return None
    gap = seconds_between(event, after)
    if gap is None or gap > QUICK_S:
        return None
    same = event.memcg_path == after.memcg_path and event.scope is after.scope
    before_kb, whole = _shmem(event, ctx.page_size_kb)
    after_kb, _ = _shmem(after, ctx.page_size_kb)
    if not same or not before_kb or not after_kb or not whole:
        return None
    if before_kb * 2 < whole or after_kb < before_kb * 0.9:
        return None
    v = event.victim
    freed = (v.anon_rss_kb or 0) + (v.file_rss_kb or 0) + (v.shmem_rss_kb or 0)
    where = after.memcg_path or "the system"
    return Finding(
        rule="victim_not_freed",
        severity="critical",
        summary=(
            f"Killing {v.comm} freed at most {human_kb(freed)}: "
            f"{human_seconds(gap)} later {where} ran "
            f"out again with {human_kb(after_kb)} of shmem still held (it was "
            f"{human_kb(before_kb)})."
        ),
        evidence=f.lines(
            v.line_no,
            f.field_line(event, "shmem", start=event.first_line),
            after.victim.line_no if after.victim else after.first_line,
            f.field_line(after, "shmem", start=after.first_line),
        ),
        confidence="high",
        advice=(
            "The memory is in tmpfs or shared memory, which outlives its processes: remove the "
            "files (or segments) instead of killing, or cap the tmpfs with size=.",
        ),
    )


def _volunteer(event: OomEvent) -> tuple[str, int, Task | None] | None:
    """(victim name, pid, a bigger task spared or None) when the victim had adj 1000."""
    v = event.victim
    if v is None:
        return None
    row = next((t for t in event.tasks.rows if t.pid == v.pid), None) if event.tasks else None
    adj = v.oom_score_adj if v.oom_score_adj is not None else (row.oom_score_adj if row else None)
    if adj != 1000:
        return None
    bigger: Task | None = None
    if event.tasks is not None and row is not None:
        ranked = sorted(event.tasks.rows, key=lambda t: -((t.rss_pages or 0) + (t.swapents or 0)))
        top = ranked[0]
        size = (row.rss_pages or 0) + (row.swapents or 0)
        if top.pid != row.pid and (top.rss_pages or 0) + (top.swapents or 0) > size:
            bigger = top
    return v.comm, v.pid, bigger


def _loop(event: OomEvent, ctx: Context) -> Recurrence | None:
    for rec in f.series(event, ctx):  # cgroups first
        mean = rec.mean_interval_s
        if rec.count >= LOOP_MIN_KILLS or (mean is not None and mean < QUICK_S):
            return rec
    return None


def _shmem(event: OomEvent, page_kb: int) -> tuple[int | None, int | None]:
    if event.scope is Scope.MEMCG:
        kb, _ = f.memcg_stat_kb(event, "shmem")
        limit, counter = f.memcg_limit(event)
        return kb, counter.usage_kb if counter else limit
    return f.counters_kb(event, page_kb, "shmem"), f.ram_kb(event, page_kb)
