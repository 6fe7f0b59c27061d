"""`oomlens scores`: /proc read into processes, ranked as oom_badness() would, on a fake /proc
tree under tmp_path and on the real one."""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomlens.commands_live import register
from oomlens.live.proc import (
    MemoryTotals,
    Process,
    audit,
    choose,
    memcg_of,
    oom_badness,
    oom_score,
    read_snapshot,
)
from oomlens.live.scores_view import scores_document

PAGE = 4096
MEM_TOTAL_KB = 1_000_000  # 250000 pages: adj unit = 250 pages


def add_process(
    proc: Path,
    pid: int,
    comm: str,
    *,
    anon_kb: int | None = 1000,
    file_kb: int = 0,
    shmem_kb: int = 0,
    swap_kb: int = 0,
    pte_kb: int = 40,
    adj: int = 0,
    score: int = 666,
    uid: int = 1000,
    ppid: int = 1,
    cmdline: str | None = None,
    cgroup: str = "0::/user.slice\n",
    kthread: bool = False,
) -> Path:
    """One /proc/PID as the kernel writes it (status fields in kB)."""
    d = proc / str(pid)
    d.mkdir(parents=True)
    status = f"Name:\t{comm}\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{ppid}\n"
    status += f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
    if anon_kb is not None:  # kernel threads and zombies have no mm: no Vm*/Rss* lines
        status += textwrap.dedent(f"""\
            VmRSS:\t{anon_kb + file_kb + shmem_kb} kB
            RssAnon:\t{anon_kb} kB
            RssFile:\t{file_kb} kB
            RssShmem:\t{shmem_kb} kB
            VmPTE:\t{pte_kb} kB
            VmSwap:\t{swap_kb} kB
            """)
    status += f"Kthread:\t{int(kthread)}\n"
    (d / "status").write_text(status)
    args = cmdline if cmdline is not None else ("" if kthread else f"/usr/bin/{comm}\0--flag\0")
    (d / "cmdline").write_text(args)
    (d / "oom_score").write_text(f"{score}\n")
    (d / "oom_score_adj").write_text(f"{adj}\n")
    (d / "cgroup").write_text(cgroup)
    return d


def fake_proc(root: Path, swap_kb: int = 0) -> Path:
    proc = root / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text(
        f"MemTotal:       {MEM_TOTAL_KB} kB\nMemFree:  5000 kB\nSwapTotal:      {swap_kb} kB\n"
    )
    (proc / "self").mkdir()  # not a pid: ignored
    return proc


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    p = fake_proc(tmp_path)
    add_process(p, 1, "systemd", anon_kb=8000, uid=0, ppid=0, score=0)
    add_process(p, 2, "kthreadd", anon_kb=None, uid=0, ppid=0, score=0, kthread=True)
    add_process(p, 100, "postgres", anon_kb=100 * 1024, file_kb=2048, pte_kb=400)
    add_process(p, 200, "batch", anon_kb=50 * 1024, adj=500, swap_kb=4096)
    add_process(p, 300, "vault", anon_kb=500 * 1024, adj=-1000, uid=0, score=0)
    add_process(p, 400, "defunct", anon_kb=None, score=0)  # a zombie: no mm
    return p


def test_badness_is_the_kernels_formula(proc: Path) -> None:
    snap = read_snapshot(proc, proc / "no-cgroupfs", page_size=PAGE)
    assert snap.totals == MemoryTotals(page_size=PAGE, mem_total_kb=MEM_TOTAL_KB, swap_total_kb=0)
    by_pid = {p.pid: p for p in snap.processes}
    total = snap.totals.totalpages
    assert total == 250_000
    # rss + swap + pgtables, in pages; + adj * (totalpages / 1000)
    assert oom_badness(by_pid[100], total, PAGE) == (100 * 1024 + 2048) // 4 + 400 // 4
    assert oom_badness(by_pid[200], total, PAGE) == 50 * 256 + 1024 + 10 + 500 * 250
    assert oom_badness(by_pid[300], total, PAGE) is None  # -1000: never
    assert oom_badness(by_pid[1], total, PAGE) is None  # init is unkillable
    assert oom_badness(by_pid[2], total, PAGE) is None  # kernel thread
    assert oom_badness(by_pid[400], total, PAGE) is None  # zombie: no mm
    # proc_oom_score(): (1000 + points * 1000 / totalpages) * 2 / 3
    assert oom_score(138_034, total) == (1000 + 552) * 2 // 3
    assert oom_score(None, total) == 0
    assert oom_score(-124_000, total) == (1000 - 496) * 2 // 3  # C truncates toward zero


def test_next_victim_system_wide(proc: Path) -> None:
    snap = read_snapshot(proc, proc / "no-cgroupfs", page_size=PAGE)
    choice = choose(snap)
    assert choice.victim is not None and choice.victim.pid == 200  # adj 500 beats 2x the rss
    assert choice.runner_up is not None and choice.runner_up.pid == 100
    assert snap.vanished == 0


def test_process_fields(proc: Path) -> None:
    snap = read_snapshot(proc, proc / "no-cgroupfs", page_size=PAGE)
    p = next(p for p in snap.processes if p.pid == 100)
    assert p == Process(
        pid=100,
        comm="postgres",
        cmdline=("/usr/bin/postgres", "--flag"),
        uid=1000,
        ppid=1,
        kernel_thread=False,
        oom_score=666,
        oom_score_adj=0,
        rss_anon_kb=102400,
        rss_file_kb=2048,
        rss_shmem_kb=0,
        swap_kb=0,
        pgtables_kb=400,
        memcg="/user.slice",
    )
    k = next(p for p in snap.processes if p.pid == 2)
    assert k.kernel_thread and k.cmdline == () and k.rss_kb is None


def test_kernel_thread_from_stat_flags_on_older_kernels(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)
    d = add_process(proc, 2, "kthreadd", anon_kb=None)
    (d / "status").write_text("Name:\tkthreadd\nPPid:\t0\nUid:\t0\t0\t0\t0\n")  # no Kthread:
    # flags (9th field) 0x208040 has PF_KTHREAD; the comm holds a space and a ")"
    (d / "stat").write_text("2 (k) thread) S 0 0 0 0 -1 2129984 0 0 0 0\n")
    (p,) = read_snapshot(proc, tmp_path, page_size=PAGE).processes
    assert p.kernel_thread


def test_vanished_processes_are_skipped_and_unreadable_ones_shown(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)
    add_process(proc, 10, "ok")
    (add_process(proc, 11, "gone") / "cmdline").unlink()  # exited between two reads
    (proc / "12").mkdir()  # exited before its files were read
    hidden = add_process(proc, 13, "hidden")
    (hidden / "oom_score").unlink()
    (hidden / "oom_score").mkdir()  # read() fails with EISDIR, not ENOENT: unreadable
    snap = read_snapshot(proc, tmp_path, page_size=PAGE)
    assert [p.pid for p in snap.processes] == [10, 13]
    assert snap.vanished == 2
    h = snap.processes[1]
    assert h.unreadable == ("oom_score",)
    assert h.oom_score is None
    assert h.oom_score_adj == 0  # the rest is still read


def test_memcg_v1_limits_and_victims(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)
    v1 = "12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n0::/\n"
    add_process(proc, 100, "big-outside", anon_kb=400 * 1024, cgroup="12:memory:/\n")
    add_process(proc, 200, "app", anon_kb=30 * 1024, cgroup=v1)
    add_process(proc, 201, "sidecar", anon_kb=10 * 1024, cgroup="12:memory:/docker/abc/x\n")
    cg = tmp_path / "cgroup"
    (cg / "memory" / "docker" / "abc").mkdir(parents=True)
    (cg / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (cg / "memory" / "docker" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    abc = cg / "memory" / "docker" / "abc"
    (abc / "memory.limit_in_bytes").write_text(f"{64 << 20}\n")
    (abc / "memory.usage_in_bytes").write_text(f"{41 << 20}\n")
    (abc / "memory.memsw.limit_in_bytes").write_text("9223372036854771712\n")
    snap = read_snapshot(proc, cg, page_size=PAGE)
    (limit,) = snap.memcgs  # the unlimited root and /docker are not listed
    assert (limit.path, limit.version, limit.limit_bytes) == ("/docker/abc", 1, 64 << 20)
    assert limit.usage_bytes == 41 << 20
    inside = choose(snap, "/docker/abc")
    assert inside.victim is not None and inside.victim.pid == 200
    assert inside.totalpages == (64 << 20) // PAGE  # no swap on the host
    assert choose(snap).victim is not None and choose(snap).victim.pid == 100  # type: ignore[union-attr]


def test_memcg_v2_limit_with_swap(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, swap_kb=1024 * 1024)
    add_process(proc, 300, "web", anon_kb=20 * 1024, cgroup="0::/system.slice/web.service\n")
    cg = tmp_path / "cgroup"
    svc = cg / "system.slice" / "web.service"
    svc.mkdir(parents=True)
    (cg / "cgroup.controllers").write_text("cpu io memory pids\n")
    (cg / "system.slice" / "memory.max").write_text("max\n")
    (svc / "memory.max").write_text(f"{256 << 20}\n")
    (svc / "memory.current").write_text(f"{100 << 20}\n")
    (svc / "memory.swap.max").write_text(f"{64 << 20}\n")
    snap = read_snapshot(proc, cg, page_size=PAGE)
    (limit,) = snap.memcgs
    assert (limit.path, limit.version, limit.swap_bytes) == (
        "/system.slice/web.service",
        2,
        64 << 20,
    )
    # mem_cgroup_get_max(): memory.max + min(swap.max, total swap)
    assert choose(snap, limit.path).totalpages == (256 + 64) * 256


def test_memcg_of_prefers_the_v1_memory_line() -> None:
    assert memcg_of("4:memory:/a/b\n0::/c\n") == "/a/b"
    assert memcg_of("0::/user.slice/x\n") == "/user.slice/x"
    assert memcg_of("garbage\n") is None


def test_audit_of_oom_score_adj(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)
    add_process(proc, 1, "init", adj=0)
    add_process(proc, 500, "sshd", anon_kb=2048, adj=-1000, uid=0)
    add_process(proc, 600, "bash", anon_kb=2048, adj=-1000, ppid=500, uid=0)
    add_process(proc, 700, "java", anon_kb=2 << 20, adj=-1000, ppid=600)  # 2 GiB, immune
    add_process(proc, 800, "chrome-tab", adj=1000)
    items = {a.pid: a for a in audit(read_snapshot(proc, tmp_path, page_size=PAGE))}
    assert set(items) == {500, 600, 700, 800}
    assert (items[500].rule, items[500].severity) == ("immune", "info")
    assert (items[600].rule, items[600].severity) == ("immune_inherited", "warning")
    assert "from its parent sshd (pid 500)" in items[600].summary
    assert (items[700].rule, items[700].severity) == ("immune_inherited", "warning")
    assert (items[800].rule, items[800].severity) == ("volunteer", "info")


def run_scores(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["scores", *argv])
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_scores_json(proc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(
        run_scores(
            ["--format", "json", "--proc-root", str(proc), "--cgroup-root", str(tmp_path)], capsys
        )
    )
    rows = doc["processes"]
    assert [r["pid"] for r in rows][:2] == [200, 100]  # the kernel's order
    assert {r["pid"] for r in rows} == {1, 2, 100, 200, 300, 400}
    first = rows[0]
    assert {"pid", "comm", "cmdline", "uid", "oom_score", "oom_score_adj", "oom_badness"} <= set(
        first
    )
    assert {"rss_anon_kb", "rss_file_kb", "rss_shmem_kb", "swap_kb", "pgtables_kb", "memcg"} <= set(
        first
    )
    assert doc["next_victim"] == {
        "pid": 200,
        "comm": "batch",
        "oom_badness": 138834,
        "oom_score": 666,
    }
    vault = next(r for r in rows if r["pid"] == 300)
    assert vault["oom_badness"] is None and vault["oom_score"] == 0
    assert [a["rule"] for a in doc["audit"]] == ["immune"]  # vault: -1000, 500 MiB
    assert doc["audit"][0]["severity"] == "warning"


def test_scores_top_and_cgroup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = fake_proc(tmp_path)
    for i in range(5):
        add_process(proc, 10 + i, f"w{i}", anon_kb=1000 * (i + 1), cgroup="0::/jobs/a\n")
    add_process(proc, 99, "other", anon_kb=99_999, cgroup="0::/elsewhere\n")
    argv = ["--proc-root", str(proc), "--cgroup-root", str(tmp_path), "--format", "json"]
    doc = json.loads(run_scores([*argv, "--top", "2", "--cgroup", "jobs/a"], capsys))
    assert [r["pid"] for r in doc["processes"]] == [14, 13]
    assert doc["process_count"] == 5
    assert doc["next_victim"]["pid"] == 14
    assert doc["scope"] == "/jobs/a"


def test_scores_text(proc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_scores(["--proc-root", str(proc), "--cgroup-root", str(tmp_path)], capsys)
    lines = out.splitlines()
    assert lines[0].startswith("6 processes; RAM 977 MiB + swap 0 KiB = 250000 pages of 4 KiB")
    assert lines[1] == (
        "If the system ran out of memory now, the kernel would kill: batch (pid 200, "
        "badness 138834 pages, oom_score 666)"
    )
    row = next(ln for ln in lines if ln.lstrip().startswith("200 "))
    assert row.split()[:5] == ["200", "666", "1036", "500", "138834"]
    assert "[kthreadd]" in out
    assert "oom_score_adj audit:" in out and "vault (pid 300, oom_score_adj -1000)" in out


@given(
    rss=st.integers(0, 1 << 30),
    more=st.integers(1, 1 << 20),
    adj=st.integers(-999, 1000),
    total=st.integers(1000, 1 << 32),
)
def test_more_memory_never_lowers_the_score(rss: int, more: int, adj: int, total: int) -> None:
    def proc(anon_kb: int) -> Process:
        return Process(
            pid=42, comm="x", cmdline=(), uid=0, ppid=1, kernel_thread=False, oom_score=None,
            oom_score_adj=adj, rss_anon_kb=anon_kb, rss_file_kb=0, rss_shmem_kb=0, swap_kb=0,
            pgtables_kb=0, memcg=None,
        )  # fmt: skip

    low, high = oom_badness(proc(rss), total, PAGE), oom_badness(proc(rss + more * 4), total, PAGE)
    assert low is not None and high is not None and high > low
    assert oom_score(high, total) >= oom_score(low, total)


def test_real_proc_has_this_process_with_the_kernels_score() -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc")
    snap = read_snapshot()
    me = next(p for p in snap.processes if p.pid == os.getpid())
    kernel_score = int(Path(f"/proc/{os.getpid()}/oom_score").read_text())
    assert me.oom_score == kernel_score
    assert me.comm == Path("/proc/self/comm").read_text().strip()
    assert me.cmdline is not None and any("pytest" in a or "py" in a for a in me.cmdline)
    assert me.rss_anon_kb is not None and me.rss_anon_kb > 1000
    # our estimate from the same /proc figures lands on the kernel's value (± rss drift)
    est = oom_score(
        oom_badness(me, snap.totals.totalpages, snap.totals.page_size), snap.totals.totalpages
    )
    assert abs(est - kernel_score) <= 2
    doc: dict[str, Any] = scores_document(snap, top=None, cgroup=None)
    row = next(r for r in doc["processes"] if r["pid"] == os.getpid())
    assert row["oom_score"] == kernel_score
    assert doc["next_victim"] is not None
