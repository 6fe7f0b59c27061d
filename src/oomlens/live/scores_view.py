"""`oomlens scores` rendered: the JSON document, and the text built from it for a terminal.

`scores_document()` ranks a `live.proc` snapshot (optionally one memory cgroup and below) as
the OOM killer would, with the next victim system-wide and in each limited memory cgroup and
the oom_score_adj audit; `scores_text()` puts the answer first, then the table and the audit.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from oomlens.units import human_kb

if TYPE_CHECKING:
    from oomlens.live.badness import Choice
    from oomlens.live.proc import Process, Snapshot


def scores_document(snap: Snapshot, *, top: int | None, cgroup: str | None) -> dict[str, Any]:
    """`scores --format json`: totals, ranked `processes`, `next_victim`, memcgs, audit."""
    from oomlens.live.badness import audit, choose, in_memcg, memcg_totalpages, oom_badness
    from oomlens.live.badness import oom_score as score_of

    t = snap.totals
    procs = [p for p in snap.processes if cgroup is None or in_memcg(p, cgroup)]
    pick = choose(snap, cgroup)
    rows = []
    for p in _ranked(procs, pick.totalpages, t.page_size):
        badness = oom_badness(p, t.totalpages, t.page_size)  # pages; None: never killed
        est = score_of(badness, t.totalpages)
        rows.append({**asdict(p), "oom_badness": badness, "oom_score_est": est})
    memcgs = [
        {
            **asdict(m),
            "totalpages": memcg_totalpages(m, t),
            "next_victim": _victim_doc(choose(snap, m.path)),
        }
        for m in snap.memcgs
        if cgroup is None or m.path == cgroup or m.path.startswith(cgroup + "/")
    ]
    pids = {p.pid for p in procs}
    return {
        "page_size": t.page_size,
        "mem_total_kb": t.mem_total_kb,
        "swap_total_kb": t.swap_total_kb,
        "totalpages": t.totalpages,
        "scope": cgroup or "system",
        "scope_totalpages": pick.totalpages,
        "processes": rows[:top] if top else rows,
        "process_count": len(rows),
        "vanished": snap.vanished,
        "unreadable": sum(1 for p in procs if p.unreadable),
        "next_victim": _victim_doc(pick),
        "runner_up": _victim_doc(pick, runner_up=True),
        "memcgs": memcgs,
        "audit": [asdict(a) for a in audit(snap) if a.pid in pids],
    }


def _victim_doc(c: Choice, *, runner_up: bool = False) -> dict[str, Any] | None:
    p, points = (c.runner_up, c.runner_up_pages) if runner_up else (c.victim, c.badness_pages)
    if p is None:
        return None
    return {"pid": p.pid, "comm": p.comm, "oom_badness": points, "oom_score": p.oom_score}


def _ranked(procs: list[Process], totalpages: int, page_size: int) -> list[Process]:
    """Everything, the kernel's order first; never-killed and unreadable ones last."""
    from oomlens.live.badness import rank

    ranked = [p for _, p in rank(procs, totalpages, page_size)]
    chosen = {p.pid for p in ranked}
    rest = sorted((p for p in procs if p.pid not in chosen), key=lambda p: -(p.rss_kb or 0))
    return ranked + rest


def scores_text(snap: Snapshot, *, top: int, cgroup: str | None) -> str:
    """`scores` for a terminal: the answer first, then the table, then the audit."""
    doc = scores_document(snap, top=top, cgroup=cgroup)
    t = snap.totals
    out = [
        f"{doc['process_count']} processes; RAM {human_kb(t.mem_total_kb)} + swap "
        f"{human_kb(t.swap_total_kb)} = {t.totalpages} pages of {t.page_size // 1024} KiB"
        + (f"; {doc['vanished']} exited while read" if doc["vanished"] else "")
        + (f"; {doc['unreadable']} unreadable" if doc["unreadable"] else "")
    ]
    where = f"memory cgroup {cgroup}" if cgroup else "the system"
    out.append(
        f"If {where} ran out of memory now, the kernel would kill: {_who(doc['next_victim'])}"
    )
    if doc["runner_up"]:
        out.append(f"  then: {_who(doc['runner_up'])}")
    if doc["memcgs"]:
        out += ["", "Memory cgroups with a limit:"]
        for m in doc["memcgs"]:
            usage = human_kb(m["usage_bytes"] // 1024) if m["usage_bytes"] is not None else "?"
            out.append(
                f"  {m['path']} (v{m['version']}, limit {human_kb(m['limit_bytes'] // 1024)}, "
                f"usage {usage}): would kill {_who(m['next_victim'])}"
            )
    width = max(shutil.get_terminal_size((100, 24)).columns, 80)
    head = f"{'PID':>7} {'SCORE':>5} {'EST':>5} {'ADJ':>5} {'BADNESS':>8} {'RSS':>9} {'SWAP':>8}"
    out += ["", head + " COMMAND [MEMCG]"]
    for r in doc["processes"]:
        cells = [
            f"{r['pid']:>7}",
            f"{_n(r['oom_score']):>5}",
            f"{_n(r['oom_score_est'] if r['oom_badness'] is not None else None):>5}",
            f"{_n(r['oom_score_adj']):>5}",
            f"{_n(r['oom_badness']):>8}",
            f"{_kb(r, 'rss_anon_kb', 'rss_file_kb', 'rss_shmem_kb'):>9}",
            f"{_kb(r, 'swap_kb'):>8}",
        ]
        out.append((" ".join(cells) + " " + _command(r))[:width])
    if len(doc["processes"]) < doc["process_count"]:
        out.append(f"  ... {doc['process_count'] - len(doc['processes'])} more (--top N)")
    if doc["audit"]:
        out += ["", "oom_score_adj audit:"]
        out += [f"  {a['severity']}: {a['summary']}" for a in doc["audit"]]
    return "\n".join(out) + "\n"


def _who(v: dict[str, Any] | None) -> str:
    if v is None:
        return "nobody (no process may be killed)"
    score = _n(v["oom_score"])
    return f"{v['comm']} (pid {v['pid']}, badness {v['oom_badness']} pages, oom_score {score})"


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def _kb(row: dict[str, Any], *keys: str) -> str:
    values = [row[k] for k in keys]
    if values[0] is None:
        return "?" if row["unreadable"] else "-"
    return human_kb(sum(v or 0 for v in values))


def _command(row: dict[str, Any]) -> str:
    memcg = f" [{row['memcg']}]" if row["memcg"] not in (None, "/") else ""
    if row["cmdline"]:
        return " ".join(row["cmdline"]) + memcg
    if row["cmdline"] is None:
        return f"{row['comm']} (unreadable: {', '.join(row['unreadable'])}){memcg}"
    return f"[{row['comm']}]{memcg}"
