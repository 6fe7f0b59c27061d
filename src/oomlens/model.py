"""The facts oomlens reads from a kernel log: frozen records, units in the field names.

Parse fills these in, analyze reads them, render presents them. A value the log does not
show is `None`, never 0. Every record parsed from a line keeps `line_no` so that a finding
can cite its evidence.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------
# One line of input, with its log container's prefix taken off.


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    """One kernel message line, its container prefix removed.

    `line_no` is the 1-based physical line of `path` it came from (records split from one
    physical line, such as a journal JSON MESSAGE with newlines, share it).
    """

    line_no: int
    path: str
    text: str  # the kernel's message, container prefix and surrounding blanks removed
    host: str | None = None  # syslog / journal hostname
    wall: str | None = None  # ISO-8601 wall-clock time when the container gives one
    wall_year_guessed: bool = False  # the stamp had no year (RFC 3164 syslog): it was assumed
    uptime_s: float | None = None  # kernel monotonic time stamp, seconds since boot
    caller: str | None = None  # CONFIG_PRINTK_CALLER id: "T1234" (task) or "C3" (cpu)
    seq: int | None = None  # /dev/kmsg sequence number
    boot_id: str | None = None  # journal _BOOT_ID
    level: int | None = None  # printk level 0-7 when the container shows it
    cont: bool = False  # no prefix of its own: continues the record before it
    kernel: bool = True  # False: the container says another program wrote it


# ---------------------------------------------------------------------------------------
# Sections of one OOM report, in the order the kernel prints them.


class Scope(enum.Enum):
    """What the OOM was constrained to (the kernel's `enum oom_constraint`, plus sysrq)."""

    SYSTEM = "system"
    MEMCG = "memcg"
    CPUSET = "cpuset"
    MEMPOLICY = "mempolicy"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """`<comm> invoked oom-killer: gfp_mask=..., order=..., oom_score_adj=...`."""

    line_no: int
    comm: str | None  # None: the 2.6.1x header had no "<comm> invoked" prefix
    pid: int | None  # from the stack header (`CPU: .. PID: ..` / `Pid: ..`)
    gfp_mask: str | None  # as printed, e.g. "0x140cca"
    gfp_flags: tuple[str, ...] | None  # names the kernel printed (4.5+), else None
    order: int | None  # -1 = manual OOM from SysRq-f
    oom_score_adj: int | None
    oom_adj: int | None = None  # <= 3.5 kernels; `oomkilladj` before 2.6.29
    nodemask: str | None = None  # 4.9-4.19 trigger line
    cpuset: str | None = None  # `<comm> cpuset=<name> mems_allowed=<list>` (2.6.29-4.19)
    mems_allowed: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Stack:
    """The dump_stack() header and call trace; registers are kept raw."""

    line_no: int | None
    cpu: int | None
    pid: int | None
    uid: int | None  # 6.11+ prints the UID
    comm: str | None
    tainted: str | None  # "Not tainted" or the taint letters
    kernel: str | None  # release, e.g. "6.18.44-fc-v669"
    hardware: str | None
    workqueue: str | None
    frames: tuple[str, ...] = ()  # function+off/len, "?" kept in front of unreliable frames
    raw: tuple[str, ...] = ()  # register dumps, Code:, stack words: kept as printed


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeInfo:
    """`Node N active_anon:...kB ... all_unreclaimable? yes` (4.8+), values in kB."""

    line_no: int
    node: int
    fields_kb: Mapping[str, int]
    all_unreclaimable: bool | None
    pages_scanned: int | None = None  # 4.8-4.11, in pages


@dataclass(frozen=True, slots=True, kw_only=True)
class FreeArea:
    """One `count*sizekB (types)` term of a buddy free list."""

    size_kb: int
    count: int
    types: str | None  # migrate type letters, e.g. "UME" (3.8+)


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """A zone line (kB), its `lowmem_reserve[]` (pages) and its buddy free list."""

    line_no: int
    node: int | None  # None on non-NUMA kernels (no "Node N" prefix)
    name: str  # DMA, DMA32, Normal, HighMem, Movable, Device
    fields_kb: Mapping[str, int]  # free, min, low, high, present, managed, ... in kB
    all_unreclaimable: bool | None = None  # <= 4.7 zone lines
    pages_scanned: int | None = None  # <= 4.7, pages
    lowmem_reserve_pages: tuple[int, ...] | None = None
    free_areas: tuple[FreeArea, ...] | None = None
    free_areas_total_kb: int | None = None
    free_areas_line_no: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Hugepages:
    """`Node N hugepages_total=.. hugepages_free=.. hugepages_surp=.. hugepages_size=..kB`."""

    line_no: int
    node: int
    total: int
    free: int
    surp: int
    size_kb: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MemInfo:
    """The `Mem-Info:` block (show_mem), printed for non-memcg OOMs."""

    line_no: int
    counters_pages: Mapping[str, int]  # active_anon, free, slab_unreclaimable ... (pages)
    nodes: tuple[NodeInfo, ...] = ()
    zones: tuple[Zone, ...] = ()
    hugepages: tuple[Hugepages, ...] = ()
    pagecache_pages: int | None = None  # `N total pagecache pages`
    swapcache_pages: int | None = None  # `N pages in swap cache`
    totals_pages: Mapping[str, int] = field(default_factory=dict)  # RAM, reserved, HighMem..
    unreclaimable_slab: tuple[SlabInfo, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SlabInfo:
    """A row of `Unreclaimable slab info:` (4.15+): `Name  Used  Total`."""

    line_no: int
    name: str
    used_kb: int
    total_kb: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Swap:
    """`Free swap  = NkB` / `Total swap = NkB`."""

    line_no: int
    total_kb: int | None
    free_kb: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemcgCounter:
    """`memory: usage 40960kB, limit 40960kB, failcnt 3850` (and memory+swap, kmem, swap)."""

    line_no: int
    name: str  # "memory", "memory+swap", "kmem", "swap"
    usage_kb: int
    limit_kb: int  # the kernel prints "unlimited" as a huge number (>= 2**50 kB)
    failcnt: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemcgStats:
    """`Memory cgroup stats for PATH:` and its counters, as printed.

    The old one-line v1 form is in kB (`cache:0KB`); the multi-line v1 (6.5+) and v2 forms
    are in bytes or event counts. `unit` says which.
    """

    line_no: int
    path: str
    unit: str  # "kB" (one-line v1) or "bytes" (memory.stat file form)
    values: Mapping[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Memcg:
    """The memory cgroup part of a report."""

    line_no: int | None
    task_memcg: str | None  # `Task in X killed as a result of limit of Y`: X
    oom_memcg: str | None  # ... Y: the cgroup whose limit was hit
    counters: tuple[MemcgCounter, ...] = ()
    stats: tuple[MemcgStats, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """A row of the task table, memory in the kernel's units (pages, bytes for pgtables)."""

    line_no: int
    pid: int
    uid: int | None
    tgid: int | None
    total_vm_pages: int | None
    rss_pages: int | None
    rss_anon_pages: int | None = None  # 6.8+
    rss_file_pages: int | None = None
    rss_shmem_pages: int | None = None
    pgtables_bytes: int | None = None  # 4.15+
    nr_ptes: int | None = None  # 3.6-4.14, pages
    nr_pmds: int | None = None  # 4.0-4.14, pages
    swapents: int | None = None  # 3.6+, pages
    cpu: int | None = None  # <= 3.5
    oom_adj: int | None = None  # <= 3.5
    oom_score_adj: int | None = None  # 2.6.36+
    comm: str


# Task table columns: the kernel's header names → `Task` fields. `[ pid ]` and `name` are
# matched separately.
TASK_COLUMNS = {
    "uid": "uid",
    "tgid": "tgid",
    "total_vm": "total_vm_pages",
    "rss": "rss_pages",
    "rss_anon": "rss_anon_pages",
    "rss_file": "rss_file_pages",
    "rss_shmem": "rss_shmem_pages",
    "pgtables_bytes": "pgtables_bytes",
    "nr_ptes": "nr_ptes",
    "nr_pmds": "nr_pmds",
    "swapents": "swapents",
    "cpu": "cpu",
    "oom_adj": "oom_adj",
    "oom_score_adj": "oom_score_adj",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskTable:
    """The `dump_tasks()` table: its header columns as printed, and the rows."""

    line_no: int
    columns: tuple[str, ...]  # kernel column names, e.g. ("pid", "uid", "tgid", ...)
    rows: tuple[Task, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OomKillSummary:
    """`oom-kill:constraint=...,nodemask=...,task_memcg=...,task=x,pid=N,uid=N` (5.0+)."""

    line_no: int
    constraint: str | None  # CONSTRAINT_NONE / _MEMCG / _CPUSET / _MEMORY_POLICY
    nodemask: str | None
    cpuset: str | None
    mems_allowed: str | None
    global_oom: bool
    oom_memcg: str | None
    task_memcg: str | None
    task: str | None
    pid: int | None
    uid: int | None
    fields: Mapping[str, str] = field(default_factory=dict)  # every key=value, as printed


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """`Out of memory: Kill process N (x) score S or sacrifice child` (2.6.x - 5.0)."""

    line_no: int
    prefix: str  # "Out of memory", "Memory cgroup out of memory", ...
    pid: int
    comm: str
    score: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Kill:
    """A `Killed process N (x) total-vm:...` line: a process the kernel killed."""

    line_no: int
    prefix: str | None  # "Out of memory", "Memory cgroup out of memory" (5.1+), or None
    pid: int
    comm: str
    uid: int | None = None
    total_vm_kb: int | None = None
    anon_rss_kb: int | None = None
    file_rss_kb: int | None = None
    shmem_rss_kb: int | None = None
    pgtables_kb: int | None = None
    oom_score_adj: int | None = None
    memcg: str | None = None  # the victim's memory cgroup (oom-kill: task_memcg=)
    sharing: bool = False  # `Kill process N (x) sharing same memory` (2.6.37-4.5)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reaped:
    """`oom_reaper: reaped process N (x), now anon-rss:0kB, ...` (4.6+), or a failure."""

    line_no: int
    pid: int
    comm: str
    anon_rss_kb: int | None
    file_rss_kb: int | None
    shmem_rss_kb: int | None
    success: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class OomEvent:
    """One OOM-killer report: everything the kernel printed for one invocation."""

    source: str
    host: str | None
    time: str | None  # ISO-8601 wall time of the first line, when the log gives it
    time_year_guessed: bool = False  # year-less syslog stamps: the year is an assumption
    uptime_s: float | None
    boot_id: str | None
    kernel: str | None  # release, from this report or any other line of the file
    first_line: int
    last_line: int
    complete: bool
    missing: tuple[str, ...]  # sections a complete report of this era would have
    scope: Scope | None
    trigger: Trigger | None
    stack: Stack | None
    meminfo: MemInfo | None
    swap: Swap | None
    memcg: Memcg | None
    tasks: TaskTable | None
    summary: OomKillSummary | None  # the `oom-kill:` line
    selection: Selection | None
    victim: Kill | None
    also_killed: tuple[Kill, ...] = ()
    reaped: tuple[Reaped, ...] = ()
    oom_group: str | None = None  # `Tasks in PATH are going to be killed due to memory.oom.group`
    kill_prefix: str | None = None  # "Out of memory (oom_kill_allocating_task)", ...
    panic: str | None = None  # `Kernel panic - not syncing: ...` message
    panic_line_no: int | None = None
    no_killable: bool = False  # `Out of memory and no killable processes...`
    exiting_pid: int | None = None  # `OOM victim N (x) is already exiting. Skip killing` (5.1+)
    manual: bool = False  # SysRq-f (`sysrq: Manual OOM execution` or order=-1)
    suppressed: int | None = None  # `oom_kill_process: N callbacks suppressed` before it
    headerless: bool = False  # the kill came without its report (rate-limited or cut)
    victim_source: str | None = None  # "kill line", or "oom-kill line" when that was cut
    lines: tuple[LogLine, ...] = ()  # every line that was taken into this event, in order
    unparsed: tuple[LogLine, ...] = ()  # lines inside the report that no section knew

    @property
    def memcg_path(self) -> str | None:
        """The memory cgroup whose limit the OOM hit, when the log shows it."""
        if self.summary is not None and self.summary.oom_memcg:
            return self.summary.oom_memcg
        if self.memcg is not None and self.memcg.oom_memcg:
            return self.memcg.oom_memcg
        return None


# ---------------------------------------------------------------------------------------
# What analyze makes of the facts.


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """The answer to one of the five questions, with the line numbers it rests on."""

    key: str  # "scope", "consumers", "swap", "thrashing", "prevention"
    question: str
    summary: str  # one sentence
    details: tuple[str, ...] = ()
    evidence: tuple[int, ...] = ()  # line numbers in the event's source


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryPart:
    """One slice of the memory breakdown, in kB."""

    name: str  # "anon", "page cache", "shmem", "slab reclaimable", ...
    kb: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Consumer:
    """A task ranked by resident memory, in kB (converted with the event's page size)."""

    pid: int
    comm: str
    rss_kb: int
    anon_kb: int | None
    file_kb: int | None
    shmem_kb: int | None
    swap_kb: int | None
    oom_score_adj: int | None
    victim: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A task as the kernel's oom_badness() would have scored it."""

    pid: int
    comm: str
    points: int  # badness in pages (the kernel's unit, 3.5+), or the era's heuristic score
    score_per_mille: int | None  # points * 1000 / totalpages (selection line's unit); None: unknown
    oom_score_adj: int | None
    eligible: bool  # False: oom_score_adj -1000 or otherwise unkillable (then not ranked)
    note: str | None = None  # e.g. "oom_score_adj -1000: never killed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay:
    """The kernel's victim choice, replayed from the task table."""

    era: str  # which oom_badness() rules were used, e.g. "3.5-5.8 (pages)"
    totalpages: int | None  # the denominator for the event's scope
    totalpages_source: str  # how it was found ("RAM + swap", "memcg limit", ...)
    candidates: tuple[Candidate, ...]  # ranked, highest first (top N)
    predicted_pid: int | None
    actual_pid: int | None
    matches_kernel: bool | None  # None when it cannot be judged
    reason: str  # why it matches or not, or why it cannot be judged
    why_not_runner_up: str | None = None  # one sentence: "why X and not Y"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A named pattern with its evidence: an opinion, not a fact."""

    rule: str  # e.g. "memory_leak", "fork_bomb", "memcg_limit_too_small"
    severity: str  # "critical", "warning", "info"
    summary: str  # one sentence
    evidence: tuple[int, ...]  # line numbers in the event's source
    confidence: str  # "high", "medium", "low"
    advice: tuple[str, ...] = ()  # the knob to change, with numbers from the log


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribution:
    """The owner of a memory cgroup and where its memory limit is set."""

    path: str
    kind: str  # a key of analyze.cgroups.KNOBS: "kubernetes-pod", "docker", "systemd-service", ...
    name: str  # what a person calls it: "pod 62015ce8-…", "nginx.service", "container 66ece93b397d"
    knob: str  # where the limit of this kind is set
    pod_uid: str | None = None  # with dashes, as `kubectl get pod -o jsonpath={.metadata.uid}`
    qos: str | None = None  # "guaranteed", "burstable", "besteffort"
    container_id: str | None = None  # full id as in the path
    runtime: str | None = None  # "containerd", "cri-o", "docker", "podman", "lxc"
    unit: str | None = None  # systemd unit or slice name
    user_uid: int | None = None  # user-UID.slice
    outer: Attribution | None = None  # the container this one runs in (kind node, LXC guest)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recurrence:
    """The same cgroup or process name in several events of one input."""

    kind: str  # "cgroup" or "process"
    key: str  # the cgroup path or the process name
    indexes: tuple[int, ...]  # positions in the events given, in order
    line_nos: tuple[int, ...]  # the kill line (or first line) of each
    anon_kb: tuple[int | None, ...]  # the victim's anon-rss at each kill
    intervals_s: tuple[float | None, ...]  # seconds from each kill to the next (count - 1)
    growing: bool = False  # the victim's anon memory grew kill over kill (>= 3 kills)

    @property
    def count(self) -> int:
        return len(self.indexes)

    @property
    def span_s(self) -> float | None:
        """Seconds from the first to the last, when every gap is known."""
        if not self.intervals_s or any(i is None for i in self.intervals_s):
            return None
        return sum(i for i in self.intervals_s if i is not None)

    @property
    def mean_interval_s(self) -> float | None:
        span = self.span_s
        return None if span is None else span / len(self.intervals_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventAnalysis:
    """Interpretation of one event: units, breakdown, the five answers."""

    page_size_kb: int
    page_size_source: str  # "buddy lists", "kill line vs task table", "default"
    total_kb: int | None  # what the OOM ran against: RAM (+swap) or the cgroup limit
    total_label: str | None  # "RAM", "cgroup limit", ...
    breakdown: tuple[MemoryPart, ...]
    consumers: tuple[Consumer, ...]  # top tasks by rss
    answers: tuple[Answer, ...]
    replay: Replay | None = None
    findings: tuple[Finding, ...] = ()
    attribution: Attribution | None = None  # who owns the OOM's (or the victim's) cgroup


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Everything oomlens found in its inputs: the events and what analyze made of them."""

    sources: tuple[str, ...]
    events: tuple[OomEvent, ...]
    analyses: tuple[EventAnalysis, ...]  # one per event, same order
    recurring: tuple[Recurrence, ...] = ()  # the same cgroup or process in several events
