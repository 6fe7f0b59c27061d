"""`oomlens watch` without a real OOM: /dev/kmsg records from files and pipes, sequence gaps,
resuming after a restart, hooks, metrics, signals, the journal fallback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oomlens.commands_live import event_text
from oomlens.errors import OomlensError
from oomlens.live.kmsg import Gap, JournalFollower, KmsgFollower, Record, open_follower
from oomlens.live.watch import HookRunner, Metrics, Watcher, parse_address, stop_on_signals
from oomlens.store import History, WatchState

BOOT = "71233e6098a14cd9b28a995b9d71a919"

# A real memcg OOM report of 6.18 as /dev/kmsg gave it (stack and stats trimmed): "prio;text".
REPORT = """\
4;python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
4;CPU: 0 UID: 0 PID: {pid} Comm: python3 Not tainted 6.18.44-fc-v669 #1 PREEMPT(none)
4;Call Trace:
4; <TASK>
4; dump_stack_lvl+0x57/0x80
4; dump_header+0x43/0x1c0
4; oom_kill_process.cold+0x8/0x8a
4; out_of_memory+0x214/0x500
4; mem_cgroup_out_of_memory+0xc0/0x110
4; </TASK>
6;memory: usage 40960kB, limit 40960kB, failcnt 117
6;memory+swap: usage 40960kB, limit 9007199254740988kB, failcnt 0
6;kmem: usage 184kB, limit 9007199254740988kB, failcnt 0
6;Memory cgroup stats for {memcg}:
6;rss 41754624
6;Tasks state (memory values in pages):
6;[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
6;[{pid:>7}]     0 {pid:>5}    12621    11835    10176     1659         0   147456        0             0 python3
6;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={memcg},task_memcg={memcg},task=python3,pid={pid},uid=0
3;Memory cgroup out of memory: Killed process {pid} (python3) total-vm:50484kB, anon-rss:40704kB, file-rss:6636kB, shmem-rss:0kB, UID:0 pgtables:144kB oom_score_adj:0
"""
REAPED = (
    "6;oom_reaper: reaped process {pid} (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"
)


class Log:
    """Builds /dev/kmsg records with increasing sequence numbers and time stamps."""

    def __init__(self, seq: int = 100, usec: int = 1_338_030_000) -> None:
        self.seq = seq
        self.usec = usec
        self.kill_seqs: list[int] = []

    def record(self, text: str, prio: int = 6) -> str:
        line = f"{prio},{self.seq},{self.usec},-;{text}\n"
        self.seq += 1
        self.usec += 7
        return line

    def noise(self, n: int = 1) -> str:
        return "".join(self.record(f"eth0: link up ({i})") for i in range(n))

    def oom(self, pid: int, memcg: str = "/memcg-oom-1-2", *, reaped: bool = True) -> str:
        out = []
        for raw in REPORT.format(pid=pid, memcg=memcg).splitlines():
            prio, _, text = raw.partition(";")
            if "Killed process" in text:
                self.kill_seqs.append(self.seq)
            out.append(self.record(text, int(prio)))
        if reaped:
            _, _, text = REAPED.format(pid=pid).partition(";")
            out.append(self.record(text))
        return "".join(out)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def follow_file(path: Path, **kw: Any) -> KmsgFollower:
    return KmsgFollower.open(str(path), **kw)


def watch(
    follower: KmsgFollower | JournalFollower,
    store: History | None = None,
    **kw: Any,
) -> tuple[list[dict[str, Any]], Watcher, list[str]]:
    """Run a watcher until its input ends; the documents it emitted and its warnings."""
    docs: list[dict[str, Any]] = []
    warnings: list[str] = []
    w = Watcher(follower, boot_id=BOOT, emit=docs.append, store=store, warn=warnings.append, **kw)
    w.run(threading.Event())
    follower.close()
    return docs, w, warnings


# -- the follower ---------------------------------------------------------------------------


def test_follower_reads_records_and_reports_gaps(tmp_path: Path) -> None:
    log = Log(seq=10)
    text = log.noise(3) + " SUBSYSTEM=net\n DEVICE=n2\n" + "not a record\n"
    log.seq += 2  # records 13 and 14 were overwritten before they were read
    text += log.noise(1)
    f = follow_file(write(tmp_path / "kmsg", text))
    items = f.read()
    assert items is not None
    assert [i.seq if isinstance(i, Record) else i for i in items] == [
        10,
        11,
        12,
        Gap(first_missing=13, next_seq=15, reason="missing from the sequence"),
        15,
    ]
    assert isinstance(items[0], Record)
    assert items[0].data == b"6,10,1338030000,-;eth0: link up (0)"
    assert items[0].uptime_us == 1338030000 and items[0].position == "10"
    assert f.unrecognised == 1
    assert f.read() is None  # end of the file: end of input


def test_follower_resumes_after_a_sequence_number(tmp_path: Path) -> None:
    path = write(tmp_path / "kmsg", Log(seq=10).noise(5))
    items = follow_file(path, after=12).read()
    assert [i.seq for i in items or [] if isinstance(i, Record)] == [13, 14]
    # the oldest record left is 10: 8 and 9 were lost while no watcher ran
    items = follow_file(path, after=7).read()
    assert items is not None and items[0] == Gap(
        first_missing=8, next_seq=10, reason="overwritten while the watcher was not running"
    )


def test_follower_starting_at_the_end_knows_the_last_sequence(tmp_path: Path) -> None:
    f = follow_file(write(tmp_path / "kmsg", Log(seq=10).noise(5)), at_end=True)
    assert f.position == "14"
    assert f.read() is None


class OverrunKmsg(KmsgFollower):
    """read() fails with EPIPE once, as /dev/kmsg does when the next record was overwritten."""

    def __init__(self, fd: int, records: list[bytes]) -> None:
        super().__init__(fd, "fake-kmsg")
        self.script: list[bytes | None] = [records[0], None, *records[1:]]

    def _read_chunk(self) -> bytes:
        if not self.script:
            raise BlockingIOError
        chunk = self.script.pop(0)
        if chunk is None:
            raise BrokenPipeError
        return chunk


def test_epipe_is_a_gap_with_the_lost_count() -> None:
    log = Log(seq=50)
    first = log.noise(1).encode()
    log.seq += 30  # overwritten while the reader slept
    rest = [log.noise(1).encode(), log.noise(1).encode()]
    r, w = os.pipe()
    f = OverrunKmsg(r, [first, *rest])
    items = f.read()
    os.close(w)
    f.close()
    assert items is not None
    gap = items[1]
    assert gap == Gap(51, 81, "overwritten in the ring buffer before they were read")
    assert gap.lost == 30
    assert [i.seq for i in items if isinstance(i, Record)] == [50, 81, 82]


def test_a_record_split_across_reads_of_a_pipe() -> None:
    r, w = os.pipe()
    f = KmsgFollower(r, "pipe")
    line = Log(seq=7).noise(1).encode()
    os.write(w, line[:9])
    assert f.read() == []
    os.write(w, line[9:])
    items = f.read()
    assert items is not None and [i.seq for i in items if isinstance(i, Record)] == [7]
    os.close(w)
    assert f.read() is None
    f.close()


# -- the watcher ----------------------------------------------------------------------------


def test_an_oom_report_becomes_one_event(tmp_path: Path) -> None:
    log = Log()
    path = write(tmp_path / "kmsg", log.noise(2) + log.oom(4242) + log.noise(1))
    with History(tmp_path / "h.db") as store:
        docs, w, warnings = watch(follow_file(path), store, host="box")
        (doc,) = docs
        assert warnings == []
        assert doc["victim"]["pid"] == 4242
        assert doc["scope"] == "memcg" and doc["memcg"] == "/memcg-oom-1-2"
        assert doc["complete"] is True and doc["missing"] == []
        assert doc["seq"] == log.kill_seqs[0]
        assert doc["kill_uptime_s"] == pytest.approx((1_338_030_000 + 7 * 21) / 1e6)
        assert doc["boot_id"] == BOOT and doc["host"] == "box"
        assert doc["reaped"]["pid"] == 4242
        assert doc["time"] is not None  # the wall time of the kernel's stamp
        assert isinstance(doc["emitted_uptime_s"], float)
        assert doc["analysis"]["answers"]["scope"]["summary"].startswith("cgroup OOM in")
        assert w.counters.events == 1 and w.counters.records == log.seq - 100
        (row,) = store.rows()
        assert (row.id, row.victim_pid, row.seq, row.boot_id) == (doc["id"], 4242, doc["seq"], BOOT)
        state = store.watch_state(str(path))
        assert state == WatchState(
            source=str(path), boot_id=BOOT, position=str(log.seq - 1), last_event=str(doc["seq"])
        )


def run_in_thread(w: Watcher) -> tuple[threading.Thread, threading.Event, int]:
    stop = threading.Event()
    wake_r, wake_w = os.pipe()
    t = threading.Thread(target=w.run, args=(stop, wake_r), daemon=True)  # a failure must not hang
    t.start()
    return t, stop, wake_w


def stop_thread(t: threading.Thread, stop: threading.Event, wake_w: int) -> None:
    stop.set()
    os.write(wake_w, b"x")
    t.join(timeout=5)
    assert not t.is_alive()


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> float:
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.01)
    return time.monotonic() - start


def test_emitted_after_a_short_quiet_time_with_the_late_reaper_line() -> None:
    r, w = os.pipe()
    follower = KmsgFollower(r, "pipe")
    docs: list[dict[str, Any]] = []
    watcher = Watcher(follower, boot_id=BOOT, emit=docs.append, quiet_s=0.3)
    t, stop, wake = run_in_thread(watcher)
    log = Log()
    os.write(w, log.oom(77, reaped=False).encode())
    time.sleep(0.1)  # the oom_reaper line comes a little later
    os.write(w, log.record(REAPED.format(pid=77).partition(";")[2]).encode())
    waited = wait_for(lambda: bool(docs))
    assert 0.25 < waited < 0.8
    assert docs[0]["reaped"]["pid"] == 77
    stop_thread(t, stop, wake)
    os.close(w)
    follower.close()


def test_a_restart_resumes_without_repeating_or_losing(tmp_path: Path) -> None:
    log = Log()
    a = log.noise(1) + log.oom(1001) + log.noise(2)
    b = log.oom(1002)
    b_lines = b.splitlines(keepends=True)
    path = tmp_path / "kmsg"
    with History(tmp_path / "h.db") as store:
        # run 1 reads event A and half of B's report, then stops
        r, w = os.pipe()
        first = KmsgFollower(r, str(path))
        docs1: list[dict[str, Any]] = []
        watcher = Watcher(first, boot_id=BOOT, emit=docs1.append, store=store, quiet_s=0.1)
        t, stop, wake = run_in_thread(watcher)
        os.write(w, a.encode())
        wait_for(lambda: bool(docs1))
        time.sleep(0.2)
        os.write(w, "".join(b_lines[:12]).encode())
        time.sleep(0.3)  # flushed again; B's report is still open
        stop_thread(t, stop, wake)
        os.close(w)
        first.close()
        assert [d["victim"]["pid"] for d in docs1] == [1001]
        state = store.watch_state(str(path))
        assert state is not None
        assert state.position == str(log.kill_seqs[0] + 3)  # the last record before B
        assert state.last_event == str(log.kill_seqs[0])
        # run 2 reads the whole ring buffer again (A, B and what came after)
        write(path, a + b + log.noise(1))
        follower, last_event, note = open_follower(
            store.watch_state, boot_id=BOOT, kmsg_path=str(path)
        )
        assert note == f"resuming after {state.position}"
        docs2, _w2, warnings = watch(follower, store, last_event=last_event)
        assert [d["victim"]["pid"] for d in docs2] == [1002]
        assert docs2[0]["complete"] is True
        assert warnings == []
        # run 3: nothing new
        follower, last_event, _ = open_follower(
            store.watch_state, boot_id=BOOT, kmsg_path=str(path)
        )
        assert watch(follower, store, last_event=last_event)[0] == []
        assert [r.victim_pid for r in store.rows()] == [1001, 1002]


def test_events_already_emitted_are_not_emitted_again(tmp_path: Path) -> None:
    log = Log()
    path = write(tmp_path / "kmsg", log.oom(1) + log.oom(2) + log.oom(3))
    with History(tmp_path / "h.db") as store:
        # the state of a watcher that emitted 1 and 2 but never got out of a report
        store.save_watch_state(
            WatchState(
                source=str(path), boot_id=BOOT, position=None, last_event=str(log.kill_seqs[1])
            )
        )
        follower, last_event, note = open_follower(
            store.watch_state, boot_id=BOOT, kmsg_path=str(path)
        )
        assert "skipping events already emitted" in note
        docs, w, _ = watch(follower, store, last_event=last_event)
        assert [d["victim"]["pid"] for d in docs] == [3]
        assert w.counters.duplicates == 2


def test_after_a_reboot_the_new_boot_is_read_from_its_start(tmp_path: Path) -> None:
    log = Log(seq=0)
    path = write(tmp_path / "kmsg", log.oom(5))
    with History(tmp_path / "h.db") as store:
        store.save_watch_state(
            WatchState(source=str(path), boot_id="old", position="900", last_event="800")
        )
        follower, last_event, note = open_follower(
            store.watch_state, boot_id=BOOT, kmsg_path=str(path)
        )
        assert (last_event, note.startswith("new boot")) == (None, True)
        assert [d["victim"]["pid"] for d in watch(follower, store)[0]] == [5]


def test_first_run_skips_old_records_and_from_start_replays(tmp_path: Path) -> None:
    log = Log()
    path = write(tmp_path / "kmsg", log.oom(5))
    with History(tmp_path / "h.db") as store:
        follower, _, note = open_follower(store.watch_state, boot_id=BOOT, kmsg_path=str(path))
        assert note.startswith("new records only")
        docs, _, _ = watch(follower, store)
        assert docs == []
        assert store.watch_state(str(path)) == WatchState(
            source=str(path), boot_id=BOOT, position=str(log.seq - 1), last_event=None
        )
        follower, _, _ = open_follower(
            store.watch_state, boot_id=BOOT, kmsg_path=str(path), from_start=True
        )
        assert [d["victim"]["pid"] for d in watch(follower, store)[0]] == [5]


def test_gaps_are_reported_and_counted(tmp_path: Path) -> None:
    log = Log()
    text = log.noise(2)
    log.seq += 3
    path = write(tmp_path / "kmsg", text + log.oom(9))
    docs, w, warnings = watch(follow_file(path))
    assert (w.counters.gaps, w.counters.lost_records) == (1, 3)
    assert warnings == [
        f"{path}: 3 records lost (seq 102-104, missing from the sequence); an OOM report "
        "among them may be incomplete or missing"
    ]
    assert [d["victim"]["pid"] for d in docs] == [9]


def test_a_report_cut_by_a_gap_is_still_emitted_and_says_so(tmp_path: Path) -> None:
    log = Log()
    lines = log.oom(9).splitlines(keepends=True)
    path = write(tmp_path / "kmsg", "".join(lines[:5] + lines[15:]))  # lost the middle
    docs, w, _ = watch(follow_file(path))
    (doc,) = docs
    assert doc["victim"]["pid"] == 9 and w.counters.gaps == 1


# -- hooks ----------------------------------------------------------------------------------


@pytest.fixture
def warnings() -> list[str]:
    return []


def test_hook_gets_the_event_on_stdin_and_in_its_environment(
    tmp_path: Path, warnings: list[str]
) -> None:
    hooks = HookRunner(
        [f'cat > {tmp_path}/doc.json; echo "$OOMLENS_VICTIM_PID $OOMLENS_SCOPE" > {tmp_path}/env'],
        warn=warnings.append,
    )
    doc = {"victim": {"pid": 31, "comm": "x"}, "scope": "memcg", "seq": 5}
    hooks.submit(doc)
    hooks.close()
    assert json.loads((tmp_path / "doc.json").read_text()) == doc
    assert (tmp_path / "env").read_text() == "31 memcg\n"
    assert warnings == []


def test_a_slow_hook_never_blocks_and_is_killed_at_its_timeout(
    tmp_path: Path, warnings: list[str]
) -> None:
    failures: list[int] = []
    hooks = HookRunner(
        [f"sleep 30 & echo $! > {tmp_path}/child; wait"], timeout=0.5, warn=warnings.append
    )
    hooks.on_failure = lambda: failures.append(1)
    start = time.monotonic()
    hooks.submit({"seq": 1})
    assert time.monotonic() - start < 0.1  # queued, not run in the caller
    wait_for(lambda: (tmp_path / "child").exists() and bool((tmp_path / "child").read_text()))
    hooks.close()
    assert 0.4 < time.monotonic() - start < 5
    assert failures == [1]
    assert warnings and "timed out after 0.5s and was killed" in warnings[0]
    child = int((tmp_path / "child").read_text())
    wait_for(lambda: not Path(f"/proc/{child}").exists() or "Z" in _state(child), timeout=2)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_failing_hook_is_reported(warnings: list[str]) -> None:
    hooks = HookRunner(["exit 3"], warn=warnings.append)
    hooks.submit({})
    hooks.close()
    assert warnings == ["hook 'exit 3' exited with status 3"]


def test_the_watcher_does_not_wait_for_hooks(tmp_path: Path) -> None:
    log = Log()
    path = write(tmp_path / "kmsg", log.oom(11))
    hooks = HookRunner([f"sleep 1; cat > {tmp_path}/out"], timeout=10)
    start = time.monotonic()
    docs, _w, _ = watch(follow_file(path), hooks=hooks)
    assert time.monotonic() - start < 0.8 and len(docs) == 1
    hooks.close()
    assert json.loads((tmp_path / "out").read_text())["victim"]["pid"] == 11


# -- signals and the command line -----------------------------------------------------------


def test_stop_on_signals_sets_the_flag_and_wakes_the_loop() -> None:
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop) as wake:
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(stop.is_set, timeout=2)
        assert os.read(wake, 16)  # the wakeup fd got the signal number
    assert signal.getsignal(signal.SIGTERM) == before


def start_watch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "oomlens", "watch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def kmsg_readable() -> Iterator[None]:
    try:
        os.close(os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK))
    except OSError as err:
        pytest.skip(f"/dev/kmsg: {err.strerror}")
    yield


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_watch_stops_cleanly_on_a_signal(sig: int, tmp_path: Path, kmsg_readable: None) -> None:
    proc = start_watch("--db", str(tmp_path / "h.db"), "--format", "json")
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("oomlens watch: following /dev/kmsg, new records only"), line
    start = time.monotonic()
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=10)
    assert time.monotonic() - start < 2
    assert proc.returncode == 0, err
    assert "oomlens watch: stopped: 0 events, 0 gaps" in err
    with History(tmp_path / "h.db") as store:
        state = store.watch_state("/dev/kmsg")
        assert state is not None and state.position is not None and state.position.isdecimal()
        assert state.boot_id == Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace(
            "-", ""
        )


def test_watch_command_over_a_kmsg_file(tmp_path: Path) -> None:
    log = Log()
    path = write(tmp_path / "kmsg", log.oom(321) + log.oom(322))
    db = str(tmp_path / "h.db")
    proc = subprocess.run(
        [sys.executable, "-m", "oomlens", "watch", "--kmsg", str(path), "--from-start", "--db", db],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 6  # a headline, who used the memory, what would have prevented it
    assert lines[0].endswith(
        "memcg OOM in /memcg-oom-1-2: killed python3 (pid 321), anon-rss 39.8 MiB "
        f"[seq {log.kill_seqs[0]}, history #1]"
    )
    assert "stopped: 2 events, 0 gaps (0 records lost), 0 parse failures" in proc.stderr


def test_event_text() -> None:
    doc = {
        "time": "2026-11-25T19:16:35",
        "scope": "system",
        "memcg": None,
        "victim": {"pid": 9, "comm": "java", "anon_rss_kb": 2 << 20},
        "seq": 17,
        "id": None,
        "analysis": {"answers": {"prevention": {"summary": "Add memory."}}},
    }
    assert event_text(doc) == (
        "2026-11-25T19:16:35 system OOM: killed java (pid 9), anon-rss 2.0 GiB [seq 17]\n"
        "  Add memory.\n"
    )


# -- the journal fallback -------------------------------------------------------------------


def journal_lines(log: Log, text: str) -> str:
    """The kmsg records of `text` as `journalctl -k -o json` prints them."""
    out = []
    for rec in text.splitlines():
        head, _, message = rec.partition(";")
        prio, seq, usec, _ = head.split(",", 3)
        entry = {
            "__CURSOR": f"s=abc;i={seq}",
            "__REALTIME_TIMESTAMP": str(1_795_634_000_000_000 + int(usec)),
            "_SOURCE_MONOTONIC_TIMESTAMP": usec,
            "_BOOT_ID": BOOT,
            "_HOSTNAME": "jbox",
            "_TRANSPORT": "kernel",
            "PRIORITY": prio,
            "MESSAGE": message,
        }
        out.append(json.dumps(entry))
    return "\n".join(out) + "\n"


def test_journal_follower_emits_and_resumes_by_cursor(tmp_path: Path) -> None:
    log = Log()
    write(tmp_path / "j1", journal_lines(log, log.oom(61)))
    write(tmp_path / "j2", journal_lines(log, log.noise(1) + log.oom(62)))
    args = tmp_path / "args"
    fake = ["sh", "-c", f'printf "%s\\n" "$*" >> {args}; cat {tmp_path}/$JOURNAL', "journalctl"]
    with History(tmp_path / "h.db") as store:
        os.environ["JOURNAL"] = "j1"
        try:
            follower, last, note = open_follower(
                store.watch_state, boot_id=BOOT, from_start=True, journal_command=fake
            )
            docs, _, _ = watch(follower, store, last_event=last)
            assert [(d["victim"]["pid"], d["seq"], d["host"]) for d in docs] == [(61, None, "jbox")]
            state = store.watch_state("journal")
            assert state is not None and state.position == f"s=abc;i={log.kill_seqs[0] + 1}"
            os.environ["JOURNAL"] = "j2"
            follower, last, note = open_follower(
                store.watch_state, boot_id=BOOT, journal_command=fake
            )
            assert note.startswith("resuming after s=abc;i=")
            docs, _, _ = watch(follower, store, last_event=last)
            assert [d["victim"]["pid"] for d in docs] == [62]
        finally:
            del os.environ["JOURNAL"]
    assert args.read_text().splitlines() == ["-n all", f"--after-cursor {state.position}"]


def test_journalctl_failing_says_what_to_do(tmp_path: Path) -> None:
    fake = ["sh", "-c", "echo 'No journal files were found.' >&2; exit 1", "journalctl"]
    follower = JournalFollower(command=fake)
    with pytest.raises(OomlensError, match="No journal files were found"):
        wait_for(lambda: follower.read() is None)
    follower.close()


# -- metrics --------------------------------------------------------------------------------


def test_metrics_count_kills_and_health() -> None:
    pytest.importorskip("prometheus_client")
    m = Metrics("127.0.0.1:0")
    try:
        doc = {
            "scope": "memcg",
            "memcg": "/jobs/a",
            "uptime_s": 10.0,
            "victim": {"comm": "java", "anon_rss_kb": 1024},
            "analysis": {"findings": [{"rule": "memcg_limit_too_small"}]},
        }
        m.observe(doc)
        m.observe({**doc, "analysis": {"findings": []}})
        m.count("gaps")
        m.count("lost_records", 12)
        with urllib.request.urlopen(f"http://127.0.0.1:{m.port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    finally:
        m.close()
    assert (
        'oomlens_kills_total{memcg="/jobs/a",pattern="memcg_limit_too_small",scope="memcg",'
        'victim="java"} 1.0' in text
    )
    assert (
        'oomlens_kills_total{memcg="/jobs/a",pattern="none",scope="memcg",victim="java"} 1.0'
        in text
    )
    assert "oomlens_last_victim_anon_rss_bytes 1.048576e+06" in text
    assert "oomlens_gaps_total 1.0" in text
    assert "oomlens_lost_records_total 12.0" in text
    assert "oomlens_last_kill_timestamp_seconds " in text
    assert 'oomlens_victim_anon_rss_bytes_bucket{le="1.048576e+06"} 2.0' in text


def test_metrics_without_the_library_say_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(OomlensError, match=r"pip install 'oomlens\[metrics\]'"):
        Metrics("127.0.0.1:9717")


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:9717") == ("127.0.0.1", 9717)
    assert parse_address("[::1]:9717") == ("::1", 9717)
    assert parse_address(":9717") == ("127.0.0.1", 9717)
    assert parse_address("9717") == ("127.0.0.1", 9717)
    with pytest.raises(OomlensError, match="expected HOST:PORT"):
        parse_address("localhost:http")


def test_a_parser_failure_is_counted_and_the_watcher_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oomlens.live import watch as watch_module
    from oomlens.parse import Parser

    class Fragile(Parser):
        def feed(self, line: Any) -> Any:
            if "BOOM" in line.text:
                raise ValueError("a parser bug")
            return super().feed(line)

    monkeypatch.setattr(watch_module, "Parser", Fragile)
    log = Log()
    path = write(tmp_path / "kmsg", log.record("BOOM") + log.oom(12))
    docs, w, warnings = watch(follow_file(path))
    assert w.counters.parse_failures == 1
    assert warnings[0].startswith("parser failed on 'BOOM':") and "ValueError" in warnings[0]
    assert [d["victim"]["pid"] for d in docs] == [12]


def test_patterns_across_kills_of_the_run_are_found(tmp_path: Path) -> None:
    log = Log()
    path = write(tmp_path / "kmsg", "".join(log.oom(100 + i) + log.noise(1) for i in range(4)))
    docs, _, _ = watch(follow_file(path))
    alone = write(tmp_path / "one", Log().oom(103))
    (single,) = watch(follow_file(alone))[0]

    def rules(doc: dict[str, Any]) -> set[str]:
        return {f["rule"] for f in doc["analysis"]["findings"]}

    # the same report, seen after three kills in the same cgroup, shows a pattern more
    assert rules(docs[3]) > rules(single)
