"""The JSON document: the one contract between the core and every renderer (schema 1).

`to_document(report)` is the single serialiser; `--format json` prints it with sorted keys,
the HTML page embeds it, the web app serves it. New keys are additive. The schema is in
`oomlens/schema/report.schema.json`.
"""

from __future__ import annotations

import json
from typing import Any

from oomlens.model import (
    TASK_COLUMNS,
    Answer,
    Attribution,
    EventAnalysis,
    Kill,
    LogLine,
    OomEvent,
    Reaped,
    Replay,
    Report,
    Task,
    Zone,
)

SCHEMA_VERSION = 1


def to_document(report: Report) -> dict[str, Any]:
    """The whole report as plain JSON-ready data."""
    return {
        "schema": SCHEMA_VERSION,
        "sources": list(report.sources),
        "events": [
            event_document(e, a) for e, a in zip(report.events, report.analyses, strict=True)
        ],
        "timeline": [_timeline_row(i, e) for i, e in enumerate(report.events)],
        "recurring": _recurring(report),
    }


def _recurring(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "kind": r.kind,
            "key": r.key,
            "count": r.count,
            "events": list(r.indexes),
            "lines": list(r.line_nos),
            "victim_anon_kb": list(r.anon_kb),
            "intervals_s": list(r.intervals_s),
            "mean_interval_s": r.mean_interval_s,
            "growing": r.growing,
        }
        for r in report.recurring
    ]


def _timeline_row(i: int, e: OomEvent) -> dict[str, Any]:
    v = e.victim
    return {
        "event": i,
        "source": e.source,
        "line": e.first_line,
        "time": e.time,
        "uptime_s": e.uptime_s,
        "host": e.host,
        "scope": e.scope.value if e.scope else None,
        "memcg": e.memcg_path,
        "victim": v.comm if v else None,
        "pid": v.pid if v else None,
        "anon_rss_kb": v.anon_rss_kb if v else None,
    }


def dumps(report: Report) -> str:
    """`to_document` as text, sorted keys, UTF-8: one line per event, so that big reports are
    written by the C encoder without building the whole document first."""
    enc = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    rest = {
        "recurring": _recurring(report),
        "schema": SCHEMA_VERSION,
        "sources": list(report.sources),
        "timeline": [_timeline_row(i, e) for i, e in enumerate(report.events)],
    }
    parts = ['{"events":[']
    for i, (e, a) in enumerate(zip(report.events, report.analyses, strict=True)):
        parts.append(("\n" if i == 0 else ",\n") + enc.encode(event_document(e, a)))
    parts.append("\n]")
    for key in sorted(rest):  # "events" sorts before every other top-level key
        parts.append(f",{enc.encode(key)}:{enc.encode(rest[key])}")
    parts.append("}\n")
    return "".join(parts)


def event_document(e: OomEvent, a: EventAnalysis | None = None) -> dict[str, Any]:
    """One event: the facts as the kernel printed them, then the analysis."""
    t = e.trigger
    doc: dict[str, Any] = {
        "source": e.source,
        "host": e.host,
        "time": e.time,
        "time_year_guessed": e.time_year_guessed,
        "uptime_s": e.uptime_s,
        "boot_id": e.boot_id,
        "kernel": e.kernel,
        "lines": {"first": e.first_line, "last": e.last_line},
        "complete": e.complete,
        "missing": list(e.missing),
        "headerless": e.headerless,
        "scope": e.scope.value if e.scope else None,
        "memcg": e.memcg_path,
        "trigger": None
        if t is None
        else {
            "comm": t.comm,
            "pid": t.pid,
            "gfp_mask": t.gfp_mask,
            "gfp_flags": list(t.gfp_flags) if t.gfp_flags is not None else None,
            "order": t.order,
            "oom_score_adj": t.oom_score_adj,
            "oom_adj": t.oom_adj,
            "nodemask": t.nodemask,
            "cpuset": t.cpuset,
            "mems_allowed": t.mems_allowed,
            "line": t.line_no,
        },
        "stack": None
        if e.stack is None
        else {
            "cpu": e.stack.cpu,
            "pid": e.stack.pid,
            "uid": e.stack.uid,
            "comm": e.stack.comm,
            "tainted": e.stack.tainted,
            "kernel": e.stack.kernel,
            "hardware": e.stack.hardware,
            "workqueue": e.stack.workqueue,
            "frames": list(e.stack.frames),
            "line": e.stack.line_no,
        },
        "selection": None
        if e.selection is None
        else {
            "prefix": e.selection.prefix,
            "pid": e.selection.pid,
            "comm": e.selection.comm,
            "score": e.selection.score,
            "line": e.selection.line_no,
        },
        "kill_prefix": e.kill_prefix,
        "victim": _kill(e.victim) if e.victim else None,
        "victim_source": e.victim_source,
        "also_killed": [_kill(k) for k in e.also_killed],
        "reaped": _reaped(e),
        "oom_group": e.oom_group,
        "panic": e.panic,
        "no_killable": e.no_killable,
        "exiting_pid": e.exiting_pid,
        "manual": e.manual,
        "suppressed": e.suppressed,
        "summary": None if e.summary is None else _summary(e),
        "swap": {
            "total_kb": e.swap.total_kb if e.swap else None,
            "free_kb": e.swap.free_kb if e.swap else None,
        },
        "meminfo": None,
        "nodes": [],
        "zones": [],
        "hugepages": [],
        "memcg_counters": [],
        "memcg_stats": [],
        "task_columns": list(e.tasks.columns) if e.tasks else None,
        "tasks": [_task(r, e.tasks.columns) for r in e.tasks.rows] if e.tasks else [],
        "unparsed_lines": len(e.unparsed),
        "unparsed": [{"line": ln.line_no, "text": ln.text} for ln in e.unparsed],
        "raw": [_raw(ln) for ln in e.lines],
    }
    mi = e.meminfo
    if mi is not None:
        doc["meminfo"] = {
            **dict(mi.counters_pages),
            "pagecache_pages": mi.pagecache_pages,
            "swapcache_pages": mi.swapcache_pages,
            "totals_pages": dict(mi.totals_pages),
            "line": mi.line_no,
        }
        doc["nodes"] = [
            {
                "node": n.node,
                "fields_kb": dict(n.fields_kb),
                "all_unreclaimable": n.all_unreclaimable,
                "line": n.line_no,
            }
            for n in mi.nodes
        ]
        doc["zones"] = [_zone(z) for z in mi.zones]
        doc["hugepages"] = [
            {"node": h.node, "total": h.total, "free": h.free, "surp": h.surp, "size_kb": h.size_kb}
            for h in mi.hugepages
        ]
        doc["unreclaimable_slab"] = [
            {"name": s.name, "used_kb": s.used_kb, "total_kb": s.total_kb}
            for s in mi.unreclaimable_slab
        ]
    if e.memcg is not None:
        doc["memcg_task"] = e.memcg.task_memcg
        doc["memcg_counters"] = [
            {
                "name": c.name,
                "usage_kb": c.usage_kb,
                "limit_kb": c.limit_kb,
                "failcnt": c.failcnt,
                "line": c.line_no,
            }
            for c in e.memcg.counters
        ]
        doc["memcg_stats"] = [
            {"path": s.path, "unit": s.unit, "values": dict(s.values), "line": s.line_no}
            for s in e.memcg.stats
        ]
    if a is not None:
        doc["analysis"] = _analysis(a)
    return doc


def _kill(k: Kill) -> dict[str, Any]:
    return {
        "pid": k.pid,
        "comm": k.comm,
        "uid": k.uid,
        "total_vm_kb": k.total_vm_kb,
        "anon_rss_kb": k.anon_rss_kb,
        "file_rss_kb": k.file_rss_kb,
        "shmem_rss_kb": k.shmem_rss_kb,
        "pgtables_kb": k.pgtables_kb,
        "oom_score_adj": k.oom_score_adj,
        "memcg": k.memcg,
        "prefix": k.prefix,
        "line": k.line_no,
    }


def _reaped(e: OomEvent) -> dict[str, Any] | None:
    """The oom_reaper figures for the victim (or the first reaped process)."""
    if not e.reaped:
        return None
    pid = e.victim.pid if e.victim else None
    r: Reaped = next((r for r in e.reaped if r.pid == pid), e.reaped[0])
    return {
        "pid": r.pid,
        "comm": r.comm,
        "success": r.success,
        "anon_rss_kb": r.anon_rss_kb,
        "file_rss_kb": r.file_rss_kb,
        "shmem_rss_kb": r.shmem_rss_kb,
        "line": r.line_no,
    }


def _summary(e: OomEvent) -> dict[str, Any]:
    s = e.summary
    assert s is not None
    return {
        "constraint": s.constraint,
        "nodemask": s.nodemask,
        "cpuset": s.cpuset,
        "mems_allowed": s.mems_allowed,
        "global_oom": s.global_oom,
        "oom_memcg": s.oom_memcg,
        "task_memcg": s.task_memcg,
        "task": s.task,
        "pid": s.pid,
        "uid": s.uid,
        "fields": dict(s.fields),
        "line": s.line_no,
    }


def _zone(z: Zone) -> dict[str, Any]:
    return {
        "node": z.node,
        "name": z.name,
        "fields_kb": dict(z.fields_kb),
        "all_unreclaimable": z.all_unreclaimable,
        "pages_scanned": z.pages_scanned,
        "lowmem_reserve_pages": list(z.lowmem_reserve_pages)
        if z.lowmem_reserve_pages is not None
        else None,
        "free_areas": None
        if z.free_areas is None
        else [{"size_kb": f.size_kb, "count": f.count, "types": f.types} for f in z.free_areas],
        "free_areas_total_kb": z.free_areas_total_kb,
        "line": z.line_no,
    }


def _task(t: Task, columns: tuple[str, ...]) -> dict[str, Any]:
    """A row keyed by the kernel's own column names (only those the kernel printed)."""
    row: dict[str, Any] = {"pid": t.pid, "name": t.comm, "line": t.line_no}
    for col in columns:
        field = TASK_COLUMNS.get(col)
        if field is not None:
            row[col] = getattr(t, field)
    return row


def _raw(ln: LogLine) -> dict[str, Any]:
    return {"line": ln.line_no, "text": ln.text}


def _analysis(a: EventAnalysis) -> dict[str, Any]:
    return {
        "page_size_kb": a.page_size_kb,
        "page_size_source": a.page_size_source,
        "total_kb": a.total_kb,
        "total_label": a.total_label,
        "breakdown": [{"name": p.name, "kb": p.kb} for p in a.breakdown],
        "consumers": [
            {
                "pid": c.pid,
                "comm": c.comm,
                "rss_kb": c.rss_kb,
                "anon_kb": c.anon_kb,
                "file_kb": c.file_kb,
                "shmem_kb": c.shmem_kb,
                "swap_kb": c.swap_kb,
                "oom_score_adj": c.oom_score_adj,
                "victim": c.victim,
            }
            for c in a.consumers
        ],
        "answers": {ans.key: _answer(ans) for ans in a.answers},
        "replay": _replay(a.replay) if a.replay is not None else None,
        "attribution": _attribution(a.attribution),
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity,
                "summary": f.summary,
                "evidence": list(f.evidence),
                "confidence": f.confidence,
                "advice": list(f.advice),
            }
            for f in a.findings
        ],
    }


def _attribution(a: Attribution | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "path": a.path,
        "kind": a.kind,
        "name": a.name,
        "knob": a.knob,
        "pod_uid": a.pod_uid,
        "qos": a.qos,
        "container_id": a.container_id,
        "runtime": a.runtime,
        "unit": a.unit,
        "user_uid": a.user_uid,
        "outer": _attribution(a.outer),
    }


def _replay(r: Replay) -> dict[str, Any]:
    return {
        "era": r.era,
        "totalpages": r.totalpages,
        "totalpages_source": r.totalpages_source,
        "candidates": [
            {
                "pid": c.pid,
                "comm": c.comm,
                "points": c.points,
                "score_per_mille": c.score_per_mille,
                "oom_score_adj": c.oom_score_adj,
                "eligible": c.eligible,
                "note": c.note,
            }
            for c in r.candidates
        ],
        "predicted_pid": r.predicted_pid,
        "actual_pid": r.actual_pid,
        "matches_kernel": r.matches_kernel,
        "reason": r.reason,
        "why_not_runner_up": r.why_not_runner_up,
    }


def _answer(ans: Answer) -> dict[str, Any]:
    return {
        "question": ans.question,
        "summary": ans.summary,
        "details": list(ans.details),
        "evidence": list(ans.evidence),
    }
