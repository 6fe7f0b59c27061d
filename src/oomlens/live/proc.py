"""Read /proc now: every process with its memory, the kernel's oom_score and ours; who dies next.

`read_snapshot(proc_root, cgroup_root)` reads each /proc/PID (status, cmdline, oom_score,
oom_score_adj, cgroup) and the limit of every memory cgroup that has one. Both roots are
injectable, so tests build a tree under `tmp_path`. A process that vanishes while it is read
is skipped (and counted); a file that cannot be read (hidepid, permissions) leaves its fields
`None` and names the file in `Process.unreadable`.

The ranking replays the kernel's oom_badness(): it is in `live.badness`, whose names are
re-exported here (`oom_badness`, `oom_score`, `choose`, `audit`...).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from oomlens.errors import SourceError
from oomlens.live.badness import (
    BIG_IMMUNE_KB,
    EXPECTED_IMMUNE,
    OOM_SCORE_ADJ_MAX,
    OOM_SCORE_ADJ_MIN,
    AuditItem,
    Choice,
    audit,
    choose,
    in_memcg,
    kb_to_pages,
    memcg_totalpages,
    oom_badness,
    oom_score,
    rank,
)

__all__ = [
    "BIG_IMMUNE_KB",
    "CGROUP_FS",
    "EXPECTED_IMMUNE",
    "OOM_SCORE_ADJ_MAX",
    "OOM_SCORE_ADJ_MIN",
    "PF_KTHREAD",
    "PROC",
    "UNLIMITED_BYTES",
    "AuditItem",
    "Choice",
    "MemcgLimit",
    "MemoryTotals",
    "Process",
    "Snapshot",
    "audit",
    "choose",
    "in_memcg",
    "kb_to_pages",
    "memcg_limits",
    "memcg_of",
    "memcg_totalpages",
    "oom_badness",
    "oom_score",
    "rank",
    "read_process",
    "read_snapshot",
    "read_totals",
]

PROC = Path("/proc")
CGROUP_FS = Path("/sys/fs/cgroup")
# cgroup v1 prints "no limit" as PAGE_COUNTER_MAX pages in bytes (9223372036854771712 with
# 4 KiB pages); v2 prints "max"
UNLIMITED_BYTES = 1 << 60
PF_KTHREAD = 0x00200000  # include/linux/sched.h


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
