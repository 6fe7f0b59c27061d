"""Who the OOM killer would kill now, from a /proc snapshot; oom_score_adj settings to check.

The ranking replays the kernel's `oom_badness()` as of 5.9 ("mm, oom: make the calculation of
oom badness more accurate"): points = rss + swapents + pgtables_bytes / PAGE_SIZE, plus
oom_score_adj * (totalpages / 1000); -1000 is never chosen. `/proc/PID/oom_score` prints
`(1000 + points * 1000 / totalpages) * 2 / 3` of the same value with totalpages = RAM + swap.
Memory cgroups with a limit rank their own processes against the limit plus the swap they may
use (mem_cgroup_get_max()). Nothing here reads a file: `live.proc` builds the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oomlens.analyze.scoring_eras import UNCLAMPED, badness
from oomlens.model import Task

if TYPE_CHECKING:
    from oomlens.live.proc import MemcgLimit, MemoryTotals, Process, Snapshot

OOM_SCORE_ADJ_MIN = -1000
OOM_SCORE_ADJ_MAX = 1000
# Daemons whose packaging makes them immune on purpose: the machine must stay reachable
# (sshd's unit sets OOMScoreAdjust=-1000), devices must keep appearing, and the userspace
# OOM killers must survive the memory pressure they act on.
EXPECTED_IMMUNE = frozenset(
    {"sshd", "systemd-udevd", "udevd", "auditd", "dmeventd", "multipathd", "iscsid"}
    | {"systemd-oomd", "earlyoom", "nohang", "oomd"}
)
BIG_IMMUNE_KB = 256 * 1024  # an immune process this large is worth a warning


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """Who the OOM killer would pick now in one scope, and the runner-up."""

    scope: str  # "system" or a memory cgroup path
    totalpages: int
    victim: Process | None  # None: nothing eligible
    badness_pages: int | None
    runner_up: Process | None = None
    runner_up_pages: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditItem:
    """An oom_score_adj setting worth a look."""

    rule: str  # "immune", "immune_inherited", "volunteer"
    severity: str  # "warning", "info"
    pid: int
    comm: str
    oom_score_adj: int
    summary: str


def kb_to_pages(kb: int, page_size: int) -> int:
    """kB → pages of `page_size` bytes."""
    return kb * 1024 // page_size


def oom_badness(p: Process, totalpages: int, page_size: int) -> int | None:
    """The kernel's oom_badness() (5.9+) in pages; None when it would never be chosen.

    Init and kernel threads are unkillable (oom_unkillable_task()); a process without an mm
    (zombie, exiting) is skipped by find_lock_task_mm(); -1000 means never.
    """
    if p.pid == 1 or p.kernel_thread or p.rss_anon_kb is None or p.oom_score_adj is None:
        return None
    # the arithmetic is the replay's own (analyze.scoring_eras), fed a task-table-like row
    row = Task(
        line_no=0,
        pid=p.pid,
        uid=p.uid,
        tgid=p.pid,
        total_vm_pages=None,
        rss_pages=kb_to_pages(p.rss_kb or 0, page_size),
        swapents=kb_to_pages(p.swap_kb or 0, page_size),
        pgtables_bytes=(p.pgtables_kb or 0) * 1024,
        oom_score_adj=p.oom_score_adj,
        comm=p.comm,
    )
    return badness(row, era=UNCLAMPED, totalpages=totalpages, page_size_kb=page_size // 1024)


def oom_score(badness_pages: int | None, totalpages: int) -> int:
    """What /proc/PID/oom_score prints for a badness (5.9+): 0..2000, 0 for "never"."""
    if badness_pages is None or totalpages <= 0:
        return 0
    per_mille = abs(badness_pages) * 1000 // totalpages  # C division truncates toward zero
    scaled = 1000 + (per_mille if badness_pages >= 0 else -per_mille)
    return max(scaled * 2 // 3, 0)


def in_memcg(p: Process, path: str) -> bool:
    """True when `p` is in memory cgroup `path` or below it (limits are hierarchical)."""
    if p.memcg is None:
        return False
    return path == "/" or p.memcg == path or p.memcg.startswith(path.rstrip("/") + "/")


def memcg_totalpages(m: MemcgLimit, totals: MemoryTotals) -> int:
    """mem_cgroup_get_max(): the limit plus the swap it may use, at most all swap."""
    swap_pages = kb_to_pages(totals.swap_total_kb, totals.page_size)
    extra = (
        swap_pages if m.swap_bytes is None else min(m.swap_bytes // totals.page_size, swap_pages)
    )
    return m.limit_bytes // totals.page_size + extra


def rank(
    processes: Iterable[Process], totalpages: int, page_size: int
) -> list[tuple[int, Process]]:
    """Eligible processes with their badness, the kernel's choice first.

    select_bad_process() keeps the last of equal scores (`points < chosen` skips), and it
    walks tasks in creation order, which pid order approximates.
    """
    scored = []
    for p in processes:
        points = oom_badness(p, totalpages, page_size)
        if points is not None:
            scored.append((points, p))
    return sorted(scored, key=lambda s: (-s[0], -s[1].pid))


def choose(snapshot: Snapshot, memcg: str | None = None) -> Choice:
    """The next victim system-wide (`memcg=None`) or when memory cgroup `memcg` hits its limit."""
    totals = snapshot.totals
    procs: Iterable[Process] = snapshot.processes
    total = totals.totalpages
    scope = "system"
    if memcg is not None:
        scope = memcg
        procs = [p for p in snapshot.processes if in_memcg(p, memcg)]
        limit = next((m for m in snapshot.memcgs if m.path == memcg), None)
        if limit is not None:
            total = memcg_totalpages(limit, totals)
    ranked = rank(procs, total, totals.page_size)
    first = ranked[0] if ranked else None
    second = ranked[1] if len(ranked) > 1 else None
    return Choice(
        scope=scope,
        totalpages=total,
        victim=first[1] if first else None,
        badness_pages=first[0] if first else None,
        runner_up=second[1] if second else None,
        runner_up_pages=second[0] if second else None,
    )


def audit(snapshot: Snapshot) -> list[AuditItem]:
    """oom_score_adj settings worth a look: -1000 where it may not belong, +1000 volunteers."""
    by_pid = {p.pid: p for p in snapshot.processes}
    out: list[AuditItem] = []
    for p in snapshot.processes:
        adj = p.oom_score_adj
        if p.kernel_thread or p.pid == 1 or adj is None:
            continue
        if adj == OOM_SCORE_ADJ_MIN:
            out.append(_immune(p, by_pid.get(p.ppid) if p.ppid else None))
        elif adj == OOM_SCORE_ADJ_MAX:
            summary = "volunteers to die first: it is the victim of any OOM in its scope"
            out.append(_item("volunteer", "info", p, summary))
    return out


def _item(rule: str, severity: str, p: Process, summary: str) -> AuditItem:
    adj = p.oom_score_adj or 0
    return AuditItem(
        rule=rule,
        severity=severity,
        pid=p.pid,
        comm=p.comm,
        oom_score_adj=adj,
        summary=f"{p.comm} (pid {p.pid}, oom_score_adj {adj:+d}) {summary}",
    )


def _immune(p: Process, parent: Process | None) -> AuditItem:
    if (
        parent is not None
        and parent.oom_score_adj == OOM_SCORE_ADJ_MIN
        and parent.pid != 1
        and parent.comm != p.comm
        and p.comm not in EXPECTED_IMMUNE
    ):
        return _item(
            "immune_inherited",
            "warning",
            p,
            f"inherited -1000 from its parent {parent.comm} (pid {parent.pid}): children "
            "of an immune process are immune too; reset it in the child "
            "(echo 0 > /proc/PID/oom_score_adj) or start it from elsewhere",
        )
    size_kb = p.rss_kb or 0
    if p.comm in EXPECTED_IMMUNE and size_kb < BIG_IMMUNE_KB:
        return _item("immune", "info", p, "is never killed: expected for this daemon")
    return _item(
        "immune",
        "warning",
        p,
        f"is never killed and holds {size_kb // 1024} MiB: if it grows, the kernel kills "
        "everything else first, then panics; prefer -900 or a memory limit",
    )
