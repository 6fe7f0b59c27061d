"""Collect the lines of one report, section by section, into an `OomEvent`."""

from __future__ import annotations

import dataclasses

from oomlens.model import (
    Hugepages,
    Kill,
    LogLine,
    MemcgCounter,
    MemcgStats,
    NodeInfo,
    OomKillSummary,
    Reaped,
    Selection,
    SlabInfo,
    Task,
    Trigger,
    Zone,
)
from oomlens.parse import patterns as p
from oomlens.parse import sections as s
from oomlens.parse.classify import ONCE_KINDS

# Sections a line kind moves the report into (for context-dependent kinds that follow).
SECTION_OF = {
    "trigger": "header",
    "cpuset": "header",
    "cpu": "stack",
    "hardware": "stack",
    "workqueue": "stack",
    "trace_start": "stack",
    "meminfo_start": "meminfo",
    "memcg_stats": "memcg_stats",
    "memcg_counter": "memcg",
    "task_in": "memcg",
    "slab_start": "slab",
    "profiling_start": "profiling",
    "tasks_banner": "tasks",
    "tasks_header": "tasks",
    "summary": "summary",
}
# Kinds that keep the current section (rows of it, or lines that may sit anywhere).
KEEP_SECTION = frozenset(
    {
        "frame",
        "trace_mark",
        "registers",
        "counters",
        "stat_kv",
        "slab_header",
        "slab_row",
        "profiling_row",
        "task_row",
        "blank",
        "other",
        "percpu",
        "taint_desc",
    }
)


# After `Kernel panic - not syncing`, the panicking CPU's own stack dump follows.
PANIC_TAIL = frozenset(
    {"cpu", "hardware", "workqueue", "trace_start", "frame", "trace_mark", "registers", "panic_end"}
)


class EventBuilder:
    """Mutable collector for one report; `build()` freezes it into an `OomEvent`."""

    def __init__(self, source: str, *, headerless: bool) -> None:
        self.source = source
        self.headerless = headerless
        self.section: str | None = None
        self.lines: list[LogLine] = []
        self.unparsed: list[LogLine] = []
        self.trigger: Trigger | None = None
        self.stack: dict[str, object] = {}
        self.frames: list[str] = []
        self.raw: list[str] = []
        self.meminfo_line: int | None = None
        self.counters: dict[str, int] = {}
        self.nodes: list[NodeInfo] = []
        self.zones: list[Zone] = []
        self.hugepages: list[Hugepages] = []
        self.pagecache: int | None = None
        self.swapcache: int | None = None
        self.totals: dict[str, int] = {}
        self.slab: list[SlabInfo] = []
        self.swap_total: int | None = None
        self.swap_free: int | None = None
        self.swap_line: int | None = None
        self.memcg_line: int | None = None
        self.task_memcg: str | None = None
        self.oom_memcg: str | None = None
        self.memcg_counters: list[MemcgCounter] = []
        self.stats: list[MemcgStats] = []
        self.task_columns: tuple[str, ...] | None = None
        self.tasks_line: int | None = None
        self.tasks: list[Task] = []
        self.summary: OomKillSummary | None = None
        self.selection: Selection | None = None
        self.victim: Kill | None = None
        self.also_killed: list[Kill] = []
        self.reaped: list[Reaped] = []
        self.oom_group: str | None = None
        self.panic: str | None = None
        self.panic_line: int | None = None
        self.panic_task: tuple[int, str, int] | None = None
        self.no_killable = False
        self.exiting_pid: int | None = None
        self.exiting_prefix: str | None = None  # "Memory cgroup out of memory" / "Out of memory"
        self.manual = False
        self.suppressed: int | None = None
        self.seen: set[str] = set()

    # -- state ---------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """The kill (or panic, or no-victim) line has been seen."""
        return (
            self.victim is not None
            or self.panic is not None
            or self.no_killable
            or self.exiting_pid is not None
        )

    def wants(self, kind: str) -> bool:
        """False when `kind` cannot belong to this report and must start the next one."""
        if kind in ONCE_KINDS and kind in self.seen:
            # a v1 hierarchy prints one stats line per cgroup; the rest are once-only
            return False
        if self.panic is not None and kind in PANIC_TAIL:
            return True
        if self.ended:
            return kind in {"reaped", "sharing", "oom_group", "panic", "panic_end", "blank"} or (
                kind == "killed" and self.oom_group is not None
            )
        if kind == "selection" and self.selection is not None:
            return False
        return not (kind == "killed" and self.victim is not None)

    # -- adding lines ----------------------------------------------------------------

    def add(self, kind: str, line: LogLine, text: str | None = None) -> None:
        """Take `line` (of `kind`) into the report. `text` overrides line.text (joined lines)."""
        t = line.text if text is None else text
        self.lines.append(line)
        self.seen.add(kind)
        if kind not in KEEP_SECTION:
            self.section = SECTION_OF.get(kind, self.section)
        handler = getattr(self, "_on_" + kind, None)
        if handler is None:
            if kind == "other":
                self.unparsed.append(line)
            return
        handler(t, line)

    def _on_trigger(self, t: str, line: LogLine) -> None:
        self.trigger = s.trigger(t, line.line_no)

    def _on_cpuset(self, t: str, line: LogLine) -> None:
        m = p.CPUSET.match(t)
        if m and self.trigger is not None:
            self.trigger = dataclasses.replace(
                self.trigger, cpuset=m["cpuset"], mems_allowed=m["mems"]
            )

    def _on_cpu(self, t: str, line: LogLine) -> None:
        m = p.CPU_LINE.match(t) or p.PID_LINE.match(t)
        if m is None:
            return
        if self.panic is not None:
            # the panic's own stack dump: out_of_memory() panics in the allocating task, so
            # its CPU line names the trigger when the report's header was cut away (3.x)
            self.panic_task = (int(m["pid"]), m["comm"], line.line_no)
            return
        if "pid" in self.stack:
            return  # a second header inside one report: keep the first
        d = m.groupdict()
        self.stack.update(
            line_no=line.line_no,
            cpu=int(d["cpu"]) if d.get("cpu") else None,
            uid=int(d["uid"]) if d.get("uid") else None,
            pid=int(m["pid"]),
            comm=m["comm"],
            tainted=m["taint"].removeprefix("Tainted: ").strip() or None,
            kernel=m["release"],
        )

    def _on_hardware(self, t: str, line: LogLine) -> None:
        self.stack.setdefault("hardware", t.removeprefix("Hardware name: "))

    def _on_workqueue(self, t: str, line: LogLine) -> None:
        self.stack.setdefault("workqueue", t.removeprefix("Workqueue: "))

    def _on_frame(self, t: str, line: LogLine) -> None:
        m = p.FRAME.match(t)
        if m is None or self.panic is not None:
            return  # the panic's stack repeats the OOM path: keep the report's own
        fn = m["fn"] or m["arm"] or m["armnew"]
        self.frames.append(("? " if m["q"] else "") + fn)

    def _on_registers(self, t: str, line: LogLine) -> None:
        self.raw.append(t)

    def _on_meminfo_start(self, t: str, line: LogLine) -> None:
        self.meminfo_line = line.line_no

    def _on_counters(self, t: str, line: LogLine) -> None:
        for m in p.COUNTER.finditer(t):
            self.counters[m["key"]] = int(m["val"])

    def _on_node(self, t: str, line: LogLine) -> None:
        rec = s.node(t, line.line_no)
        if rec is not None:
            self.nodes.append(rec)

    def _on_zone(self, t: str, line: LogLine) -> None:
        rec = s.zone(t, line.line_no)
        if rec is not None:
            self.zones.append(rec)

    def _on_lowmem(self, t: str, line: LogLine) -> None:
        m = p.LOWMEM_RESERVE.match(t)
        if m is None:
            return
        vals = tuple(int(v) for v in m["vals"].split())
        for i in range(len(self.zones) - 1, -1, -1):  # the zone line printed just before
            if self.zones[i].lowmem_reserve_pages is None:
                self.zones[i] = dataclasses.replace(self.zones[i], lowmem_reserve_pages=vals)
                break

    def _on_buddy(self, t: str, line: LogLine) -> None:
        parsed = s.buddy(t)
        if parsed is None:
            return
        node, name, terms, total = parsed
        for i, z in enumerate(self.zones):
            if z.name == name and z.node == node and z.free_areas is None:
                self.zones[i] = dataclasses.replace(
                    z, free_areas=terms, free_areas_total_kb=total, free_areas_line_no=line.line_no
                )
                return
        # a buddy list whose zone line was cut away: keep it on a zone of its own
        self.zones.append(
            Zone(
                line_no=line.line_no,
                node=node,
                name=name,
                fields_kb={},
                free_areas=terms,
                free_areas_total_kb=total,
                free_areas_line_no=line.line_no,
            )
        )

    def _on_hugepages(self, t: str, line: LogLine) -> None:
        rec = s.hugepages(t, line.line_no)
        if rec is not None:
            self.hugepages.append(rec)
        else:
            self.unparsed.append(line)

    def _on_pagecache(self, t: str, line: LogLine) -> None:
        m = p.PAGECACHE.match(t)
        self.pagecache = int(m["n"]) if m else None

    def _on_swapcache(self, t: str, line: LogLine) -> None:
        m = p.SWAPCACHE.match(t)
        self.swapcache = int(m["n"]) if m else None

    def _on_swap(self, t: str, line: LogLine) -> None:
        m = p.SWAP.match(t)
        if m is None:
            return
        self.swap_line = self.swap_line or line.line_no
        if m["which"] == "Free":
            self.swap_free = int(m["kb"])
        else:
            self.swap_total = int(m["kb"])

    def _on_pages_total(self, t: str, line: LogLine) -> None:
        m = p.PAGES_TOTAL.match(t)
        if m is None:
            return
        what = m["what"] or m["old"]
        what = {"of RAM": "RAM", "swap cached": "swap cached"}.get(what, what)
        self.totals[what] = int(m["n"])

    def _on_slab_row(self, t: str, line: LogLine) -> None:
        rec = s.slab_row(t, line.line_no)
        if rec is not None:
            self.slab.append(rec)

    def _on_task_in(self, t: str, line: LogLine) -> None:
        m = p.TASK_IN.match(t)
        if m:
            self.memcg_line = self.memcg_line or line.line_no
            self.task_memcg, self.oom_memcg = m["task"], m["oom"]

    def _on_task_in_head(self, t: str, line: LogLine) -> None:
        m = p.TASK_IN_HEAD.match(t)
        if m:
            self.memcg_line = self.memcg_line or line.line_no
            self.task_memcg = m["task"]

    def _on_task_in_mid(self, t: str, line: LogLine) -> None:
        m = p.TASK_IN_MID.match(t)
        if m and m["oom"]:
            self.oom_memcg = m["oom"]

    def _on_limit_reached(self, t: str, line: LogLine) -> None:
        m = p.LIMIT_REACHED.match(t)
        if m:
            self.memcg_line = self.memcg_line or line.line_no
            self.oom_memcg = m["oom"]

    def _on_memcg_counter(self, t: str, line: LogLine) -> None:
        rec = s.memcg_counter(t, line.line_no)
        if rec is not None:
            self.memcg_line = self.memcg_line or line.line_no
            self.memcg_counters.append(rec)

    def _on_memcg_stats(self, t: str, line: LogLine) -> None:
        rec = s.memcg_stats_head(t, line.line_no)
        if rec is not None:
            self.memcg_line = self.memcg_line or line.line_no
            self.stats.append(rec)

    def _on_stat_kv(self, t: str, line: LogLine) -> None:
        m = p.STAT_KV.match(t)
        if m and self.stats:
            last = self.stats[-1]
            values = dict(last.values)
            values[m["key"]] = int(m["val"])
            self.stats[-1] = dataclasses.replace(last, values=values, unit="bytes")

    def _on_oom_group(self, t: str, line: LogLine) -> None:
        m = p.OOM_GROUP.match(t)
        if m:
            self.oom_group = m["path"]

    def _on_tasks_header(self, t: str, line: LogLine) -> None:
        self.task_columns = s.task_columns(t)
        self.tasks_line = line.line_no

    def _on_tasks_banner(self, t: str, line: LogLine) -> None:
        self.tasks_line = line.line_no

    def _on_task_row(self, t: str, line: LogLine) -> None:
        columns = self.task_columns
        if columns is None:  # the header was cut away: guess the era's layout
            columns = s.guess_columns(t)
            if columns is None:
                self.unparsed.append(line)
                return
            self.task_columns = columns
            self.tasks_line = self.tasks_line or line.line_no
        rec = s.task_row(t, line.line_no, columns)
        if rec is None:
            self.unparsed.append(line)
        else:
            self.tasks.append(rec)

    def _on_summary(self, t: str, line: LogLine) -> None:
        self.summary = s.summary(t, line.line_no)

    def _on_selection(self, t: str, line: LogLine) -> None:
        self.selection = s.selection(t, line.line_no)

    def _on_killed(self, t: str, line: LogLine) -> None:
        rec = s.killed(t, line.line_no)
        if rec is None:
            return
        if self.victim is None:
            self.victim = rec
        elif rec.pid != self.victim.pid and all(k.pid != rec.pid for k in self.also_killed):
            self.also_killed.append(rec)

    def _on_sharing(self, t: str, line: LogLine) -> None:
        rec = s.sharing(t, line.line_no)
        if rec is not None:
            self.also_killed.append(rec)

    def _on_reaped(self, t: str, line: LogLine) -> None:
        rec = s.reaped(t, line.line_no)
        if rec is not None:
            self.reaped.append(rec)

    def _on_panic(self, t: str, line: LogLine) -> None:
        m = p.PANIC.match(t)
        if m and self.panic is None:
            self.panic, self.panic_line = m["msg"], line.line_no
            # <= 4.18: "Kernel panic - not syncing: Out of memory and no killable processes..."
            self.no_killable = self.no_killable or bool(p.NO_KILLABLE.search(t))
            self.section = "panic"

    def _on_no_killable(self, t: str, line: LogLine) -> None:
        self.no_killable = True

    def _on_manual(self, t: str, line: LogLine) -> None:
        self.manual = True

    def _on_already_exiting(self, t: str, line: LogLine) -> None:
        # 5.1+: "OOM victim N (x) is already exiting. Skip killing the task": no kill follows
        m = p.ALREADY_EXITING.search(t)
        if m:
            self.exiting_pid = int(m["pid"])
            self.exiting_prefix = t[: m.start()].rstrip(": ") or None

    def owns_pid(self, pid: int) -> bool:
        """True when `pid` was killed in this report (for a late oom_reaper line)."""
        return (self.victim is not None and self.victim.pid == pid) or any(
            k.pid == pid for k in self.also_killed
        )
