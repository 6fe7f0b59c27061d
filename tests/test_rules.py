"""Each rule on a real log that shows it, and on one where it must stay quiet.

Evidence is checked against the case file itself: every cited line must hold the field
the finding rests on. Rules with no real log in tests/cases are tested on hand-made events
(the growth branch of memory_leak, the reaper branches of victim_not_freed); fork_bomb has a
real log made here with memcg-oom (80 workers) as well as a hand-made one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conftest import CASES
from helpers import case_events, case_paths
from oomlens.analyze.history import recurring, seconds_between, timeline
from oomlens.analyze.rules import RULES, SEVERITIES, Context, findings
from oomlens.model import (
    Finding,
    Kill,
    MemInfo,
    OomEvent,
    Reaped,
    Scope,
    Swap,
    Task,
    TaskTable,
)

MANUAL = "040-5.13-ubuntu-sysrq-f-manual-oom-order-minus1-stripped.log"
NIXOS_MANUAL = "adamflott-nixos-6.18.log"
GLOBAL = "real-6.18-global-oom.log"
SLAB = "015-5.4-arm64-slab-kmemleak-order1-panic-mailwrapped.log"
HIGHMEM = "001-2.6.28-i386-highmem-slab-syslog.log"
FRAG = "020-4.4-arm32-qualcomm-order3-fork-fragmentation.log"
CMA = "022-5.4-arm64-panic_on_oom-cma-trap-kdb.log"
HUGETLB = "027-5.10-debian-syslog-ufw-interleaved-hugetlb-1G.log"
SHMEM = "real-6.18-memcg-v1-shmem.log"
OOMGROUP = "007-6.x-k8s-cgroup2-oomgroup-grep-fragment.log"
ADJ1000 = "real-6.18-memcg-v1-adj1000.log"
LOOP = "omexp-containerd2-4.18.log"
WORKERS = "real-6.18-memcg-v1-many-workers.log"
EXEMPT = "006-6.11-qemu-stress-ng-global-dmesg.log"
AKS = "010-5.15-azure-aks-cgroup2-pod-syslog.log"
SINGLE = "real-6.18-memcg-v1-single.log"
NO_KILLABLE = "008-3.19-panic-no-killable-processes-serial-truncated.log"
RHEL7 = "oomanalyser-rhel7-3.10.log"
ANDROID = "032-4.14-android-traced_probes-order2-header-only.log"
TASK_IN = "029-kmsg-raw-format-memcg-task-in-lines.log"
SYSRQ_PANIC = "023-sysrq-f-panic_on_oom-syslogd-wall-broadcast.log"


def run(name: str, index: int = 0) -> dict[str, Finding]:
    events = case_events(name)
    return {f.rule: f for f in findings(events[index], Context.for_event(events, index))}


def text(name: str, line_no: int) -> str:
    return (CASES / name).read_text(errors="replace").splitlines()[line_no - 1]


def cites(name: str, finding: Finding, *fields: str) -> None:
    """Each field appears on at least one evidence line of the case file."""
    cited = [text(name, n) for n in finding.evidence]
    for field in fields:
        assert any(field in line for line in cited), (field, finding.evidence, cited)


# ---------------------------------------------------------------------------------------
# What happened, as the kernel or the admin decided it


def test_manual_oom_is_not_called_exhaustion() -> None:
    found = run(MANUAL)
    f = found["manual_oom"]
    assert (f.severity, f.confidence) == ("info", "high")
    assert "not exhausted" in f.summary and "1.6 GiB of 2.0 GiB" in f.summary
    cites(MANUAL, f, "order=-1", "moom_callback", "free:427891", "Killed process 651")
    assert not {"workload_too_big", "memory_leak", "slab_leak"} & set(found)


def test_manual_oom_nixos_keeps_the_adj_1000_pick() -> None:
    found = run(NIXOS_MANUAL)
    assert "not exhausted" in found["manual_oom"].summary
    audit = found["protection_audit"]
    assert audit.severity == "warning" and "jellyfin" in audit.summary
    cites(NIXOS_MANUAL, audit, "oom_score_adj:1000", " jellyfin")
    assert "workload_too_big" not in found and "memory_leak" not in found


def test_manual_oom_quiet_on_a_real_shortage() -> None:
    assert "manual_oom" not in run(GLOBAL)


@pytest.mark.parametrize("name", [CMA, SYSRQ_PANIC])
def test_panic_on_oom(name: str) -> None:
    f = run(name)["panic_on_oom"]
    assert (f.severity, f.confidence) == ("critical", "high")
    assert "vm.panic_on_oom=0" in f.advice[0]
    cites(name, f, "system-wide panic_on_oom is enabled")


def test_panic_on_oom_quiet_on_the_no_killable_panic() -> None:
    assert "panic_on_oom" not in run(NO_KILLABLE)


def test_oom_group() -> None:
    f = run(OOMGROUP)["oom_group"]
    assert f.severity == "info" and "1 process: node 22609" in f.summary
    assert "singleProcessOOMKill" in f.advice[0]
    cites(OOMGROUP, f, "memory.oom.group set", "Killed process 22609")


def test_oom_group_quiet_without_group_kill() -> None:
    assert "oom_group" not in run(AKS)


def test_protection_audit_exempt_tasks_and_volunteer() -> None:
    f = run(EXEMPT)["protection_audit"]
    assert "2 of 4 tasks are exempt" in f.summary and "oom_score_adj is 1000" in f.summary
    rows = [n for n in f.evidence if text(EXEMPT, n).endswith(("stress-ng", "stress-ng-vm"))]
    assert rows == [64, 65] and all(" -1000 " in text(EXEMPT, n) for n in rows)
    cites(EXEMPT, f, "-1000 stress-ng", "oom_score_adj:1000")


def test_protection_audit_adj_1000_spared_the_big_one() -> None:
    f = run(ADJ1000, 0)["protection_audit"]
    assert f.severity == "warning"
    assert "python3 (pid 7726)" in f.summary and "pid 7768" in f.summary
    cites(ADJ1000, f, "Killed process 7726", "[   7768]")


def test_protection_audit_no_killable_process() -> None:
    f = run(NO_KILLABLE)["protection_audit"]
    assert (f.severity, f.confidence) == ("critical", "high")
    assert "16 of 16 tasks are exempt" in f.summary
    cites(NO_KILLABLE, f, "no killable processes", "-1000 resvtest")


def test_protection_audit_quiet_on_usual_exemptions() -> None:
    # sshd, systemd-udevd and multipathd at -1000 are normal: 3 of 23 rows, 14% of memory
    assert "protection_audit" not in run(MANUAL)
    assert "protection_audit" not in run(GLOBAL)


# ---------------------------------------------------------------------------------------
# Who held the memory


def test_memory_leak_one_outlier() -> None:
    f = run(GLOBAL)["memory_leak"]
    assert (f.severity, f.confidence) == ("warning", "medium")
    assert "python3 (pid 1987) held 23.3 GiB" in f.summary
    assert "one snapshot cannot tell" in f.summary
    cites(GLOBAL, f, "python3", "pages RAM", "Killed process 1987")


def test_memory_leak_counts_swap_in_the_total() -> None:
    f = run("cadvisor-system-4.8-kmsg.log")["memory_leak"]
    assert "of RAM + swap" in f.summary
    cites("cadvisor-system-4.8-kmsg.log", f, "Total swap", "gunpowder-memho")


@pytest.mark.parametrize("name", [LOOP, FRAG, MANUAL, HUGETLB])
def test_memory_leak_quiet(name: str) -> None:
    # no outlier (a pod of many workers), a fragmentation OOM, a manual one, clamd 8% of RAM
    assert "memory_leak" not in run(name)


def test_workload_too_big() -> None:
    f = run(RHEL7)["workload_too_big"]
    assert (f.severity, f.confidence) == ("warning", "high")
    assert "No single process stands out (mysqld" in f.summary and "swap is full" in f.summary
    cites(RHEL7, f, "active_file:1263", "Free swap  = 0kB", "pages RAM", "mysqld")


@pytest.mark.parametrize("name", [MANUAL, NIXOS_MANUAL, GLOBAL, SINGLE, CMA])
def test_workload_too_big_quiet(name: str) -> None:
    assert "workload_too_big" not in run(name)


def test_slab_leak_kmemleak() -> None:
    f = run(SLAB)["slab_leak"]
    assert (f.severity, f.confidence) == ("critical", "high")
    assert "3.0 GiB (39% of 7.8 GiB RAM" in f.summary and "kmemleak_object at 2.3 GiB" in f.summary
    assert any("kmemleak=off" in a for a in f.advice)
    cites(SLAB, f, "slab_unreclaimable:795718", "kmemleak_object", "pages RAM")


def test_slab_leak_old_kernel_single_slab_figure() -> None:
    f = run(HIGHMEM)["slab_leak"]
    assert (f.severity, f.confidence) == ("critical", "medium")
    cites(HIGHMEM, f, "slab:202882", "259840 pages RAM")


@pytest.mark.parametrize("name", [GLOBAL, MANUAL, RHEL7])
def test_slab_leak_quiet(name: str) -> None:
    assert "slab_leak" not in run(name)


def test_shmem_tmpfs_in_a_cgroup() -> None:
    f = run(SHMEM, 0)["shmem_tmpfs"]
    assert (f.severity, f.confidence) == ("critical", "high")
    assert "38.2 MiB (95% of the cgroup limit 40.0 MiB)" in f.summary
    assert "stays charged to /oomtest-e" in f.summary
    cites(SHMEM, f, "shmem 40042496", "memory: usage 40960kB", "Killed process 8003")


@pytest.mark.parametrize("name", [CMA, SLAB, AKS])
def test_shmem_tmpfs_quiet(name: str) -> None:
    # 88 MiB of 2 GiB, 8% of 8 GiB, 2 MiB of a 100 MiB pod
    assert "shmem_tmpfs" not in run(name)


def test_hugetlb_reserved_1g_pages() -> None:
    f = run(HUGETLB)["hugetlb_reserved"]
    assert f.severity == "warning"
    assert "2 x 1.0 GiB" in f.summary and "12 x 2.0 MiB" in f.summary
    assert "hugepagesz=1G" in f.advice[0] and "vm.nr_hugepages" in f.advice[0]
    cites(HUGETLB, f, "hugepages_total=2 ", "hugepages_total=12 ", "pages RAM")


@pytest.mark.parametrize("name", [EXEMPT, GLOBAL])
def test_hugetlb_reserved_quiet(name: str) -> None:
    assert "hugetlb_reserved" not in run(name)


def test_memcg_limit_too_small_single() -> None:
    f = run(SINGLE)["memcg_limit_too_small"]
    assert (f.severity, f.confidence) == ("warning", "medium")
    assert "/oomtest-a hit its memory limit of 40.0 MiB" in f.summary
    assert "MemoryHigh" not in f.advice[0] and "memory.high to about 36 MiB" in f.advice[0]
    cites(SINGLE, f, "memory: usage 40960kB, limit 40960kB, failcnt 3850")


def test_memcg_limit_too_small_kubernetes_pod() -> None:
    f = run(AKS)["memcg_limit_too_small"]
    assert f.summary.startswith("pod 5931aa75-4603-4e65-b552-7c71cf55cfb5 hit its memory limit")
    assert "resources.limits.memory" in f.advice[0]
    cites(AKS, f, "memory: usage 102400kB", "oom_memcg=/kubepods.slice")


def test_memcg_limit_too_small_memory_swap_capped_too() -> None:
    name = "cadvisor-container-4.8-kmsg.log"
    f = run(name)["memcg_limit_too_small"]
    assert f.summary.startswith("Docker container 66ece93b397d hit its memory limit of 10.0 MiB")
    assert "memory+swap is at its 20.0 MiB limit too" in f.summary
    assert "docker update --memory" in f.advice[0] and "--memory-swap" in f.advice[1]
    cites(name, f, "memory: usage 10240kB", "Task in /docker/66ece93b397d")


def test_memcg_limit_too_small_repeated() -> None:
    f = run(LOOP, 3)["memcg_limit_too_small"]
    assert (f.severity, f.confidence) == ("critical", "high")
    assert "7 times" in f.summary


def test_memcg_limit_too_small_thin_evidence() -> None:
    f = run(TASK_IN, 1)["memcg_limit_too_small"]
    assert f.confidence == "low" and "evidence is thin" in f.summary
    cites(TASK_IN, f, "killed as a result of limit of")


@pytest.mark.parametrize("name", [GLOBAL, MANUAL])
def test_memcg_limit_too_small_quiet_on_system_oom(name: str) -> None:
    assert "memcg_limit_too_small" not in run(name)


# ---------------------------------------------------------------------------------------
# How the allocation failed


def test_fragmentation_order_3() -> None:
    f = run(FRAG)["fragmentation"]
    assert (f.severity, f.confidence) == ("warning", "high")
    assert "order-3 allocation (32 KiB contiguous)" in f.summary
    assert "largest free block was 16 KiB" in f.summary
    assert "1696 kB" in f.advice[0]
    cites(FRAG, f, "order=3", "Normal free:4248kB", "Normal: 752*4kB")


def test_fragmentation_cma_trap() -> None:
    f = run(CMA)["fragmentation"]
    assert f.summary.startswith("CMA trap: DMA32 had 517 MiB free, but 512 MiB of it was CMA")
    assert "GFP_KERNEL_ACCOUNT" in f.summary
    cites(CMA, f, "free_cma:130962", "DMA32 free:529024kB", "(C)", "cma reserved")


def test_fragmentation_without_buddy_lists_is_low_confidence() -> None:
    f = run(ANDROID)["fragmentation"]
    assert (f.severity, f.confidence) == ("info", "low")
    assert "cannot be confirmed" in f.summary
    cites(ANDROID, f, "order=2")


@pytest.mark.parametrize("name", [SLAB, GLOBAL, MANUAL])
def test_fragmentation_quiet(name: str) -> None:
    # order-1 with Normal below min (a shortage); order 0; order -1
    assert "fragmentation" not in run(name)


def test_lowmem_exhaustion() -> None:
    f = run(HIGHMEM)["lowmem_exhaustion"]
    assert (f.severity, f.confidence) == ("warning", "high")
    assert "Normal had 3.7 MiB free" in f.summary and "HighMem still had 22.6 MiB free" in f.summary
    cites(HIGHMEM, f, "Normal free:3744kB", "HighMem free:23184kB", "pages HighMem")


@pytest.mark.parametrize("name", [GLOBAL, FRAG])
def test_lowmem_exhaustion_quiet(name: str) -> None:
    assert "lowmem_exhaustion" not in run(name)


@pytest.mark.parametrize(
    ("name", "index", "caller"),
    [
        (FRAG, 0, "copy_process"),
        (SLAB, 0, "getname_flags"),
        (ANDROID, 0, "tracing_buffers_open"),
        (HIGHMEM, 0, "pgd_alloc"),
        (LOOP, 2, "__alloc_file"),
    ],
)
def test_kernel_allocation_names_the_caller(name: str, index: int, caller: str) -> None:
    f = run(name, index)["kernel_allocation"]
    assert f.severity == "info" and f"from {caller}" in f.summary
    cites(name, f, caller)


@pytest.mark.parametrize("name", [EXEMPT, CMA, GLOBAL, SINGLE, SHMEM, MANUAL])
def test_kernel_allocation_quiet_on_user_faults_and_memcg_charges(name: str) -> None:
    # 006 and 022 allocate page tables for a user fault; 6.x memcg charges say GFP_KERNEL
    assert "kernel_allocation" not in run(name)


# ---------------------------------------------------------------------------------------
# Across the events of one input


def test_oom_loop_seven_kills_of_one_pod() -> None:
    for i in range(7):
        f = run(LOOP, i)["oom_loop"]
        assert (f.severity, f.confidence) == ("critical", "high")
        assert f"7 times in this log, every 95 min on average; this is number {i + 1}" in f.summary
        assert len(f.evidence) == 7
        assert all("Killed process" in text(LOOP, n) for n in f.evidence)


def test_oom_loop_two_quick_kills() -> None:
    f = run(SHMEM, 1)["oom_loop"]
    assert "twice in this log, 4 ms apart" in f.summary and f.confidence == "medium"


@pytest.mark.parametrize(("name", "index"), [(SINGLE, 0), (TASK_IN, 0), (GLOBAL, 0)])
def test_oom_loop_quiet(name: str, index: int) -> None:
    # one kill; two different pods
    assert "oom_loop" not in run(name, index)


def test_victim_not_freed_shmem_stays() -> None:
    f = run(SHMEM, 0)["victim_not_freed"]
    assert (f.severity, f.confidence) == ("critical", "high")
    assert "4 ms later /oomtest-e ran out again with 38.5 MiB of shmem" in f.summary
    cites(SHMEM, f, "Killed process 8003", "shmem 40042496", "shmem 40333312")


@pytest.mark.parametrize(("name", "index"), [(SHMEM, 1), (LOOP, 0), (ADJ1000, 0)])
def test_victim_not_freed_quiet(name: str, index: int) -> None:
    # the last kill has no later event; reaped to 0 kB; anon memory, not shmem
    assert "victim_not_freed" not in run(name, index)


# ---------------------------------------------------------------------------------------
# Hand-made events: patterns no case file in tests/cases shows


def bare(**kw: object) -> OomEvent:
    fields: dict[str, object] = {
        "source": "hand-made",
        "host": None,
        "time": None,
        "uptime_s": None,
        "boot_id": None,
        "kernel": None,
        "first_line": 1,
        "last_line": 1,
        "complete": False,
        "missing": ("header", "stack", "meminfo", "tasks"),
        "scope": None,
        "trigger": None,
        "stack": None,
        "meminfo": None,
        "swap": None,
        "memcg": None,
        "tasks": None,
        "summary": None,
        "selection": None,
        "victim": None,
    }
    fields.update(kw)
    return OomEvent(**fields)  # type: ignore[arg-type]


def kill(line_no: int, pid: int = 4242, comm: str = "java", anon_kb: int = 1 << 20) -> Kill:
    return Kill(line_no=line_no, prefix="Out of memory", pid=pid, comm=comm, anon_rss_kb=anon_kb)


def row(line_no: int, pid: int, comm: str, rss_pages: int, adj: int = 0) -> Task:
    return Task(
        line_no=line_no,
        pid=pid,
        uid=0,
        tgid=pid,
        total_vm_pages=rss_pages * 2,
        rss_pages=rss_pages,
        pgtables_bytes=65536,
        swapents=0,
        oom_score_adj=adj,
        comm=comm,
    )


def test_every_rule_returns_none_on_a_bare_kill_line() -> None:
    event = bare(victim=kill(1), missing=("header", "stack", "meminfo", "tasks"))
    ctx = Context(events=(event,))
    assert [rule(event, ctx) for rule in RULES] == [None] * len(RULES)
    assert findings(event, ctx) == ()


def test_rules_take_an_event_outside_the_context() -> None:
    event = bare(victim=kill(1))
    assert findings(event, Context()) == ()


def test_fork_bomb_hand_made() -> None:
    bombs = tuple(row(10 + i, 1000 + i, "bash", 2000) for i in range(300))
    table = TaskTable(line_no=9, columns=("pid", "rss", "name"), rows=bombs)
    mem = MemInfo(line_no=2, counters_pages={"free": 100}, totals_pages={"RAM": 524288})
    event = bare(scope=Scope.SYSTEM, tasks=table, meminfo=mem, victim=kill(400, 1299, "bash"))
    f = findings(event, Context(events=(event,)))
    bomb = next(x for x in f if x.rule == "fork_bomb")
    assert (bomb.severity, bomb.confidence) == ("critical", "high")
    assert bomb.summary.startswith("300 of 300 tasks are bash")
    assert 9 in bomb.evidence and 10 in bomb.evidence
    assert "TasksMax=" in bomb.advice[0]


def test_fork_bomb_on_a_real_runaway_pool() -> None:
    # real 6.18 kernel: 80 python3 workers of 6 MiB each started under a 300M memcg limit
    bomb = run(WORKERS)["fork_bomb"]
    assert bomb.severity == "critical"
    assert bomb.summary.startswith(
        "72 of 83 tasks are python3, holding 287 MiB together of their own"
    )
    assert "96% of the cgroup limit" in bomb.summary
    assert "python3" in text(WORKERS, bomb.evidence[-1])  # a task row
    assert "TasksMax=" in bomb.advice[0]


def test_fork_bomb_quiet_on_many_idle_tasks() -> None:
    # 41 umount processes of 55 rows in 015, holding almost nothing
    assert "fork_bomb" not in run(SLAB)
    assert "fork_bomb" not in run(LOOP)


def test_memory_leak_growth_across_kills_hand_made() -> None:
    events = tuple(
        bare(scope=Scope.SYSTEM, uptime_s=100.0 * i, victim=kill(10 * i, 4000 + i, "java", kb))
        for i, kb in enumerate((1 << 20, 3 << 19, 2 << 20), start=1)
    )
    f = {x.rule: x for x in findings(events[2], Context(events=events, index=2))}
    leak = f["memory_leak"]
    assert (leak.severity, leak.confidence) == ("critical", "high")
    assert "killed 3 times" in leak.summary and "from 1.0 GiB to 2.0 GiB" in leak.summary
    assert leak.evidence == (10, 20, 30)
    assert "3 times in this log, every 100 s on average; this is number 3" in f["oom_loop"].summary


def test_victim_not_freed_reaper_failure_hand_made() -> None:
    failed = Reaped(
        line_no=3,
        pid=4242,
        comm="java",
        anon_rss_kb=None,
        file_rss_kb=None,
        shmem_rss_kb=None,
        success=False,
    )
    event = bare(victim=kill(2), reaped=(failed,))
    f = {x.rule: x for x in findings(event, Context(events=(event,)))}["victim_not_freed"]
    assert (f.severity, f.confidence) == ("critical", "high")
    assert f.evidence == (2, 3) and "could not reap java" in f.summary


def test_victim_not_freed_reaper_left_memory_hand_made() -> None:
    left = Reaped(
        line_no=3,
        pid=4242,
        comm="java",
        anon_rss_kb=900_000,
        file_rss_kb=0,
        shmem_rss_kb=0,
        success=True,
    )
    event = bare(victim=kill(2, anon_kb=1_000_000), reaped=(left,))
    f = {x.rule: x for x in findings(event, Context(events=(event,)))}["victim_not_freed"]
    assert f.severity == "warning" and "still held 879 MiB" in f.summary


def test_workload_too_big_without_table_is_hedged() -> None:
    events = case_events(RHEL7)
    event = replace(events[0], tasks=None, missing=("tasks",))
    f = {x.rule: x for x in findings(event, Context(events=(event,)))}["workload_too_big"]
    assert f.confidence == "medium" and "the log lacks the task table" in f.summary


def test_swap_free_means_not_too_big() -> None:
    events = case_events(RHEL7)
    swap = Swap(line_no=52, total_kb=8388604, free_kb=4000000)
    event = replace(events[0], swap=swap)
    assert "workload_too_big" not in {x.rule for x in findings(event, Context(events=(event,)))}


# ---------------------------------------------------------------------------------------
# Every rule on every event of every case: no exception, a well-formed finding


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.name)
def test_findings_are_well_formed(path: Path) -> None:
    name = path.name
    events = case_events(name)
    n_lines = len((CASES / name).read_text(errors="replace").splitlines())
    for i, event in enumerate(events):
        found = findings(event, Context.for_event(events, i))
        ranks = [SEVERITIES.index(f.severity) for f in found]
        assert ranks == sorted(ranks)
        for f in found:
            assert f.confidence in ("high", "medium", "low")
            assert f.summary.endswith(".") and "None" not in f.summary
            assert f.evidence and all(1 <= n <= n_lines for n in f.evidence), f
            assert f.advice and all(a.strip() for a in f.advice)


# ---------------------------------------------------------------------------------------
# history


def test_timeline_and_recurring_on_the_pod_loop() -> None:
    events = case_events(LOOP)
    tl = timeline(events)
    assert [t["victim"] for t in tl] == ["framework"] * 7
    assert tl[0]["memcg"] == "/kubepods/burstable/pod62015ce8-a46f-4b0e-a5a1-3082235c62dd"
    assert tl[0]["anon_kb"] == 110312 and tl[0]["scope"] == "memcg"
    cgroup, process = recurring(events)
    assert (cgroup.kind, cgroup.count, process.kind, process.key) == (
        "cgroup",
        7,
        "process",
        "framework",
    )
    assert cgroup.span_s == pytest.approx(34365327.044983 - 34331128.681171, abs=1.0)
    assert not cgroup.growing  # 98-113 MiB a kill: steady, a limit problem, not a leak


def test_recurring_keeps_different_pods_apart() -> None:
    assert recurring(case_events(TASK_IN)) == ()


def test_seconds_between_falls_back_to_wall_time() -> None:
    a = bare(time="2026-09-04T03:30:04")
    b = bare(time="2026-09-04T05:00:03+00:00")
    assert seconds_between(a, b) == 5399.0
    assert seconds_between(bare(), bare()) is None
