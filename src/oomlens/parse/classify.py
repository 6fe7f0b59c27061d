"""Name the kind of one report line, given the section the report is in.

Some lines only make sense in context: `anon 4116684800` is a memcg stat only after
`Memory cgroup stats for ...:`, and `active_file:88 inactive_file:0` is a Mem-Info counter
only after `Mem-Info:`. Everything else is recognised on its own.
"""

from __future__ import annotations

from oomlens.parse import patterns as p

# Kinds that end a report (or are its last lines).
KILL_KINDS = frozenset(
    {"selection", "killed", "sharing", "panic", "no_killable", "already_exiting", "oom_group"}
)
# Kinds that can stand only once in one report: a second one starts the next report.
ONCE_KINDS = frozenset(
    {
        "trigger",
        "cpuset",
        "meminfo_start",
        "tasks_banner",
        "tasks_header",
        "task_in",
        "summary",
        "pagecache",
        "swapcache",
        "slab_start",
    }
)
# Kinds that are context-free report sections (not kill lines).
SECTION_KINDS = frozenset(
    {
        "cpuset",
        "cpu",
        "hardware",
        "workqueue",
        "taint_desc",
        "trace_start",
        "meminfo_start",
        "percpu",
        "node",
        "zone",
        "lowmem",
        "buddy",
        "hugepages",
        "pagecache",
        "swapcache",
        "swapcache_stats",
        "swap",
        "old_free",
        "pages_total",
        "slab_start",
        "profiling_start",
        "task_in",
        "task_in_head",
        "task_in_mid",
        "limit_reached",
        "memcg_counter",
        "memcg_stats",
        "tasks_banner",
        "tasks_header",
        "task_row",
        "summary",
        "compaction",
        "counters",
        "stat_kv",
        "frame",
        "trace_mark",
        "registers",
        "slab_header",
        "slab_row",
        "profiling_row",
    }
)


def classify(text: str, section: str | None) -> str:
    """The kind of `text` (a message with its prefix removed) in the current `section`."""
    if not text:
        return "blank"
    c = text[0]
    # Context-dependent lines first: they would be "other" out of context.
    if section == "memcg_stats" and p.STAT_KV.match(text):
        return "stat_kv"
    if section == "meminfo" and _is_counters(text):
        return "counters"
    if section in ("stack", "header"):
        # frames straight after the trigger: a grep fragment that lost "Call Trace:"
        if p.FRAME.match(text):
            return "frame"
        if p.TRACE_MARK.match(text):
            return "trace_mark"
        if section == "stack" and p.REGISTERS.match(text):
            return "registers"
    if section == "slab":
        if p.SLAB_HEADER.match(text):
            return "slab_header"
        if p.SLAB_ROW.match(text):
            return "slab_row"
    if section == "profiling" and p.PROFILING_ROW.match(text):
        return "profiling_row"

    if "oom-killer: gfp_mask=" in text and p.TRIGGER.match(text):
        return "trigger"
    if c == "[":
        if p.TASK_ROW.match(text):
            return "task_row"
        if p.TASKS_HEADER.match(text):
            return "tasks_header"
    if c == "N" and text.startswith("Node "):
        if p.NODE_LINE.match(text):
            return "node"
        if p.ZONE_LINE.match(text):
            return "zone"
        if p.BUDDY_LINE.match(text):
            return "buddy"
        if "hugepages_total=" in text:
            return "hugepages"
    if c.isdigit():
        if p.PAGES_TOTAL.match(text):
            return "pages_total"
        if p.PAGECACHE.match(text):
            return "pagecache"
        if p.SWAPCACHE.match(text):
            return "swapcache"
    if text.startswith("oom-kill:"):
        return "summary"
    if " mems_allowed=" in text and p.CPUSET.match(text):
        return "cpuset"
    if "ill process" in text or "illed process" in text:
        if p.SHARING.match(text):
            return "sharing"
        if p.KILLED.match(text):
            return "killed"
        if p.SELECTION.match(text):
            return "selection"
    if text.startswith("oom_reaper:"):
        return "reaped"
    if "already exiting" in text and p.ALREADY_EXITING.search(text):
        return "already_exiting"
    if c == "K" and p.PANIC.match(text):
        return "panic"
    if p.NO_KILLABLE.search(text):
        return "no_killable"
    if p.PANIC_END.match(text):
        return "panic_end"
    if c == "C":
        if text.startswith(("CPU: ", "CPU:")) and p.CPU_LINE.match(text):
            return "cpu"
        if p.TRACE_START.match(text):
            return "trace_start"
        if p.COMPACTION.match(text):
            return "compaction"
        if p.PERCPU.match(text):
            return "percpu"
    if c == "P" and p.PID_LINE.match(text):
        return "cpu"
    if c == "B" and p.TRACE_START.match(text):
        return "trace_start"
    if c == "H" and p.HARDWARE.match(text):
        return "hardware"
    if c == "W" and p.WORKQUEUE.match(text):
        return "workqueue"
    if c == "M":
        if p.MEMINFO_START.match(text):
            return "meminfo_start"
        if p.MEMCG_STATS.match(text):
            return "memcg_stats"
        if p.LIMIT_REACHED.match(text):
            return "limit_reached"
        if p.PROFILING_START.match(text):
            return "profiling_start"
    if c == "T":
        if p.TASK_IN.match(text):
            return "task_in"
        if p.TASKS_BANNER.match(text):
            return "tasks_banner"
        if p.OOM_GROUP.match(text):
            return "oom_group"
        if p.TASK_IN_HEAD.match(text):
            return "task_in_head"
        if p.TAINT_DESC.match(text):
            return "taint_desc"
    if c == "k" and p.TASK_IN_MID.match(text):
        return "task_in_mid"
    if p.MEMCG_COUNTER.match(text):
        return "memcg_counter"
    if p.ZONE_LINE.match(text):
        return "zone"
    if p.BUDDY_LINE.match(text):
        return "buddy"
    if c == "l" and p.LOWMEM_RESERVE.match(text):
        return "lowmem"
    if c in "FST":
        if p.SWAP.match(text):
            return "swap"
        if p.OLD_FREE.match(text):
            return "old_free"
        if p.SWAPCACHE_STATS.match(text):
            return "swapcache_stats"
    if p.PERCPU.match(text):
        return "percpu"
    if p.SUPPRESSED.match(text):
        return "suppressed"
    if p.MANUAL.search(text):
        return "manual"
    if c == "U" and p.SLAB_START.match(text):
        return "slab_start"
    if p.NOT_OOM_MEMINFO.search(text):
        return "not_oom"
    if p.MM_PINNED.match(text) or p.SYSRQ_IGNORED.search(text):
        return "note"
    if section is None and _is_counters(text):
        return "counters"
    return "other"


# Kinds whose line a mail client or serial console may have hard-wrapped: an unprefixed
# line that follows one of them and means nothing alone is its tail.
JOINABLE = frozenset(
    {
        "other",
        "trigger",
        "cpu",
        "node",
        "zone",
        "buddy",
        "hugepages",
        "task_row",
        "summary",
        "memcg_stats",
        "killed",
        "selection",
    }
)


def _is_counters(text: str) -> bool:
    """`active_file:88 inactive_file:0 isolated_file:0`: only key:number tokens."""
    tokens = text.split()
    return bool(tokens) and all(p.COUNTER.fullmatch(t) for t in tokens)
