"""Read /proc now: every process with its memory, the kernel's oom_score and ours; who dies next.

`read_snapshot(proc_root, cgroup_root)` reads each /proc/PID (status, cmdline, oom_score,
oom_score_adj, cgroup) and the limit of every memory cgroup that has one. Both roots are
injectable, so tests build a tree under `tmp_path`. A process that vanishes while it is read
is skipped (and counted); a file that cannot be read (hidepid, permissions) leaves its fields
`None` and names the file in `Process.unreadable`.

The ranking replays the kernel's `oom_badness()` as of 5.9 ("mm, oom: make the calculation of
oom badness more accurate"): points = rss + swapents + pgtables_bytes / PAGE_SIZE, plus
oom_score_adj * (totalpages / 1000); -1000 is never chosen. `/proc/PID/oom_score` prints
`(1000 + points * 1000 / totalpages) * 2 / 3` of the same value with totalpages = RAM + swap.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from oomlens.errors import SourceError

PROC = Path("/proc")
CGROUP_FS = Path("/sys/fs/cgroup")
OOM_SCORE_ADJ_MIN = -1000
OOM_SCORE_ADJ_MAX = 1000
# cgroup v1 prints "no limit" as PAGE_COUNTER_MAX pages in bytes (9223372036854771712 with
# 4 KiB pages); v2 prints "max"
UNLIMITED_BYTES = 1 << 60
PF_KTHREAD = 0x00200000  # include/linux/sched.h
# Daemons whose packaging makes them immune on purpose: the machine must stay reachable
# (sshd's unit sets OOMScoreAdjust=-1000), devices must keep appearing, and the userspace
# OOM killers must survive the memory pressure they act on.
EXPECTED_IMMUNE = frozenset(
    {"sshd", "systemd-udevd", "udevd", "auditd", "dmeventd", "multipathd", "iscsid"}
    | {"systemd-oomd", "earlyoom", "nohang", "oomd"}
)
BIG_IMMUNE_KB = 256 * 1024  # an immune process this large is worth a warning


@dataclass(frozen=True, slots=True, kw_only=True)
class Process:
    """One /proc/PID; memory in kB as /proc/PID/status prints it (None: not shown/unreadable)."""

    pid: int
    comm: str
    cmdline: tuple[str, ...] | None  # () for kernel threads and zombies; None: unreadable
    uid: int | None  # real uid
    ppid: int | None
    kernel_thread: bool
    oom_score: int | None  # the kernel's own /proc/PID/oom_score
    oom_score_adj: int | None
    rss_anon_kb: int | None  # None when the process has no mm (kernel thread, zombie)
    rss_file_kb: int | None
    rss_shmem_kb: int | None
    swap_kb: int | None  # VmSwap
    pgtables_kb: int | None  # VmPTE: page tables, mm_pgtables_bytes >> 10
    memcg: str | None  # path in the memory controller's hierarchy, e.g. "/system.slice/x"
    unreadable: tuple[str, ...] = ()  # files of /proc/PID that could not be read

    @property
    def rss_kb(self) -> int | None:
        """RssAnon + RssFile + RssShmem: what get_mm_rss() counts."""
        if self.rss_anon_kb is None:
            return None
        return self.rss_anon_kb + (self.rss_file_kb or 0) + (self.rss_shmem_kb or 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryTotals:
    """/proc/meminfo totals and the page size: the system-wide badness denominator."""

    page_size: int  # bytes
    mem_total_kb: int  # MemTotal: totalram_pages, the managed memory
    swap_total_kb: int

    @property
    def totalpages(self) -> int:
        """totalram_pages() + total_swap_pages, as oom_kill.c and proc_oom_score() use it."""
        return kb_to_pages(self.mem_total_kb + self.swap_total_kb, self.page_size)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemcgLimit:
    """A memory cgroup with a limit: `memory.max` (v2) or `memory.limit_in_bytes` (v1)."""

    path: str
    version: int  # 1 or 2
    limit_bytes: int
    usage_bytes: int | None  # memory.current / memory.usage_in_bytes
    swap_bytes: int | None  # swap it may use on top: v2 memory.swap.max, v1 memsw - limit


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Everything `scores` shows: totals, processes, limited memory cgroups."""

    totals: MemoryTotals
    processes: tuple[Process, ...]
    memcgs: tuple[MemcgLimit, ...]
    vanished: int  # processes that exited while being read


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
    if p.oom_score_adj == OOM_SCORE_ADJ_MIN:
        return None
    rss = kb_to_pages(p.rss_kb or 0, page_size)
    points = (
        rss + kb_to_pages(p.swap_kb or 0, page_size) + kb_to_pages(p.pgtables_kb or 0, page_size)
    )
    return points + p.oom_score_adj * (totalpages // 1000)


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


# -- reading ------------------------------------------------------------------------------


class _Vanished(Exception):
    """The process exited while it was being read."""


def read_snapshot(
    proc_root: Path = PROC, cgroup_root: Path = CGROUP_FS, *, page_size: int | None = None
) -> Snapshot:
    """Every process of `proc_root`, the memory totals and the limited memory cgroups."""
    if page_size is None:
        page_size = os.sysconf("SC_PAGE_SIZE")
    totals = read_totals(proc_root, page_size)
    processes: list[Process] = []
    vanished = 0
    for pid in sorted(int(d) for d in _listdir(proc_root) if d.isdecimal()):
        try:
            processes.append(read_process(proc_root / str(pid), pid))
        except _Vanished:
            vanished += 1
    memcgs = memcg_limits({p.memcg for p in processes if p.memcg}, cgroup_root)
    return Snapshot(
        totals=totals, processes=tuple(processes), memcgs=tuple(memcgs), vanished=vanished
    )


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError as err:
        raise SourceError(f"cannot list {path}: {err.strerror} (is /proc mounted?)") from err


def read_totals(proc_root: Path, page_size: int) -> MemoryTotals:
    """MemTotal and SwapTotal from /proc/meminfo."""
    try:
        text = (proc_root / "meminfo").read_text()
    except OSError as err:
        raise SourceError(f"cannot read {proc_root / 'meminfo'}: {err.strerror}") from err
    fields = _colon_fields(text)
    return MemoryTotals(
        page_size=page_size,
        mem_total_kb=_kb(fields.get("MemTotal")) or 0,
        swap_total_kb=_kb(fields.get("SwapTotal")) or 0,
    )


def read_process(pid_dir: Path, pid: int) -> Process:
    """One /proc/PID. Raises `_Vanished` when the process is gone."""
    unreadable: list[str] = []
    status_text = _read(pid_dir / "status", unreadable)
    status = _colon_fields(status_text or "")
    cmdline_raw = _read(pid_dir / "cmdline", unreadable)
    kthread = status.get("Kthread")  # newer kernels (2024); else PF_KTHREAD in stat
    if kthread is not None:
        kernel_thread = kthread.strip() == "1"
    else:
        kernel_thread = _stat_kthread(_read(pid_dir / "stat", unreadable))
    comm = status.get("Name")
    if comm is None:
        comm = (_read(pid_dir / "comm", unreadable) or "?").strip()
    uid = status.get("Uid")
    ppid = status.get("PPid")
    return Process(
        pid=pid,
        comm=comm.strip(),
        cmdline=None if cmdline_raw is None else _split_cmdline(cmdline_raw),
        uid=int(uid.split()[0]) if uid else None,
        ppid=int(ppid) if ppid and ppid.strip().isdecimal() else None,
        kernel_thread=kernel_thread,
        oom_score=_int(_read(pid_dir / "oom_score", unreadable)),
        oom_score_adj=_int(_read(pid_dir / "oom_score_adj", unreadable)),
        rss_anon_kb=_kb(status.get("RssAnon")),
        rss_file_kb=_kb(status.get("RssFile")),
        rss_shmem_kb=_kb(status.get("RssShmem")),
        swap_kb=_kb(status.get("VmSwap")),
        pgtables_kb=_kb(status.get("VmPTE")),
        memcg=memcg_of(_read(pid_dir / "cgroup", unreadable) or ""),
        unreadable=tuple(unreadable),
    )


def _read(path: Path, unreadable: list[str]) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "backslashreplace")
    except (FileNotFoundError, ProcessLookupError) as err:
        raise _Vanished(str(path)) from err  # ESRCH: cmdline of a process that just exited
    except OSError:
        unreadable.append(path.name)
        return None


def _split_cmdline(raw: str) -> tuple[str, ...]:
    """NUL-separated arguments; empty for kernel threads and zombies."""
    return tuple(raw.removesuffix("\0").split("\0")) if raw else ()


def _stat_kthread(stat: str | None) -> bool:
    """PF_KTHREAD in the flags (9th field) of /proc/PID/stat; the comm may hold spaces."""
    if not stat or ")" not in stat:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    try:
        return bool(int(fields[6]) & PF_KTHREAD)
    except (IndexError, ValueError):
        return False


def memcg_of(cgroup_text: str) -> str | None:
    """The memory cgroup path from /proc/PID/cgroup: the v1 `memory` line, else the v2 one."""
    v2 = None
    for line in cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if "memory" in controllers.split(","):
            return path
        if hierarchy == "0" and not controllers:
            v2 = path
    return v2


def memcg_limits(paths: Iterable[str], cgroup_root: Path) -> list[MemcgLimit]:
    """Every cgroup among `paths` and their ancestors that has a memory limit."""
    v1 = cgroup_root / "memory"
    if (v1 / "memory.limit_in_bytes").exists() or (v1 / "memory.stat").exists():
        version, base = 1, v1
    else:
        version, base = 2, cgroup_root
    candidates: set[str] = set()
    for path in paths:
        parts = [s for s in path.split("/") if s]
        candidates.update("/" + "/".join(parts[:i]) for i in range(len(parts) + 1))
    out = []
    for path in sorted(candidates):
        limit = _memcg_limit(base / path.lstrip("/"), path, version)
        if limit is not None:
            out.append(limit)
    return out


def _memcg_limit(d: Path, path: str, version: int) -> MemcgLimit | None:
    if version == 1:
        limit = _bytes(d / "memory.limit_in_bytes")
        usage = _bytes(d / "memory.usage_in_bytes")
        memsw = _bytes(d / "memory.memsw.limit_in_bytes")
        swap = None if memsw is None or limit is None else max(memsw - limit, 0)
    else:
        limit = _bytes(d / "memory.max")
        usage = _bytes(d / "memory.current")
        swap = _bytes(d / "memory.swap.max")
    if limit is None:
        return None
    return MemcgLimit(
        path=path, version=version, limit_bytes=limit, usage_bytes=usage, swap_bytes=swap
    )


def _bytes(path: Path) -> int | None:
    """A cgroup memory file in bytes; None when absent, unreadable or unlimited."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text.isdecimal():
        return None  # "max"
    value = int(text)
    return None if value >= UNLIMITED_BYTES else value


def _colon_fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key] = value.strip()
    return out


def _kb(value: str | None) -> int | None:
    if value is None:
        return None
    number = value.split()[0] if value.split() else ""
    return int(number) if number.isdecimal() else None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None
