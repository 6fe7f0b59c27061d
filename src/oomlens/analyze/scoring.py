"""Port of the kernel's select_bad_process(): replay the victim choice from the task table.

`replay()` ranks the rows of an event's table by oom_badness() under the rules of its kernel's
era (`scoring_eras`, whose names are re-exported here), compares the first with the task the
kernel killed, and says why they agree or not (`Replay.reason`) and why the first beat the
runner-up (`Replay.why_not_runner_up`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from oomlens.analyze.scoring_eras import (
    _PAGES,
    _ROOT_BONUS,
    ERAS,
    HEURISTIC,
    OOM_DISABLE,
    OOM_SCORE_ADJ_MIN,
    PAGES,
    PAGES_ADJ_BONUS,
    PAGES_PCT_BONUS,
    PER_MILLE,
    UNCLAMPED,
    Root,
    _era,
    _later_wins_ties,
    _uid_root,
    badness,
    era_of,
    totalpages,
)
from oomlens.model import Candidate, OomEvent, Replay, Scope, Task

__all__ = [
    "ERAS",
    "HEURISTIC",
    "OOM_DISABLE",
    "OOM_SCORE_ADJ_MIN",
    "PAGES",
    "PAGES_ADJ_BONUS",
    "PAGES_PCT_BONUS",
    "PER_MILLE",
    "UNCLAMPED",
    "Root",
    "badness",
    "era_of",
    "replay",
    "totalpages",
]


@dataclass(frozen=True, slots=True)
class _Ctx:
    """One event's replay inputs: the rows (what-if applied) and the era's rules."""

    event: OomEvent
    rows: tuple[Task, ...]
    era: str
    total: int | None
    page_kb: int
    later: bool | None  # ties: True the last scanned wins, False the first, None unknown

    def points(self, task: Task, root: Root = _uid_root) -> int | None:
        total = self.total or 0
        return badness(task, era=self.era, totalpages=total, page_size_kb=self.page_kb, root=root)

    def rank(self, root: Root = _uid_root) -> list[tuple[int, int, Task]]:
        """(points, table index, task) of every eligible row, the kernel's choice first."""
        scored = [
            (p, i, t) for i, t in enumerate(self.rows) if (p := self.points(t, root)) is not None
        ]
        # `points < chosen` skips (≈5.3+): among equals the last one scanned stays chosen
        return sorted(scored, key=lambda s: (-s[0], -s[1] if self.later else s[1]))

    def per_mille(self, pts: int) -> int | None:
        """The selection line's unit; None when totalpages is unknown."""
        if self.era == PER_MILLE:
            return pts
        return pts * 1000 // self.total if self.total else None

    def tie_order_unknown(self) -> bool:
        # before ≈5.3 dump_tasks() walked for_each_process() while a memcg OOM scanned the
        # cgroup tree (mem_cgroup_scan_tasks()): the table order was not the scan order
        memcg = self.event.scope is Scope.MEMCG
        return self.later is None or (memcg and not self.later and self.era != HEURISTIC)


def _what_if(task: Task, what_if: Mapping[int, int]) -> Task:
    if task.pid not in what_if:
        return task
    adj = what_if[task.pid]
    # the kernel's oom_adj view of an oom_score_adj: adj * 15 / 1000 in C, -1000 -> -17
    old = OOM_DISABLE if adj <= -1000 else (abs(adj) * 15 // 1000) * (1 if adj >= 0 else -1)
    return replace(task, oom_score_adj=adj, oom_adj=old)


def replay(
    event: OomEvent,
    *,
    page_size_kb: int = 4,
    what_if: Mapping[int, int] | None = None,
    top: int = 10,
) -> Replay | None:
    """The kernel's victim choice replayed from the task table; None without table rows.

    `what_if` maps pid -> oom_score_adj to replay with (the result is then not judged).
    Points are in pages (3.5+), per mille (2.6.36-3.4) or the old heuristic's units.
    """
    if event.tasks is None or not event.tasks.rows:
        return None
    era, basis = _era(event)
    total, total_src = totalpages(event, page_size_kb)
    rows = tuple(_what_if(t, what_if or {}) for t in event.tasks.rows)
    ctx = _Ctx(event, rows, era, total, page_size_kb, _later_wins_ties(event, era))
    ranked = ctx.rank()
    never = "oom_adj -17" if era == HEURISTIC else "oom_score_adj -1000"
    listed = [(p, t) for p, _, t in ranked] + [(None, t) for t in rows if ctx.points(t) is None]
    sel, kill = event.selection, event.victim
    actual = sel.pid if sel else kill.pid if kill else None
    notes = [
        (True, f"rules {era} ({basis})"),
        (era == HEURISTIC, "approximate: cpu/run time, children, nice, capabilities not logged"),
        (era in _ROOT_BONUS and any(t.uid == 0 for _, _, t in ranked), _ROOT_PROXY),
        (era == PER_MILLE and rows[0].swapents is None, "no nr_ptes/swapents in this table"),
        (total is None, "totalpages unknown: oom_score_adj not weighed, no per mille scores"),
        (event.manual, "manual OOM (SysRq-f): same ranking"),
        (event.scope is Scope.MEMCG, "memcg OOM: only the cgroup's tasks are listed and ranked"),
        (event.oom_group is not None, f"memory.oom.group then killed all of {event.oom_group}"),
    ]
    matches, verdict = _judge(ctx, ranked, actual, what_if)
    return Replay(
        era=era,
        totalpages=total,
        totalpages_source=total_src,
        candidates=tuple(_candidate(ctx, t, p, never) for p, t in listed[:top]),
        predicted_pid=ranked[0][2].pid if ranked else None,
        actual_pid=actual,
        matches_kernel=matches,
        reason="; ".join([verdict, *(n for on, n in notes if on), *_selection_notes(ctx)]),
        why_not_runner_up=_why(ctx, ranked),
    )


_ROOT_PROXY = "uid 0 taken as CAP_SYS_ADMIN for the root bonus (capabilities are not logged)"


def _candidate(ctx: _Ctx, t: Task, pts: int | None, never: str) -> Candidate:
    bonus = "uid 0: root bonus applied" if ctx.era in _ROOT_BONUS and t.uid == 0 else None
    return Candidate(
        pid=t.pid,
        comm=t.comm,
        points=pts or 0,
        score_per_mille=None if pts is None else ctx.per_mille(pts),
        oom_score_adj=t.oom_score_adj,
        eligible=pts is not None,
        note=f"{never}: never killed" if pts is None else bonus,
    )


def _incomplete(event: OomEvent) -> str | None:
    """Why the table may not hold every candidate, or None when it looks whole."""
    table = event.tasks
    if event.headerless:
        return "fragment: the report's start is missing, so the table may be incomplete"
    if "tasks" in event.missing:
        return "the task table is incomplete"
    if table is not None and table.rows and table.rows[0].line_no == table.line_no:
        return "the table's header line is missing (snipped), so rows may be missing too"
    return None


_HIDDEN = "tasks already reaped (MMF_OOM_SKIP, 4.8+) or in vfork are skipped, unseen in the table"
_TIE_UNKNOWN = (
    "which of equal scores wins is not known here (the first before ≈5.3, the last after; "
    "a memcg scan before 5.3 did not follow the table order)"
)


def _judge(
    ctx: _Ctx,
    ranked: Sequence[tuple[int, int, Task]],
    actual: int | None,
    what_if: Mapping[int, int] | None,
) -> tuple[bool | None, str]:
    """matches_kernel, and the sentence that says why."""
    event, first = ctx.event, ranked[0][2] if ranked else None
    if what_if:
        changed = ", ".join(f"pid {p} -> {a}" for p, a in sorted(what_if.items()))
        return None, f"what-if replay (oom_score_adj {changed}): not compared with the kernel"
    verdict: tuple[bool | None, str]
    if actual is None and event.no_killable and first is None:
        verdict = True, "no task is eligible, as the kernel's 'no killable processes' says"
    elif actual is None and event.no_killable and first is not None:
        verdict = (
            False,
            f"the kernel found nothing killable, the replay ranks {_who(first)}: {_HIDDEN}",
        )
    elif actual is None:
        if event.panic:
            return None, f"no victim: the kernel panicked before choosing ({event.panic})"
        return None, "the log ends before the kill line: no victim to compare"
    elif first is not None and first.pid == actual:
        if len(ranked) > 1 and ranked[1][0] == ranked[0][0] and ctx.tie_order_unknown():
            return None, f"{_who(first)} ties with {_who(ranked[1][2])}; {_TIE_UNKNOWN}"
        verdict = True, f"the replay picks {_who(first)}, as the kernel did"
    else:
        verdict = False, _differs(ctx, ranked, actual)
    if ctx.era == HEURISTIC and len(ranked) > 1:
        return None, f"approximate heuristic, not judged; {verdict[1]}"
    if ctx.era == PER_MILLE and ctx.total is None and len(ranked) > 1:
        return None, f"totalpages unknown, so no per mille scores; {verdict[1]}"
    why_not = _incomplete(event)
    if why_not is not None:
        return None, f"{why_not}; on the rows shown, {verdict[1]}"
    return verdict


def _differs(ctx: _Ctx, ranked: Sequence[tuple[int, int, Task]], actual: int) -> str:
    """Why the kernel's victim is not the replay's first, as far as the log tells."""
    if "oom_kill_allocating_task" in (ctx.event.kill_prefix or ""):
        return "vm.oom_kill_allocating_task=1: the kernel killed the allocating task unranked"
    row = next((t for t in ctx.rows if t.pid == actual), None)
    if row is None:
        return f"the victim (pid {actual}) is not in the table"
    got = ctx.points(row)
    if not ranked or got is None:
        return f"the table shows {_who(row)} as ineligible: its oom_score_adj changed later"
    top, first = ranked[0][0], ranked[0][2]
    if got == top:
        if ctx.tie_order_unknown():
            return f"{_who(first)} ties with {_who(row)} at {got} points; {_TIE_UNKNOWN}"
        return f"{_who(first)} ties with {_who(row)} at {got} points and the scan order picked it"
    options: tuple[tuple[str, Root], ...] = (
        ("without any root bonus", lambda t: False),
        ("with a root bonus for all", lambda t: True),
    )
    for how, root in options:
        alt = ctx.rank(root)
        if ctx.era in _ROOT_BONUS and alt and alt[0][2].pid == actual:
            return f"root bonus uncertainty: {how} the kernel's choice wins ({_ROOT_PROXY})"
    if got * 100 >= top * 97:
        return (
            f"{_who(row)} scored {got} against {_who(first)}'s {top}: within 3%, memory moved "
            "between the choice and the table dump"
        )
    return f"unexplained: the replay scores {_who(row)} {got} and {_who(first)} {top}"


def _selection_notes(ctx: _Ctx) -> list[str]:
    """What the selection line (2.6.36-5.0) tells: the chosen task and its printed score."""
    sel, kill, notes = ctx.event.selection, ctx.event.victim, list[str]()
    if sel is None:
        return notes
    if kill is not None and kill.pid != sel.pid:
        notes.append(
            f"the kernel chose {sel.comm} (pid {sel.pid}) and killed its child {kill.comm} "
            f"(pid {kill.pid}) instead ('sacrifice child', before 5.1)"
        )
    row = next((t for t in ctx.rows if t.pid == sel.pid), None)
    pts = None if row is None else ctx.points(row)
    if sel.score is None or ctx.era == HEURISTIC or row is None or pts is None:
        return notes
    if ctx.total is None and ctx.era != PER_MILLE:
        near = pts * 1000 // max(sel.score, 1)
        return [*notes, f"the selection line's score {sel.score} puts totalpages near {near}"]
    if ctx.per_mille(pts) == sel.score:
        notes.append(f"the selection line's score {sel.score} matches the replay")
        return notes
    text = f"the selection line prints score {sel.score}, the replay {ctx.per_mille(pts)}"
    other = ctx.points(row, lambda t: not _uid_root(t))
    if ctx.era in _ROOT_BONUS and other is not None and ctx.per_mille(other) == sel.score:
        if row.uid == 0:
            text += f": {_who(row)} runs as uid 0 without CAP_SYS_ADMIN (no root bonus)"
        else:
            text += f": {_who(row)} holds CAP_SYS_ADMIN without uid 0 (root bonus)"
    elif ctx.era != PER_MILLE:
        text += f": totalpages would be near {pts * 1000 // max(sel.score, 1)}"
    return [*notes, text]


def _who(task: Task) -> str:
    return f"{task.comm} (pid {task.pid})"


def _why(ctx: _Ctx, ranked: Sequence[tuple[int, int, Task]]) -> str | None:
    """One sentence: why the first and not the runner-up."""
    if not ranked:
        return None
    (p1, _, t1), total = ranked[0], ctx.total
    if len(ranked) == 1:
        return f"{_who(t1)} was the only eligible task."
    p2, _, t2 = ranked[1]
    share = f" ({p1 * 100 // total}% of {total} pages)" if total and ctx.era in _PAGES else ""
    head = f"{_who(t1)} scored {p1} points{share} against {t2.comm}'s {p2}"
    if p1 == p2:
        return f"{head}: a tie, settled by the scan order."
    if ctx.era == HEURISTIC:
        return f"{head}: its total_vm was {t1.total_vm_pages} pages against {t2.total_vm_pages}."
    a1, a2 = t1.oom_score_adj or 0, t2.oom_score_adj or 0
    b1, b2 = (ctx.points(replace(t, oom_score_adj=0)) for t in (t1, t2))
    if a1 != a2 and b1 is not None and b2 is not None and b1 <= b2:
        return f"{head}: oom_score_adj {a1} against {a2} outweighed its memory ({b1} vs {b2})."
    swap = f" and {t1.swapents} swap entries" if t1.swapents else ""
    adj = f", with oom_score_adj {a1} against {a2}" if a1 != a2 else ""
    return f"{head}: it held {t1.rss_pages} rss pages{swap} against {t2.rss_pages}{adj}."
