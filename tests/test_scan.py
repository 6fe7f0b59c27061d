"""scan(): the lines in and around OOM reports, checked against a line-by-line reference."""

from __future__ import annotations

import gzip
import io
import os
import random
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomlens.scan import Limits, scan

CASES = Path(__file__).parent / "cases"
TRIGGER = b"invoked oom-killer"
KILL = b"ut of memory"
NEVER: frozenset[int] = frozenset()

# Small sizes make every boundary (chunk, look-back, compaction, cut lines) happen in small inputs.
TINY = Limits(
    lookback=300,
    lookback_trigger=20,
    lookahead=200,
    report_span=900,
    max_line=400,
    chunk=64,
    parallel_min=0,
)


# ---------------------------------------------------------------------------------------
# The reference: what scan() promises, one line at a time.


def reference(
    data: bytes, limits: Limits, busy_after: frozenset[int] = NEVER, whole_below: int = 0
) -> list[tuple[int, bytes]]:
    """The lines scan() must yield; busy() is True right after yielding a line in busy_after."""
    lines = []  # (start, just past the newline, content cut to max_line)
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl
        lines.append((pos, end + 1, data[pos : min(end, pos + limits.max_line)]))
        pos = end + 1
    if len(data) < whole_below:
        return [(i, content) for i, (_, _, content) in enumerate(lines, 1)]
    kinds = [2 if KILL in content else 1 if TRIGGER in content else 0 for _, _, content in lines]
    out: list[tuple[int, bytes]] = []
    ahead = open_until = busy_until = 0
    done = -1  # just past the last line yielded
    for j, (start, after, content) in enumerate(lines):
        if kinds[j]:  # the look-back: lines not yielded yet, in order
            back = (
                limits.lookback if kinds[j] == 2 else min(limits.lookback, limits.lookback_trigger)
            )
            i = j
            while i > 0 and lines[i - 1][0] >= max(start - back, done):
                i -= 1
            out += [(k + 1, lines[k][2]) for k in range(i, j)]
            done = max(done, lines[j - 1][1] if i < j else done)
        busy = start == done and start < busy_until and out[-1][0] in busy_after
        if kinds[j] or start < ahead or start < open_until or busy:
            out.append((j + 1, content))
            done = after
        if kinds[j]:
            ahead = max(ahead, after + limits.lookahead)
            open_until = after + limits.report_span if kinds[j] == 1 else 0
            busy_until = after + limits.busy_span
    return out


def run(
    stream: object, busy_after: frozenset[int] = NEVER, **kwargs: Any
) -> list[tuple[int, bytes]]:
    """scan() as a parser uses it: busy() looks at the last line the parser was given."""
    out: list[tuple[int, bytes]] = []

    def busy() -> bool:
        return bool(out) and out[-1][0] in busy_after

    for ln, line in scan(cast(BinaryIO, stream), busy, **kwargs):
        assert type(line) is bytes
        out.append((ln, line))
    return out


def all_paths(
    data: bytes, tmp_path: Path, busy_after: frozenset[int] = NEVER, **kwargs: Any
) -> Iterator[tuple[str, list[tuple[int, bytes]]]]:
    """scan() of data as a pipe-like stream, a file read in one pass, and a file split 3 ways."""
    yield "stream", run(io.BytesIO(data), busy_after, **kwargs)
    path = tmp_path / "log"
    path.write_bytes(data)
    for workers in (1, 3):
        with path.open("rb") as f:
            yield f"file/{workers}", run(f, busy_after, workers=workers, **kwargs)


def check(
    data: bytes,
    tmp_path: Path,
    limits: Limits = TINY,
    busy_after: frozenset[int] = NEVER,
    whole_below: int = 0,
) -> list[tuple[int, bytes]]:
    expected = reference(data, limits, busy_after, whole_below)
    for name, got in all_paths(data, tmp_path, busy_after, limits=limits, whole_below=whole_below):
        assert got == expected, name
    return expected


# ---------------------------------------------------------------------------------------
# Logs built from the real reports in tests/cases, embedded in chatter.

CHATTER = [
    "usb 1-1.2: new high-speed USB device number {n} using xhci_hcd",
    "EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro. Quota mode: none.",
    'audit: type=1400 audit(1700000000.{n}:42): apparmor="DENIED" operation="open" pid={n}',
    "[UFW BLOCK] IN=eth0 OUT= SRC=10.1.{n}.7 DST=10.0.0.2 LEN=40 PROTO=TCP SPT={n} DPT=22",
    "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "systemd[1]: Started Userspace Out-Of-Memory (OOM) Killer.",
    "docker0: port 2(veth{n}) entered blocking state",
]


def chatter(r: random.Random, count: int) -> bytes:
    lines = []
    for _ in range(count):
        body = r.choice(CHATTER).format(n=r.randrange(100000))
        lines.append(f"[{r.randrange(100000):5d}.{r.randrange(1000000):06d}] {body}\n")
    return "".join(lines).encode()


def case_files(*, with_needle: bool) -> list[Path]:
    return [
        path
        for path in sorted(CASES.glob("*.log"))
        if with_needle == any(n in path.read_bytes() for n in (TRIGGER, KILL))
    ]


def spliced(seed: int, chatter_lines: int) -> tuple[bytes, list[tuple[int, int]]]:
    """Chatter with every case that holds a needle spliced in; the line span of each case."""
    r = random.Random(seed)
    parts = []
    spans = []
    line = 1
    for path in case_files(with_needle=True):
        gap = chatter(r, r.randrange(chatter_lines))
        report = path.read_bytes()
        if not report.endswith(b"\n"):
            report += b"\n"
        parts += [gap, report]
        line += gap.count(b"\n")
        spans.append((line, line + report.count(b"\n")))
        line = spans[-1][1]
    parts.append(chatter(r, chatter_lines))
    return b"".join(parts), spans


@pytest.mark.parametrize("seed", [1, 2])
def test_cases_in_chatter_match_the_reference(seed: int, tmp_path: Path) -> None:
    data, _ = spliced(seed, 4000)
    check(data, tmp_path, Limits(parallel_min=0))
    small = Limits(lookback=4096, lookahead=2048, max_line=4096, chunk=1000, parallel_min=0)
    check(data, tmp_path, small)


def test_every_line_of_every_report_is_yielded(tmp_path: Path) -> None:
    # Each case is a whole report or fragment (< look-back), and with busy() always False:
    # the trigger, the lines up to the kill line, the reaper and the lines around them.
    data, spans = spliced(3, 6000)
    lines = data.split(b"\n")
    got = dict(check(data, tmp_path, Limits(parallel_min=0)))
    for first, stop in spans:
        for ln in range(first, stop):
            assert got.get(ln) == lines[ln - 1], f"line {ln} of the report at {first}"


def test_chatter_far_from_reports_is_skipped(tmp_path: Path) -> None:
    r = random.Random(6)
    before, after = chatter(r, 20000), chatter(r, 20000)
    report = (CASES / "oomanalyser-archlinux-6.1.log").read_bytes()
    got = check(before + report + after, tmp_path, Limits(parallel_min=0))
    size = sum(len(line) + 1 for _, line in got)
    assert len(report) < size < len(report) + 2 * (256 << 10) + 2000


# ---------------------------------------------------------------------------------------
# Edge cases.


def test_empty(tmp_path: Path) -> None:
    assert check(b"", tmp_path) == []
    assert check(b"", tmp_path, whole_below=1 << 20) == []


def test_no_trailing_newline(tmp_path: Path) -> None:
    data = b"a\nb\nOut of memory: Killed process 1 (x)"
    assert check(data, tmp_path)[-1] == (3, b"Out of memory: Killed process 1 (x)")
    assert check(data, tmp_path, whole_below=1 << 20)[-1][0] == 3


def test_crlf_keeps_the_carriage_return(tmp_path: Path) -> None:
    data = b"noise\r\nx invoked oom-killer: gfp_mask=0x0\r\nOut of memory: Killed process 1\r\n"
    assert check(data, tmp_path) == [
        (1, b"noise\r"),
        (2, b"x invoked oom-killer: gfp_mask=0x0\r"),
        (3, b"Out of memory: Killed process 1\r"),
    ]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 11, 16, 23])
def test_needles_split_across_reads(chunk: int, tmp_path: Path) -> None:
    r = random.Random(chunk)
    filler = [b"x" * r.randrange(0, 30) + b"\n" for _ in range(60)]
    filler[20] = b"java invoked oom-killer: order=0\n"
    filler[45] = b"Memory cgroup out of memory: Killed process 7 (java)\n"
    limits = Limits(lookback=40, lookahead=30, report_span=300, max_line=60, chunk=chunk)
    got = check(b"".join(filler), tmp_path, limits)
    assert (21, filler[20][:-1]) in got
    assert (46, filler[45][:-1]) in got


def test_huge_line_is_cut_and_counts_as_one(tmp_path: Path) -> None:
    huge = b"y" * (3 << 20)
    kill = b"Out of memory: Killed process 1 (x)"
    data = b"a\n" + huge + b"\n" + kill + b"\n" + huge + KILL + b"\nz\n"
    assert (
        check(data, tmp_path, Limits(parallel_min=0))
        == [
            (3, kill),  # the huge line before it starts too far back to be in the look-back
            (4, huge[: 1 << 20]),  # its needle is past the cut: in the look-ahead, not a hit
        ]
    )


def test_huge_line_with_a_needle_is_a_hit(tmp_path: Path) -> None:
    long_kill = b"Out of memory: Killed process 1 (x) " + b"q" * 5000
    data = b"".join([b"c\n" * 1000, long_kill, b"\n", b"d\n" * 1000])
    got = check(data, tmp_path)
    assert (1001, long_kill[: TINY.max_line]) in got
    assert [ln for ln, _ in got] == list(range(1001 - 150, 1001 + 101))


def test_huge_lines_at_every_offset(tmp_path: Path) -> None:
    for n in range(395, 406):  # around max_line (400): cut or not, with or without newline
        for tail in (b"", b"\n", b"\nOut of memory\n"):
            check(b"a\n" + b"x" * n + tail, tmp_path)
            check(b"Out of memory\n" + b"x" * n + tail, tmp_path)


def test_busy_extends_past_the_look_ahead(tmp_path: Path) -> None:
    table = [f"[{i:5d}] 1000 {i} 4096 100 0 0 java\n".encode() for i in range(300)]
    data = b"".join([b"noise\n" * 50, b"java invoked oom-killer: gfp_mask=0x0\n", *table])
    data += b"".join([b"later\n" * 100, b"Out of memory: Killed process 1 (java)\n"])
    limits = Limits(lookback=100, lookahead=200, report_span=400, max_line=400, chunk=64)
    quiet = check(data, tmp_path, limits)
    busy_after = frozenset(range(51, 352))  # the parser is busy up to the table's end
    busy = check(data, tmp_path, limits, busy_after)
    numbers = {ln for ln, _ in busy}
    assert set(range(51, 353)) <= numbers  # trigger + table + the line after it
    assert not set(range(51, 353)) <= {ln for ln, _ in quiet}
    capped = check(data, tmp_path, replace(limits, busy_span=1000), busy_after)
    assert max(ln for ln, _ in capped if ln < 400) < 100  # a parser busy by mistake is cut off


def test_small_input_is_passed_through_whole(tmp_path: Path) -> None:
    for path in case_files(with_needle=False):  # fragments with neither needle
        data = path.read_bytes()
        whole = check(data, tmp_path, Limits(), whole_below=8 << 20)
        assert [line for _, line in whole] == data.rstrip(b"\n").split(b"\n")
        assert check(data, tmp_path, Limits(), whole_below=0) == []


def test_default_passthrough_threshold() -> None:
    data = b"Task in /a killed as a result of limit of /a\n"
    assert list(scan(io.BytesIO(data))) == [(1, data[:-1])]
    assert list(scan(io.BytesIO(data), whole_below=len(data))) == []


def test_parallel_is_the_same_as_sequential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forks = []
    fork = os.fork

    def counted() -> int:
        pid = fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counted)  # to see that the split did happen
    data, _ = spliced(4, 3000)
    path = tmp_path / "big.log"
    path.write_bytes(data)
    results = []
    for workers in (1, 2, 3, 7):
        for limits in (TINY, Limits(parallel_min=0)):
            with path.open("rb") as f:
                results.append((limits, run(f, workers=workers, limits=limits, whole_below=0)))
    for limits, got in results:
        assert got == reference(data, limits)
    assert len(forks) == 2 * (1 + 2 + 6)


def test_compressed_and_piped_streams(tmp_path: Path) -> None:
    data, _ = spliced(5, 500)
    expected = reference(data, TINY)
    path = tmp_path / "log.gz"
    path.write_bytes(gzip.compress(data))
    with gzip.open(path, "rb") as f:  # has a fileno(), of the compressed file
        assert run(f, limits=TINY, whole_below=0) == expected
    (tmp_path / "log").write_bytes(data)
    with subprocess.Popen(["cat", str(tmp_path / "log")], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        assert run(proc.stdout, limits=TINY, whole_below=0) == expected


class Breaks(io.RawIOBase):
    """A stream that fails after `at` bytes, like a cut .gz or a failing disk."""

    def __init__(self, data: bytes, at: int) -> None:
        self.data = data[:at]
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.pos == len(self.data):
            raise OSError("disk on fire")
        n = min(len(buffer), len(self.data) - self.pos, 1000)
        buffer[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


@pytest.mark.parametrize("whole_below", [0, 1 << 20])
def test_a_read_error_comes_after_the_lines_read_before_it(whole_below: int) -> None:
    data, _ = spliced(7, 300)
    for at in (0, 5000, len(data) // 2, len(data)):
        got: list[tuple[int, bytes]] = []
        with pytest.raises(OSError, match="disk on fire"):
            stream = io.BufferedReader(Breaks(data, at))
            got.extend(scan(cast(BinaryIO, stream), limits=TINY, whole_below=whole_below))
        assert got == reference(data[:at], TINY, whole_below=whole_below)


def test_starts_at_the_stream_position_and_ends_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"skipped\nOut of memory: Killed process 1\nz\n")
    with path.open("rb") as f:
        f.readline()
        assert list(scan(f, whole_below=0, limits=TINY)) == [
            (1, b"Out of memory: Killed process 1"),
            (2, b"z"),
        ]
        assert f.read() == b""


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_line"):
        Limits(lookback=10, max_line=5)
    with pytest.raises(ValueError, match="positive"):
        Limits(chunk=0)


# ---------------------------------------------------------------------------------------
# Any input, any sizes: the same lines as the reference.

PIECES = [b"\n", b"\r\n", b"a", b"bc ", b"x" * 37, b"y" * 150, TRIGGER, KILL, b"ut of mem"]


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    return b"".join(draw(st.lists(st.sampled_from(PIECES), max_size=300)))


@st.composite
def limit_sets(draw: st.DrawFn) -> Limits:
    lookback = draw(st.integers(1, 300))
    return Limits(
        lookback=lookback,
        lookback_trigger=draw(st.integers(1, 400)),
        lookahead=draw(st.integers(1, 300)),
        report_span=draw(st.integers(1, 600)),
        busy_span=draw(st.integers(1, 1000)),
        max_line=draw(st.integers(lookback, 400)),
        chunk=draw(st.integers(1, 200)),
        parallel_min=0,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents(), limits=limit_sets(), busy=st.frozensets(st.integers(1, 80)))
def test_any_input_matches_the_reference(data: bytes, limits: Limits, busy: frozenset[int]) -> None:
    expected = reference(data, limits, busy)
    assert run(io.BytesIO(data), busy, limits=limits, whole_below=0) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents(), limits=limit_sets(), busy=st.frozensets(st.integers(1, 80)))
def test_any_file_split_across_processes_matches_the_reference(
    data: bytes, limits: Limits, busy: frozenset[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("split") / "log"
    path.write_bytes(data)
    with path.open("rb") as f:
        got = run(f, busy, limits=limits, whole_below=0, workers=3)
    assert got == reference(data, limits, busy)
