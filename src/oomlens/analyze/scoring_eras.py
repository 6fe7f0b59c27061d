"""The kernel's oom_badness() in each of its eras: which rules apply to an event, and their sums.

The rules changed several times (mm/oom_kill.c, read at 2.6.32, 3.10, 4.13, 4.19, 5.10, 6.x):

- <= 2.6.35: badness() starts from total_vm and divides by cpu and run time, which the log
  does not show, so that replay is approximate.
- 2.6.36 ("oom: badness heuristic rewrite"): (rss + nr_ptes + swapents) * 1000 / totalpages,
  root -30, + oom_score_adj, clamped to 1..1000. The table of this era has no nr_ptes/swapents.
- 3.5 ("mm, oom: normalize oom scores to oom_score_adj scale only for userspace"): points in
  pages; oom_score_adj * (totalpages / 1000) is added; root bonus 30 adj units.
- 3.14 ("mm, oom: base root bonus on current usage"): root bonus 3% of points.
- 4.17 ("mm, oom: remove 3% bonus for CAP_SYS_ADMIN processes"): no root bonus.
- 5.9 ("mm, oom: make the calculation of oom badness more accurate"): no clamp to >= 1,
  ineligible is LONG_MIN.

totalram_pages is the managed memory: `N pages RAM` minus `N pages reserved` (show_mem prints
reserved = present - managed), not the RAM line alone; the printed scores only match that way.

`analyze.scoring` replays the victim choice with these rules and re-exports these names.
"""

from __future__ import annotations

from collections.abc import Callable

from oomlens.analyze.gfp import parse_release
from oomlens.model import OomEvent, Scope, Task
from oomlens.units import is_unlimited

HEURISTIC = "pre-2.6.36 (total_vm heuristic)"
PER_MILLE = "2.6.36-3.4 (per mille)"
PAGES_ADJ_BONUS = "3.5-3.13 (pages, root bonus 30 adj units)"
PAGES_PCT_BONUS = "3.14-4.16 (pages, root bonus 3%)"
PAGES = "4.17-5.8 (pages)"
UNCLAMPED = "5.9+ (pages, no clamp)"
ERAS = (HEURISTIC, PER_MILLE, PAGES_ADJ_BONUS, PAGES_PCT_BONUS, PAGES, UNCLAMPED)
_ROOT_BONUS = (PER_MILLE, PAGES_ADJ_BONUS, PAGES_PCT_BONUS)
_PAGES = (PAGES_ADJ_BONUS, PAGES_PCT_BONUS, PAGES, UNCLAMPED)
OOM_SCORE_ADJ_MIN = -1000
OOM_DISABLE = -17  # oom_adj value that exempts a task (<= 2.6.35)

Root = Callable[[Task], bool]


def _uid_root(task: Task) -> bool:
    # CAP_SYS_ADMIN is not in the log; uid 0 is the closest proxy (wrong for capability-
    # dropping root daemons and for non-root tasks granted the capability)
    return task.uid == 0


def era_of(event: OomEvent) -> str:
    """Which oom_badness() rules apply: from the format features first, then the release."""
    return _era(event)[0]


def _era(event: OomEvent) -> tuple[str, str]:
    """The era and how it was found."""
    cols = set(event.tasks.columns) if event.tasks else set()
    ver = parse_release(event.kernel)
    trig = event.trigger
    if ("oom_adj" in cols and "oom_score_adj" not in cols) or (
        trig is not None and trig.oom_adj is not None and trig.oom_score_adj is None
    ):
        return HEURISTIC, "oom_adj without oom_score_adj (<= 2.6.35)"
    if "oom_adj" in cols or (trig is not None and trig.oom_adj is not None):
        # 3.5 still printed oom_adj but already scored in pages
        if ver is not None and ver >= (3, 5):
            return PAGES_ADJ_BONUS, f"oom_adj and oom_score_adj, release {event.kernel}"
        return PER_MILLE, "oom_adj and oom_score_adj (2.6.36-3.5)"
    if ver is not None and ver >= (3,):
        for first, era in ((5, 9), UNCLAMPED), ((4, 17), PAGES), ((3, 14), PAGES_PCT_BONUS):
            if ver >= first:
                return era, f"release {event.kernel}"
        return PAGES_ADJ_BONUS, f"release {event.kernel}"
    if "nr_pmds" in cols:
        return PAGES_PCT_BONUS, "nr_pmds column (4.0-4.14), no release"
    if "nr_ptes" in cols:
        return PAGES_ADJ_BONUS, "nr_ptes column (3.6-3.19; 3.14+ would bonus 3%), no release"
    if event.selection is not None:
        return PAGES, "pgtables_bytes and a selection line (4.15-5.0), no release"
    return UNCLAMPED, "pgtables_bytes without a selection line (5.1+; 5.1-5.8 clamp), no release"


def _later_wins_ties(event: OomEvent, era: str) -> bool | None:
    # True: `points >= chosen` wins, from "mm: oom: Remove thread group leader check in
    # oom_evaluate_task()" (Jun 2019, ≈5.3); False: the first wins; None: not known
    if era == UNCLAMPED:
        return True
    if era != PAGES:
        return False
    ver = parse_release(event.kernel)
    return None if ver is None else ver >= (5, 3)


def totalpages(event: OomEvent, page_size_kb: int = 4) -> tuple[int | None, str]:
    """The badness denominator in pages for the event's scope, and how it was found."""
    if event.scope is Scope.MEMCG:
        return _memcg_totalpages(event, page_size_kb)
    mi = event.meminfo
    ram = mi.totals_pages.get("RAM") if mi else None
    if ram is None or mi is None:
        return None, "unknown: no `pages RAM` line"
    reserved = mi.totals_pages.get("reserved", 0)
    managed = ram - reserved
    if event.swap is None or event.swap.total_kb is None:
        swap, swap_note = 0, " (no `Total swap` line: none assumed)"
    else:
        swap, swap_note = event.swap.total_kb // page_size_kb, ""
    what = f"RAM {ram} - reserved {reserved} + swap {swap} pages{swap_note}"
    if event.scope in (Scope.CPUSET, Scope.MEMPOLICY):
        what += f"; approximated: a {event.scope.value} OOM counts only the allowed nodes"
    return managed + swap, what


def _memcg_totalpages(event: OomEvent, page_kb: int) -> tuple[int | None, str]:
    limits = {c.name: c.limit_kb for c in event.memcg.counters} if event.memcg else {}
    mem = limits.get("memory")
    if mem is None or is_unlimited(mem):
        return None, "unknown: the memcg `memory:` limit is not in the log"
    pages, memsw, swap = mem // page_kb, limits.get("memory+swap"), limits.get("swap")
    if memsw is None and swap is None:
        return pages, f"memcg limit {pages} pages (no swap limit line: no swap assumed)"
    # mem_cgroup_get_max(): the limit + min(headroom, total_swap_pages); the headroom is
    # memory+swap - memory (v1) or swap.max (v2); total swap is not printed in a memcg report
    headroom = swap if memsw is None else memsw - mem
    if headroom is not None and not is_unlimited(headroom):
        extra = max(headroom, 0) // page_kb
        return pages + extra, f"memcg limit {pages} + swap headroom {extra} pages"
    if any((t.swapents or 0) > 0 for t in (event.tasks.rows if event.tasks else ())):
        return pages, (
            f"memcg limit {pages} pages + unknown swap: swap is unlimited and tasks hold swap "
            "entries, but a memcg report does not print total swap"
        )
    return pages, f"memcg limit {pages} pages; swap unlimited but unused by any task: 0 assumed"


def badness(
    task: Task, *, era: str, totalpages: int, page_size_kb: int = 4, root: Root = _uid_root
) -> int | None:
    """oom_badness() of one task row in the era's units; None when it is never chosen."""
    if era == HEURISTIC:
        # badness() <= 2.6.35: total_vm, shifted by oom_adj; children, cpu/run time, nice
        # and capabilities are not in the log
        if task.oom_adj == OOM_DISABLE or task.total_vm_pages is None:
            return None
        pts, adj = task.total_vm_pages, task.oom_adj or 0
        if adj > 0:
            return max(pts, 1) << adj
        return pts >> -adj
    adj = task.oom_score_adj or 0
    if task.oom_score_adj == OOM_SCORE_ADJ_MIN or task.rss_pages is None:
        return None
    pts = task.rss_pages + (task.swapents or 0)
    if task.pgtables_bytes is not None:  # 4.15+ ("mm: consolidate page table accounting")
        pts += task.pgtables_bytes // (page_size_kb * 1024)
    else:
        pts += (task.nr_ptes or 0) + (task.nr_pmds or 0)
    is_root = era in _ROOT_BONUS and root(task)
    if era == PER_MILLE:
        pts = pts * 1000 // max(totalpages, 1) - (30 if is_root else 0) + adj
        return min(max(pts, 1), 1000)
    if is_root and era == PAGES_ADJ_BONUS:
        adj -= 30
    elif is_root and era == PAGES_PCT_BONUS:
        pts -= pts * 3 // 100
    pts += adj * (totalpages // 1000)
    return pts if era == UNCLAMPED else max(pts, 1)
