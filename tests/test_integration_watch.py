"""`oomlens watch` against REAL kernel OOM kills, caused on purpose in memory cgroups.

`memcg-oom LIMIT -- CMD` (shared/tools; OOMLENS_MEMCG_OOM overrides the path) runs CMD in a
fresh memory cgroup; it exits 77 where it cannot (not root, no memory controller) and the
tests skip. The watcher runs as a subprocess, as in production, with its own history file.
Other tests may cause OOM kills at the same time: only events in our own cgroups count.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oomlens.store import History

pytestmark = pytest.mark.integration

TOOL = Path(
    os.environ.get("OOMLENS_MEMCG_OOM")
    or Path(__file__).resolve().parents[2] / "shared" / "tools" / "memcg-oom"
)
# Writes its memory cgroup into DIR, then touches 200 MiB in 1 MiB steps.
HOG = """\
import os, sys
with open(os.path.join(sys.argv[1], "cgroup.%d" % os.getpid()), "w") as f:
    f.write(open("/proc/self/cgroup").read())
chunks = [bytearray(1 << 20) for _ in range(200)]
"""
# One of N workers: waits until all have started, then grows slowly so that all grow.
WORKER = """\
import glob, os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(d, "cgroup.%d" % os.getpid()), "w") as f:
    f.write(open("/proc/self/cgroup").read())
deadline = time.monotonic() + 5
while len(glob.glob(os.path.join(d, "cgroup.*"))) < n and time.monotonic() < deadline:
    time.sleep(0.01)
chunks = []
for _ in range(200):
    chunks.append(bytearray(1 << 20))
    time.sleep(0.002)
"""
# Starts N copies of a python program in the background and writes "PID STATUS" for each:
# 137 = SIGKILL, what the OOM killer sends. (The tool's own copy of the kernel lines is not
# used: its marker write to /dev/kmsg is rate-limited when kills come quickly.)
SPAWN = """\
prog=$1 dir=$2 n=$3 pids=
i=0; while [ $i -lt $n ]; do python3 -c "$prog" "$dir" "$n" & pids="$pids $!"; i=$((i+1)); done
for p in $pids; do wait $p; echo "$p $?" > "$dir/status.$p"; done
"""


class Kill:
    """One run of memcg-oom: the processes it started, those SIGKILLed, their memory cgroup."""

    def __init__(self, directory: Path, limit: str, program: str, n: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        command = ["sh", "-c", SPAWN, "sh", program, str(directory), str(n)]
        done = subprocess.run(
            [str(TOOL), limit, "--", *command], capture_output=True, timeout=60, check=False
        )
        if done.returncode == 77:
            pytest.skip(done.stderr.decode(errors="replace").strip() or "memcg-oom cannot run")
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        status = dict(p.read_text().split() for p in directory.glob("status.*"))
        self.started = sorted(int(pid) for pid in status)
        self.killed = sorted(int(pid) for pid, st in status.items() if st == "137")
        cgroups = {_memcg(p.read_text()) for p in directory.glob("cgroup.*")}
        assert len(cgroups) == 1, cgroups
        self.memcg = cgroups.pop()
        assert self.killed, f"nothing was killed: {status}"


def _memcg(text: str) -> str:
    v2 = None
    for line in text.splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return path
        if hierarchy == "0" and not controllers:
            v2 = path
    assert v2 is not None
    return v2


def hog(directory: Path) -> Kill:
    return Kill(directory, "40M", HOG, 1)


def workers(directory: Path, n: int = 4) -> Kill:
    return Kill(directory, "60M", WORKER, n)


class Watch:
    """`oomlens watch --format json --db DB` as a subprocess; its events as they arrive."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oomlens", "watch", "--format", "json", "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        assert self._ready.wait(15), f"watch did not start: {self.stderr}"

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            if "following" in line:
                self._ready.set()

    def collect(self, pids: set[int], count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Events that killed one of `pids` until `count` have come, then another second for
        duplicates. (The victim, not the memcg: a report whose header the kernel rate-limited
        (10 per 5 s, shared with other tests' kills) names no memcg.)"""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                doc = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if (doc["victim"] or {}).get("pid") in pids:
                got.append(doc)
            if len(got) >= count:
                deadline = min(deadline, time.monotonic() + 1.0)
        return got

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=10) == 0, "".join(self.stderr)
        time.sleep(0.1)  # let the reader threads take the last lines
        assert any("stopped:" in line for line in self.stderr), self.stderr


@pytest.fixture(scope="module")
def tool() -> Path:
    if not TOOL.is_file():
        pytest.skip(f"{TOOL} not found (set OOMLENS_MEMCG_OOM)")
    if shutil.which("python3") is None:
        pytest.skip("no python3 on PATH for the memory hog")
    return TOOL


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "history.db"


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")


def check_event(doc: dict[str, Any], kill: Kill) -> None:
    assert doc["victim"]["pid"] in kill.killed
    assert doc["victim"]["comm"] == "python3"
    if not doc["headerless"]:  # the kernel printed the whole report
        assert doc["scope"] == "memcg" and doc["memcg"] == kill.memcg
        assert doc["complete"] is True, doc["missing"]
    assert isinstance(doc["seq"], int)
    assert doc["boot_id"] == boot_id()
    # the kernel's time stamp of the kill line and the emission, both CLOCK_MONOTONIC
    latency = doc["emitted_uptime_s"] - doc["kill_uptime_s"]
    assert 0 <= latency < 1.0, latency


def test_one_kill_is_reported_once_within_a_second(tool: Path, tmp_path: Path, db: Path) -> None:
    watch = Watch(db)
    try:
        kill = hog(tmp_path / "hog")
        assert kill.killed == kill.started  # the kernel killed the hog, nothing else
        (doc,) = watch.collect(set(kill.killed), 1)
        check_event(doc, kill)
    finally:
        watch.stop()
    with History(db) as store:
        (row,) = [r for r in store.rows() if r.victim_pid in kill.started]
        assert (row.id, row.victim_pid, row.seq) == (doc["id"], kill.killed[0], doc["seq"])
        stored = store.get(row.id)
        assert stored is not None and stored["victim"] == doc["victim"]


def test_kills_among_workers_are_each_reported_once(tool: Path, tmp_path: Path, db: Path) -> None:
    watch = Watch(db)
    try:
        kill = workers(tmp_path / "workers")
        docs = watch.collect(set(kill.started), len(kill.killed))
    finally:
        watch.stop()
    assert sorted(d["victim"]["pid"] for d in docs) == sorted(kill.killed)
    assert set(kill.killed) <= set(kill.started)
    for doc in docs:
        check_event(doc, kill)
    assert len({d["seq"] for d in docs}) == len(docs)


def test_kills_in_a_row_across_a_restart(tool: Path, tmp_path: Path, db: Path) -> None:
    kills: list[Kill] = []
    seen: list[dict[str, Any]] = []

    def ours() -> set[int]:
        return {pid for k in kills for pid in k.started}

    first = Watch(db)
    try:
        for i in range(2):
            kills.append(hog(tmp_path / f"k{i}"))
            seen += first.collect(ours(), 1)
    finally:
        first.stop()
    kills.append(hog(tmp_path / "k2"))  # while no watcher runs
    second = Watch(db)
    try:
        assert any("resuming after" in line for line in second.stderr), second.stderr
        seen += second.collect(ours(), 1)  # a repeat of k0 or k1 would show here
        kills.append(hog(tmp_path / "k3"))
        seen += second.collect(ours(), 1)
    finally:
        second.stop()
    victims = [k.killed[0] for k in kills]
    assert [d["victim"]["pid"] for d in seen] == victims  # each once, in order
    for doc, kill in zip(seen, kills, strict=True):
        if not doc["headerless"]:
            assert doc["memcg"] == kill.memcg
    with History(db) as store:
        rows = [r for r in store.rows() if r.victim_pid in ours()]
        assert [r.victim_pid for r in rows] == victims
        assert [r.seq for r in rows] == [d["seq"] for d in seen]
