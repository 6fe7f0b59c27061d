"""The terminal report: the five answers per event, with the lines they rest on."""

from __future__ import annotations

import textwrap

from oomlens.model import EventAnalysis, OomEvent, Report
from oomlens.units import human_kb, human_seconds

WIDTH = 100


def render_text(report: Report) -> str:
    """The whole report as plain text (no colour), ending with a newline."""
    out: list[str] = []
    n = len(report.events)
    if n == 0:
        return "No OOM-killer events found.\n"
    if n > 1:
        out += _summary_table(report)
    for i, (event, analysis) in enumerate(zip(report.events, report.analyses, strict=True), 1):
        out.append("")
        out += _event(i, n, event, analysis)
    return "\n".join(out).lstrip("\n") + "\n"


def _title(event: OomEvent) -> str:
    v = event.victim
    who = f"killed {v.comm} (pid {v.pid})" if v else _no_victim(event)
    where = event.scope.value if event.scope else "unknown scope"
    return f"{where} OOM, {who}"


def _no_victim(event: OomEvent) -> str:
    if event.panic is not None:
        return "kernel panic"
    if event.no_killable:
        return "no killable process"
    return "no kill line in the log"


def _when(event: OomEvent) -> str:
    parts = []
    if event.time:
        parts.append(
            event.time
            + (" (year assumed: the log's stamps have none)" if event.time_year_guessed else "")
        )
    if event.uptime_s is not None:
        parts.append(f"uptime {event.uptime_s:.3f}s")
    if event.host:
        parts.append(f"host {event.host}")
    if event.kernel:
        parts.append(f"kernel {event.kernel}")
    return ", ".join(parts)


def _summary_table(report: Report) -> list[str]:
    rows = [("#", "time", "host", "scope", "victim", "freed (anon)")]
    for i, e in enumerate(report.events, 1):
        when = e.time or (f"{e.uptime_s:.1f}s" if e.uptime_s is not None else "-")
        if e.time and e.time_year_guessed:
            when += "*"
        v = e.victim
        victim = f"{v.comm} [{v.pid}]" if v else _no_victim(e)
        freed = human_kb(v.anon_rss_kb) if v and v.anon_rss_kb is not None else "-"
        rows.append((str(i), when, e.host or "-", e.scope.value if e.scope else "-", victim, freed))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = [f"{len(report.events)} OOM events"]
    for r in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    if any(e.time and e.time_year_guessed for e in report.events):
        lines.append("  * year assumed: the log's time stamps have none")
    for rec in report.recurring:
        every = f", about every {human_seconds(rec.mean_interval_s)}" if rec.mean_interval_s else ""
        grew = ", the victim growing each time" if rec.growing else ""
        lines += _wrap(f"{rec.kind} {rec.key}: {rec.count} kills{every}{grew}", "  ", "    ")
    return lines


def _event(i: int, n: int, event: OomEvent, a: EventAnalysis) -> list[str]:
    head = f"=== OOM event {i}/{n}: {_title(event)}"
    out = [head, f"    {event.source} lines {event.first_line}-{event.last_line}"]
    when = _when(event)
    if when:
        out.append(f"    {when}")
    t = event.trigger
    if t is not None:
        flags = f"({'|'.join(t.gfp_flags)})" if t.gfp_flags else ""
        pid = f" (pid {t.pid})" if t.pid is not None else ""
        out.append(
            f"    trigger: {t.comm or '?'}{pid} gfp_mask={t.gfp_mask}{flags} order={t.order}"
        )
    if not event.complete:
        out.append(f"    incomplete report: missing {', '.join(event.missing)}")
    if event.unparsed:
        out.append(f"    {len(event.unparsed)} line(s) inside the report were not recognised")
    if event.panic is not None:
        out.append(f"    kernel panic: {event.panic}")
    for k in event.also_killed:
        out.append(f"    also killed: {k.comm} (pid {k.pid})")
    for r in event.reaped:
        if r.success:
            out.append(
                f"    oom_reaper: reaped {r.comm} (pid {r.pid}), now anon-rss "
                f"{human_kb(r.anon_rss_kb)}"
            )
        else:
            out.append(f"    oom_reaper: unable to reap {r.comm} (pid {r.pid})")
    out.append(f"    page size {a.page_size_kb} kB ({a.page_size_source})")
    for j, ans in enumerate(a.answers, 1):
        out.append("")
        out.append(f"  {j}. {ans.question}")
        out += _wrap(ans.summary, "     ", "     ")
        for d in ans.details:
            out += _wrap(d, "       - ", "         ")
        if ans.evidence:
            out += _wrap(
                "evidence: lines " + ", ".join(str(n) for n in ans.evidence), "     ", "     "
            )
    out += _findings(a)
    out += _replay(a)
    return out


def _findings(a: EventAnalysis) -> list[str]:
    if not a.findings and a.attribution is None:
        return []
    out = ["", "  Patterns"]
    if a.attribution is not None:
        out += _wrap(f"cgroup owner: {a.attribution.name} ({a.attribution.kind})", "     ", "     ")
    for f in a.findings:
        out += _wrap(
            f"[{f.severity}] {f.rule} ({f.confidence} confidence): {f.summary}", "     ", "       "
        )
        for adv in f.advice:
            out += _wrap(adv, "       - ", "         ")
        if f.evidence:
            cited = "evidence: lines " + ", ".join(str(n) for n in f.evidence)
            out += _wrap(cited, "       ", "       ")
    return out


def _replay(a: EventAnalysis) -> list[str]:
    r = a.replay
    if r is None:
        return []
    total = f", totalpages {r.totalpages} ({r.totalpages_source})" if r.totalpages else ""
    out = ["", f"  Why this victim? Replay of the kernel's oom_badness() ({r.era}{total})"]
    rows = [("#", "pid", "comm", "points", "score", "adj", "")]
    for i, c in enumerate(r.candidates, 1):
        mark = "<- killed" if c.pid == r.actual_pid else ""
        if not c.eligible:
            mark = (c.note or "not eligible") + (" " + mark if mark else "")
        rows.append(
            (
                str(i),
                str(c.pid),
                c.comm,
                str(c.points) if c.eligible else "-",
                "-" if c.score_per_mille is None else str(c.score_per_mille),
                "-" if c.oom_score_adj is None else str(c.oom_score_adj),
                mark,
            )
        )
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        out.append(
            "     " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        )
    verdict = {True: "matches the kernel", False: "differs from the kernel", None: "cannot judge"}
    out += _wrap(f"{verdict[r.matches_kernel]}: {r.reason}", "     ", "     ")
    if r.why_not_runner_up:
        out += _wrap(r.why_not_runner_up, "     ", "     ")
    return out


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [first.rstrip()]
