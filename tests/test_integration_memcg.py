"""A real kernel OOM kill, caused on purpose inside a memory cgroup, read back by oomlens.

`memcg-oom LIMIT -- CMD` (shared/tools, next to the clone; OOMLENS_MEMCG_OOM overrides the
path) runs CMD confined in a fresh memory cgroup and prints the kernel lines of the kill.
It exits 77 where it cannot run (not root, no memory controller): the tests skip then.
Never run a memory hog outside that tool: it would start a system-wide OOM.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from oomlens.cli import main

pytestmark = pytest.mark.integration

TOOL = Path(
    os.environ.get("OOMLENS_MEMCG_OOM")
    or Path(__file__).resolve().parents[2] / "shared" / "tools" / "memcg-oom"
)
MEMCG_NAME = re.compile(r"^/memcg-oom-\d+-\d+$")
OOM_RATELIMIT_S = 5.5  # DEFAULT_RATELIMIT_INTERVAL (5 s), and a margin

# Writes its pid and cgroup into DIR, then touches 200 MiB in 1 MiB chunks.
HOG = """\
import os, sys
d = sys.argv[1]
with open(os.path.join(d, "pid"), "w") as f:
    f.write(str(os.getpid()))
with open("/proc/self/cgroup") as src, open(os.path.join(d, "cgroup"), "w") as f:
    f.write(src.read())
chunks = [bytearray(1 << 20) for _ in range(200)]
"""

# A worker of several: records its pid, waits until all N have started (so that none is
# killed before it wrote its pid), then grows slowly enough for the others to grow too.
WORKER = """\
import glob, os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(d, "worker.%d" % os.getpid()), "w"):
    pass
deadline = time.monotonic() + 5
while len(glob.glob(os.path.join(d, "worker.*"))) < n and time.monotonic() < deadline:
    time.sleep(0.01)
chunks = []
for _ in range(200):
    chunks.append(bytearray(1 << 20))
    time.sleep(0.002)
"""
WORKERS = 4


def _memcg_oom(limit: str, *command: str, kmsg: bool = False) -> bytes:
    """What memcg-oom prints for `command` run under `limit`."""
    if not TOOL.is_file():
        pytest.skip(f"{TOOL} not found (set OOMLENS_MEMCG_OOM)")
    if shutil.which("python3") is None:
        pytest.skip("no python3 on PATH for the memory hog")
    args = [str(TOOL), *(["--kmsg"] if kmsg else []), limit, "--", *command]
    done = subprocess.run(args, capture_output=True, timeout=60, check=False)
    stderr = done.stderr.decode(errors="replace").strip()
    if done.returncode == 77:
        pytest.skip(stderr or "memcg-oom cannot run here")
    assert done.returncode == 0, f"memcg-oom failed ({done.returncode}): {stderr}"
    return done.stdout


def _kill_log(limit: str, *command: str, hog_dir: Path | None = None) -> bytes:
    """The kernel lines of the OOM kill(s) `command` causes under `limit`, with a report.

    With `hog_dir` (where HOG wrote its cgroup) the lines are raw /dev/kmsg records.
    """
    for attempt in range(2):
        data = _memcg_oom(limit, *command, kmsg=hog_dir is not None)
        if hog_dir is not None and b"Killed process" not in data:
            data = _kmsg_after(f"memcg-oom: start {_cgroup(hog_dir).lstrip('/')}")
        header, kill = data.find(b"invoked oom-killer"), data.find(b"Killed process")
        if kill < 0 or 0 <= header < kill or attempt:
            return data
        # The kernel prints at most 10 reports per 5 s (oom_kill_process's ratelimit, then
        # "oom_kill_process: N callbacks suppressed"); later kills show only their kill
        # line. Runs just before this one used them up: wait and run again.
        time.sleep(OOM_RATELIMIT_S)
    raise AssertionError("unreachable")


def _kmsg_after(marker: str) -> bytes:
    """/dev/kmsg records after the one whose message is `marker`, as read(2) returns them.

    The tool's `--kmsg` mode reads /dev/kmsg with `dd`'s default 512-byte block, and the
    kernel refuses (EINVAL) a read smaller than the next record, so `dd` stops at the first
    record longer than 512 bytes (often the boot command line) and prints nothing. Until
    the tool reads with a bigger block, the test reads the records itself.
    """
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    records: list[bytes] = []
    try:
        while True:
            try:
                record = os.read(fd, 64 * 1024)
            except BlockingIOError:
                break
            except BrokenPipeError:  # records were overwritten while reading: go on
                continue
            if not record:
                break
            records.append(record)
    finally:
        os.close(fd)
    lines = b"".join(records).splitlines(keepends=True)
    ends = [i for i, ln in enumerate(lines) if ln.rstrip(b"\n").endswith(f";{marker}".encode())]
    assert ends, f"marker {marker!r} not in /dev/kmsg"
    return b"".join(lines[ends[-1] + 1 :])


def _cgroup(hog_dir: Path) -> str:
    """The memory cgroup the hog ran in, from its /proc/self/cgroup."""
    v2 = None
    for line in (hog_dir / "cgroup").read_text().splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return path  # cgroup v1
        if hierarchy == "0" and not controllers:
            v2 = path
    assert v2 is not None, "the hog saw no memory cgroup"
    return v2


def _analyze(data: bytes, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, Any]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    status = main(["analyze", "--format", "json", "-"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, json.loads(out)


def _check_single_kill(data: bytes, hog_dir: Path, monkeypatch: Any, capsys: Any) -> None:
    pid = int((hog_dir / "pid").read_text())
    cgroup = _cgroup(hog_dir)
    status, doc = _analyze(data, monkeypatch, capsys)
    assert status == 0
    assert doc["schema"] == 1
    (event,) = doc["events"]
    assert event["scope"] == "memcg"
    assert event["complete"] is True, event["missing"]
    assert event["missing"] == []
    assert event["victim"]["pid"] == pid
    assert event["victim"]["comm"] == "python3"
    assert event["victim"]["anon_rss_kb"] > 30000
    assert MEMCG_NAME.match(event["memcg"]), event["memcg"]
    assert event["memcg"] == cgroup
    assert event["victim"]["memcg"] == cgroup
    assert event["summary"]["oom_memcg"] == cgroup
    assert event["summary"]["pid"] == pid
    assert [(t["pid"], t["name"]) for t in event["tasks"]] == [(pid, "python3")]
    limits = {c["name"]: c["limit_kb"] for c in event["memcg_counters"]}
    assert limits["memory"] == 40 * 1024


def test_real_memcg_kill_dmesg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _kill_log("40M", "python3", "-c", HOG, str(tmp_path))
    _check_single_kill(data, tmp_path, monkeypatch, capsys)


def test_real_memcg_kill_kmsg_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _kill_log("40M", "python3", "-c", HOG, str(tmp_path), hog_dir=tmp_path)
    # raw /dev/kmsg records: "prio,seq,usec,flags;message"
    assert re.match(rb"\d+,\d+,\d+,[^;]*;", data), data[:200]
    _check_single_kill(data, tmp_path, monkeypatch, capsys)


def test_real_memcg_kills_among_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    each = " ".join(str(i) for i in range(WORKERS))
    spawn = f'rm -f "$2"/worker.*; for i in {each}; do python3 -c "$1" "$2" {WORKERS} & done; wait'
    data = _kill_log("60M", "sh", "-c", spawn, "sh", WORKER, str(tmp_path))
    workers = {int(p.name.split(".")[1]) for p in tmp_path.glob("worker.*")}
    assert len(workers) == WORKERS
    status, doc = _analyze(data, monkeypatch, capsys)
    assert status == 0
    events = doc["events"]
    assert events
    assert not events[0]["headerless"]
    memcg = events[0]["memcg"]
    assert MEMCG_NAME.match(memcg), memcg
    for event in events:
        assert event["scope"] == "memcg"
        assert event["victim"]["pid"] in workers
        if event["headerless"]:
            # rate-limited: the kill line alone ("Memory cgroup out of memory: Killed ...")
            assert event["complete"] is False
            assert event["tasks"] == []
            continue
        assert event["memcg"] == memcg
        pythons = [t["pid"] for t in event["tasks"] if t["name"] == "python3"]
        assert event["victim"]["pid"] in pythons
        assert set(pythons) <= workers
    # the first kill comes once all workers have started and grown together
    assert len([t for t in events[0]["tasks"] if t["name"] == "python3"]) >= 2
