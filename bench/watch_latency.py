"""Measure `oomlens watch`: kill-to-event latency over real OOM kills, and CPU use when idle.

    sudo .venv/bin/python bench/watch_latency.py --kills 20 --idle 30

Starts `oomlens watch --format json --db <tmp>` as a subprocess, causes N real OOM kills one
after the other with shared/tools/memcg-oom (a python3 hog under a 40M memory cgroup limit;
OOMLENS_MEMCG_OOM overrides the tool's path), and reads each event the watcher prints.

- latency = `emitted_uptime_s` (CLOCK_MONOTONIC when the watcher printed the event) minus
  `kill_uptime_s` (the kmsg time stamp of the kernel's kill line). printk stamps come from
  local_clock(), not CLOCK_MONOTONIC; the script measures the offset between the two by
  writing a marker to /dev/kmsg and reports it beside the figures.
- idle CPU = user + system time of the watcher process over `--idle` seconds with no kernel
  messages of interest (from /proc/PID/stat, the figures getrusage() reports for it), and
  getrusage(RUSAGE_CHILDREN) of the whole run once it has exited.

Exit status 77 when the machine cannot cause kills (not root, no memory cgroup).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TOOL = Path(
    os.environ.get("OOMLENS_MEMCG_OOM") or HERE.parents[1] / "shared" / "tools" / "memcg-oom"
)
# Writes its pid into the file it is given, then touches 200 MiB in 1 MiB steps.
HOG = """\
import os, sys
open(sys.argv[1], "w").write(str(os.getpid()))
chunks = [bytearray(1 << 20) for _ in range(200)]
"""
# The kernel prints at most 10 OOM report headers per 5 s (oom_kill.c, oom_rs): kills closer
# together come without their report, a fact rather than a fault, but not what we measure.
MIN_INTERVAL_S = 0.6
TICK = os.sysconf("SC_CLK_TCK")


def kmsg_clock_offset() -> float | None:
    """CLOCK_MONOTONIC minus the printk clock, in seconds (positive: printk is behind)."""
    fd = os.open("/dev/kmsg", os.O_RDWR | os.O_NONBLOCK)
    try:
        os.lseek(fd, 0, os.SEEK_END)
        marker = f"oomlens-bench-calibrate-{os.getpid()}-{time.monotonic_ns()}"
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        os.write(fd, f"<14>{marker}\n".encode())
        after = time.clock_gettime(time.CLOCK_MONOTONIC)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                record = os.read(fd, 65536)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            if marker.encode() in record:
                stamp = int(record.split(b",")[2]) / 1e6
                return (before + after) / 2 - stamp
        return None  # rate-limited (printk.devkmsg=ratelimit): no calibration
    finally:
        os.close(fd)


def last_kmsg_seq() -> int:
    """The sequence number of the newest /dev/kmsg record."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    last = 0
    try:
        while True:
            try:
                record = os.read(fd, 65536)
            except BlockingIOError:
                return last
            except BrokenPipeError:
                continue
            last = int(record.split(b",", 2)[1])
    finally:
        os.close(fd)


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Watcher:
    def __init__(self, db: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oomlens", "watch", "--format", "json", "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.docs: list[dict[str, Any]] = []
        self.ready = threading.Event()
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        if not self.ready.wait(20):
            raise SystemExit("the watcher did not start")

    def _out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.docs.append(json.loads(line))

    def _err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            sys.stderr.write("  watcher: " + line)
            if "following" in line:
                self.ready.set()

    def wait_for(self, pid: int, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for doc in self.docs:
                if (doc.get("victim") or {}).get("pid") == pid:
                    return doc
            time.sleep(0.02)
        raise SystemExit(f"no event for pid {pid} within {timeout}s")


def kill_once(pid_file: Path) -> int:
    """One real OOM kill; returns the pid of the hog it killed."""
    done = subprocess.run(
        [str(TOOL), "40M", "--", "python3", "-c", HOG, str(pid_file)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode == 77:
        sys.exit(f"memcg-oom cannot run here: {done.stderr.decode().strip()}")
    if b"status 137" not in done.stderr:
        raise SystemExit(f"the hog was not killed: {done.stderr.decode()}")
    return int(pid_file.read_text())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--idle", type=float, default=30.0, help="idle seconds for the CPU figure")
    args = ap.parse_args()
    if not TOOL.is_file():
        print(f"{TOOL} not found (set OOMLENS_MEMCG_OOM)", file=sys.stderr)
        return 77
    offset = kmsg_clock_offset()
    with tempfile.TemporaryDirectory() as tmp:
        watcher = Watcher(Path(tmp) / "history.db")
        latencies: list[float] = []
        headerless = 0
        for i in range(args.kills):
            started = time.monotonic()
            doc = watcher.wait_for(kill_once(Path(tmp) / f"pid.{i}"))
            latency = doc["emitted_uptime_s"] - doc["kill_uptime_s"]
            latencies.append(latency)
            headerless += bool(doc["headerless"])
            print(f"kill {i + 1:2}: pid {doc['victim']['pid']:>7} latency {latency * 1000:7.1f} ms")
            time.sleep(max(0.0, MIN_INTERVAL_S - (time.monotonic() - started)))
        time.sleep(1.0)  # let the watcher settle after the last event
        pid = watcher.proc.pid
        cpu_before, t0, seq0 = cpu_seconds(pid), time.monotonic(), last_kmsg_seq()
        time.sleep(args.idle)
        idle_cpu, idle_wall = cpu_seconds(pid) - cpu_before, time.monotonic() - t0
        idle_records = last_kmsg_seq() - seq0
        before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the memcg-oom runs so far
        watcher.proc.send_signal(signal.SIGTERM)
        watcher.proc.wait(timeout=10)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ms = [x * 1000 for x in latencies]
    print()
    print("| kills | median | p99 | min | max | printk vs CLOCK_MONOTONIC |")
    print("|---|---|---|---|---|---|")
    cal = f"{offset * 1000:+.2f} ms" if offset is not None else "not measured"
    print(
        f"| {len(ms)} | {statistics.median(ms):.1f} ms | {percentile(ms, 99):.1f} ms "
        f"| {min(ms):.1f} ms | {max(ms):.1f} ms | {cal} |"
    )
    if headerless:
        print(f"({headerless} reports came without their header: kernel rate limit)")
    print()
    print(
        f"idle: {idle_cpu:.3f} s CPU in {idle_wall:.1f} s = {idle_cpu / idle_wall * 100:.3f}% "
        f"of one core ({idle_records} kernel log records arrived meanwhile)\n"
        f"whole run (startup, {len(ms)} kills, idle): {run_cpu:.2f} s CPU (getrusage)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
