"""Hostile and odd inputs through the command line: never a traceback, always an exit status
that says what happened (0 events found, 1 none found, 2 usage or input error).
"""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import json
import lzma
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CASES, NOW
from oomlens.cli import main
from oomlens.containers import Normalizer
from oomlens.model import LogLine
from oomlens.parse import Parser

GLOBAL = CASES / "real-6.18-global-oom.log"  # python3 (pid 1987), lines 2-72
MEMCG = CASES / "real-6.18-memcg-v1-single.log"  # python3 (pid 3775), lines 1-79
ARCH = CASES / "oomanalyser-archlinux-6.1.log"  # doxygen (pid 473206), tasks from line 59
AKS = CASES / "010-5.15-azure-aks-cgroup2-pod-syslog.log"  # stress-ng-vm (pid 183960)
DEBIAN = CASES / "027-5.10-debian-syslog-ufw-interleaved-hugetlb-1G.log"  # clamd (pid 517)

Capsys = pytest.CaptureFixture[str]


def analyze(capsys: Capsys, *argv: str) -> tuple[int, str, str]:
    """`oomlens analyze ARGV...`: exit status, stdout, stderr (never a traceback)."""
    status = main(["analyze", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "Traceback" not in out
    return status, out, err


def events(capsys: Capsys, *argv: str, status: int = 0) -> list[dict[str, Any]]:
    """The events of `oomlens analyze --format json ARGV...`, which must exit with `status`."""
    got, out, err = analyze(capsys, "--format", "json", *argv)
    assert got == status, err
    doc = json.loads(out)
    assert doc["schema"] == 1
    result: list[dict[str, Any]] = doc["events"]
    return result


def without_source(evs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "source"} for e in evs]


def victims(evs: list[dict[str, Any]]) -> list[tuple[str | None, int, str]]:
    return [(e["host"], e["victim"]["pid"], e["victim"]["comm"]) for e in evs]


# -- files that hold no report ------------------------------------------------------------


def test_empty_file(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "kern.log"
    path.write_bytes(b"")
    status, out, err = analyze(capsys, str(path))
    assert status == 1
    assert "No OOM-killer events found." in out
    assert err.startswith(f"oomlens: no OOM-killer events found in {path} (")
    assert "journalctl -k" in err


def test_elf_binary_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "oomlens.bin"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(4096))
    status, _, err = analyze(capsys, str(path))
    assert status == 2
    assert f"oomlens: error: {path} does not look like a text log: it is an ELF executable" in err


def test_binary_data_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "core"
    path.write_bytes(bytes(range(256)) * 4 + bytes(8192))  # mostly NUL bytes
    status, _, err = analyze(capsys, str(path))
    assert status == 2
    assert f"oomlens: error: {path} does not look like a text log (binary data)" in err


def test_random_bytes_without_nuls_read_as_text(tmp_path: Path, capsys: Capsys) -> None:
    # No magic number and few NUL bytes: sources.py reads it as a (garbled) log, finds nothing.
    data = random.Random(4242).randbytes(256 * 1024)
    assert data[:2] != b"\x1f\x8b" and data.count(0) < 0.3 * len(data)
    path = tmp_path / "noise.log"
    path.write_bytes(data)
    status, _, err = analyze(capsys, str(path))
    assert status == 1
    assert "no OOM-killer events found" in err


def test_ten_megabyte_line(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "messages"
    path.write_bytes(b"x" * 10_000_000)
    start = time.monotonic()
    status, _, err = analyze(capsys, str(path))
    assert time.monotonic() - start < 10
    assert status == 1
    assert "no OOM-killer events found" in err


def test_ten_megabyte_line_before_a_report(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "messages"
    path.write_bytes(b"y" * 10_000_000 + b"\n" + GLOBAL.read_bytes())
    start = time.monotonic()
    evs = events(capsys, str(path))
    assert time.monotonic() - start < 10
    assert [(e["victim"]["pid"], e["lines"]) for e in evs] == [(1987, {"first": 3, "last": 73})]


def test_directory_without_logs(tmp_path: Path, capsys: Capsys) -> None:
    (tmp_path / "notes.txt").write_text("nothing here\n")
    status, out, err = analyze(capsys, str(tmp_path))
    assert status == 2
    assert out == ""
    assert f"oomlens: error: no kernel logs found in {tmp_path} " in err
    assert "pass the log file itself" in err


def test_missing_file(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "kern.log.1"
    status, out, err = analyze(capsys, str(path))
    assert status == 2
    assert out == ""
    assert err == f"oomlens: error: no such file: {path} (check the path)\n"


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root bypasses file permissions: chmod 000 cannot deny it"
)
def test_permission_denied(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "kern.log"
    path.write_bytes(GLOBAL.read_bytes())
    path.chmod(0)
    status, _, err = analyze(capsys, str(path))
    assert status == 2
    assert f"cannot read {path}: permission denied (" in err


# -- damaged reports -----------------------------------------------------------------------


def test_invalid_utf8_in_comm(tmp_path: Path, capsys: Capsys) -> None:
    lines = MEMCG.read_bytes().split(b"\n")
    assert lines[76].endswith(b" python3") and b"Killed process 3775 (python3)" in lines[78]
    lines[76] = lines[76].replace(b"python3", b"py\xff\xfethon3")
    lines[78] = lines[78].replace(b"(python3)", b"(py\xff\xfethon3)")
    path = tmp_path / "kern.log"
    path.write_bytes(b"\n".join(lines))
    (event,) = events(capsys, str(path))
    assert event["victim"]["pid"] == 3775
    assert event["complete"] is True
    assert event["scope"] == "memcg"
    comm = event["victim"]["comm"]
    assert comm != "python3" and comm.startswith("py") and comm.endswith("thon3")
    assert [(t["pid"], t["name"]) for t in event["tasks"]] == [(3775, comm)]


def test_report_cut_in_the_task_table(tmp_path: Path, capsys: Capsys) -> None:
    lines = ARCH.read_text().splitlines(keepends=True)
    assert lines[58].startswith("[  pid  ]")
    path = tmp_path / "kern.log"
    path.write_text("".join(lines[:100]))  # header, Mem-Info and 40 task rows
    (event,) = events(capsys, str(path))
    assert event["complete"] is False
    assert "kill" in event["missing"]
    assert event["victim"] is None
    assert event["trigger"]["comm"] == "doxygen"
    assert len(event["tasks"]) == 100 - 59


def test_interleaved_reports_from_two_hosts(tmp_path: Path, capsys: Capsys) -> None:
    aks = AKS.read_text().splitlines(keepends=True)[:86]  # up to its kill line
    debian = DEBIAN.read_text().splitlines(keepends=True)
    mixed = [ln for pair in itertools.zip_longest(aks, debian) for ln in pair if ln]
    path = tmp_path / "syslog"
    path.write_text("".join(mixed))
    evs = events(capsys, str(path))
    assert victims(evs) == [
        ("aks-nodepool1-24207654-vmss000001", 183960, "stress-ng-vm"),
        ("localhost", 517, "clamd"),
    ]
    assert [e["scope"] for e in evs] == ["memcg", "system"]
    assert all(e["complete"] for e in evs)
    # each report keeps its own task table, not the other host's rows
    alone = {AKS: events(capsys, str(AKS))[0], DEBIAN: events(capsys, str(DEBIAN))[0]}
    assert [len(e["tasks"]) for e in evs] == [len(alone[AKS]["tasks"]), len(alone[DEBIAN]["tasks"])]


# -- containers: compression, line endings, stdin, several files ----------------------------

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gz": gzip.compress,
    "xz": lzma.compress,
    "bz2": bz2.compress,
}


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_compressed_copy_gives_the_same_events(ext: str, tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / f"kern.log.1.{ext}"
    path.write_bytes(COMPRESSORS[ext](GLOBAL.read_bytes()))
    plain = events(capsys, str(GLOBAL))
    packed = events(capsys, str(path))
    assert [e["source"] for e in packed] == [str(path)]
    assert without_source(packed) == without_source(plain)


def test_crlf_line_endings(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "kern.log"
    path.write_bytes(MEMCG.read_bytes().replace(b"\n", b"\r\n"))
    crlf = events(capsys, str(path))
    assert "\r" not in json.dumps(crlf)
    assert without_source(crlf) == without_source(events(capsys, str(MEMCG)))


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: Capsys) -> None:
    _stdin(monkeypatch, MEMCG.read_bytes())
    piped = events(capsys, "-")
    assert [e["source"] for e in piped] == ["<stdin>"]
    assert without_source(piped) == without_source(events(capsys, str(MEMCG)))


def test_stdin_gzip(monkeypatch: pytest.MonkeyPatch, capsys: Capsys) -> None:
    _stdin(monkeypatch, gzip.compress(MEMCG.read_bytes()))
    assert victims(events(capsys, "-")) == [(None, 3775, "python3")]


def test_several_files_in_order(capsys: Capsys) -> None:
    evs = events(capsys, str(MEMCG), str(GLOBAL))
    assert [(e["source"], e["victim"]["pid"]) for e in evs] == [
        (str(MEMCG), 3775),
        (str(GLOBAL), 1987),
    ]
    evs = events(capsys, str(GLOBAL), str(MEMCG))
    assert [e["victim"]["pid"] for e in evs] == [1987, 3775]


def test_one_bad_file_among_good_ones(tmp_path: Path, capsys: Capsys) -> None:
    bad = tmp_path / "kern.log"
    bad.write_bytes(b"\x7fELF" + bytes(100))
    status, out, err = analyze(capsys, "--format", "json", str(bad), str(GLOBAL))
    assert status == 2
    assert f"{bad} does not look like a text log" in err
    assert [e["victim"]["pid"] for e in json.loads(out)["events"]] == [1987]


# -- output ------------------------------------------------------------------------------------


def test_output_file(tmp_path: Path, capsys: Capsys) -> None:
    status, shown, _ = analyze(capsys, str(GLOBAL))
    assert status == 0
    report = tmp_path / "report.txt"
    status, out, err = analyze(capsys, str(GLOBAL), "-o", str(report))
    assert (status, out, err) == (0, "", "")
    assert report.read_text(encoding="utf-8") == shown


def test_output_file_format_from_extension(tmp_path: Path, capsys: Capsys) -> None:
    report = tmp_path / "report.json"
    status, out, _ = analyze(capsys, str(GLOBAL), "-o", str(report))
    assert (status, out) == (0, "")
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["schema"] == 1
    assert [e["victim"]["pid"] for e in doc["events"]] == [1987]


def test_output_file_in_missing_directory(tmp_path: Path, capsys: Capsys) -> None:
    report = tmp_path / "no" / "such" / "report.txt"
    status, _, err = analyze(capsys, str(GLOBAL), "-o", str(report))
    assert status == 2
    assert f"oomlens: error: cannot write {report}: " in err


def test_json_output_parses(capsys: Capsys) -> None:
    status, out, _ = analyze(capsys, "--format", "json", str(GLOBAL), str(MEMCG))
    assert status == 0
    doc = json.loads(out)
    assert doc["schema"] == 1
    assert doc["sources"] == [str(GLOBAL), str(MEMCG)]
    assert len(doc["events"]) == 2


# -- damaged compressed files ------------------------------------------------------------------

TWO_REPORTS = GLOBAL.read_bytes() + MEMCG.read_bytes() + b"filler after the reports\n" * 200_000


def test_truncated_gzip(tmp_path: Path, capsys: Capsys) -> None:
    packed = gzip.compress(TWO_REPORTS)
    path = tmp_path / "kern.log.2.gz"
    path.write_bytes(packed[: len(packed) // 2])
    status, _, err = analyze(capsys, str(path))
    assert status == 2
    assert f"oomlens: error: cannot read {path} past byte " in err
    assert "damaged or cut short" in err


def test_truncated_gzip_keeps_the_events_before_the_damage(tmp_path: Path, capsys: Capsys) -> None:
    packed = gzip.compress(TWO_REPORTS)
    path = tmp_path / "kern.log.2.gz"
    path.write_bytes(packed[: len(packed) // 2])
    evs = events(capsys, str(path), status=2)
    assert [e["victim"]["pid"] for e in evs] == [1987, 3775]


def test_gzip_with_a_damaged_header(tmp_path: Path, capsys: Capsys) -> None:
    packed = bytearray(gzip.compress(GLOBAL.read_bytes()))
    packed[2] = 7  # compression method: only 8 (deflate) exists
    path = tmp_path / "kern.log.gz"
    path.write_bytes(bytes(packed))
    status, _, err = analyze(capsys, str(path))
    assert status == 2
    assert f"oomlens: error: cannot read {path} " in err


def test_gzip_with_damaged_data(tmp_path: Path, capsys: Capsys) -> None:
    packed = bytearray(gzip.compress(GLOBAL.read_bytes()))
    for i in range(20, len(packed) - 8, 7):
        packed[i] ^= 0x5A
    path = tmp_path / "kern.log.gz"
    path.write_bytes(bytes(packed))
    status, _, err = analyze(capsys, str(path))
    assert status == 2
    assert f"oomlens: error: cannot read {path} " in err


# -- property tests --------------------------------------------------------------------------


def _case_texts() -> list[str]:
    """The kernel messages of every case file, prefixes removed: parser food."""
    texts: list[str] = []
    for path in sorted(CASES.glob("*.log")):
        normalizer = Normalizer(path.name, now=NOW)
        for no, raw in enumerate(path.read_bytes().split(b"\n"), 1):
            texts.extend(ln.text for ln in normalizer.feed(no, raw))
    return texts


CASE_TEXTS = _case_texts()
CASE_RAW = [raw for p in sorted(CASES.glob("*.log")) for raw in p.read_bytes().split(b"\n")]

# Real kernel lines, cut short or with random text spliced in, push the parser into its
# sections; pure random text alone would rarely get past "no report open".
_real = st.sampled_from(CASE_TEXTS)
_text = st.one_of(
    st.text(max_size=120),
    _real,
    st.tuples(_real, st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
    st.tuples(_real, st.integers(0, 200), st.text(max_size=12)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    ),
)
_line = st.tuples(_text, st.sampled_from([None, "h1", "h2"]), st.booleans(), st.integers(0, 9))


@settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(_line, max_size=300))
def test_parser_never_raises_on_arbitrary_lines(
    lines: list[tuple[str, str | None, bool, int]],
) -> None:
    parser = Parser("fuzz")
    out = []
    for no, (text, host, cont, kind) in enumerate(lines, 1):
        line = LogLine(line_no=no, path="fuzz", text=text, host=host, cont=cont, kernel=kind > 0)
        out += parser.feed(line)
    out += parser.finish()
    for event in out:
        assert event.source == "fuzz"
        assert 1 <= event.first_line <= event.last_line <= len(lines)


_raw = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(CASE_RAW),
    st.tuples(st.sampled_from(CASE_RAW), st.integers(0, 200), st.binary(max_size=8)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    ),
)


@settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.tuples(_raw, st.booleans()), max_size=300))
def test_normalizer_and_parser_never_raise_on_arbitrary_bytes(
    raws: list[tuple[bytes, bool]],
) -> None:
    normalizer = Normalizer("fuzz", now=NOW)
    parser = Parser("fuzz")
    out = []
    for no, (raw, gap) in enumerate(raws, 1):
        if gap:
            normalizer.gap()
        for line in normalizer.feed(no, raw):
            assert line.line_no <= no
            out += parser.feed(line)
    for line in normalizer.flush():
        out += parser.feed(line)
    out += parser.finish()
    assert all(1 <= e.first_line <= e.last_line <= len(raws) for e in out)
