"""Finding and opening inputs: trees of logs, compressed files, stdin, commands, errors."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from oomlens.errors import SourceError
from oomlens.sources import Source, _translate, open_binary, resolve, system_sources

LOG = b"Oct 12 19:00:20 h kernel: [ 8523.347333] Out of memory: Killed process 1 (a)\n" * 50


def read(source: Source) -> bytes:
    with open_binary(source) as stream:
        return stream.read()


def write(path: Path, data: bytes = LOG) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- resolve --------------------------------------------------------------------------------


def test_resolve_file_and_stdin(tmp_path: Path) -> None:
    log = write(tmp_path / "kern.log")
    assert resolve([str(log), "-"]) == [Source(str(log), log), Source("<stdin>", None)]


def test_resolve_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no such file: .*nope\.log \(check the path\)"):
        resolve([str(tmp_path / "nope.log")])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_resolve_permission_denied(tmp_path: Path) -> None:
    log = write(tmp_path / "messages")
    log.chmod(0)
    with pytest.raises(SourceError, match=r"permission denied .*sudo.*adm group"):
        resolve([str(log)])


def test_resolve_sosreport_tree(tmp_path: Path) -> None:
    sos = tmp_path / "sosreport-node1-2025"
    for name in ("messages", "messages.1", "messages.2.gz", "messages-20250801", "secure", "cron"):
        write(sos / "var/log" / name)
    write(sos / "var/log/kern.log.1")
    write(sos / "var/log/kern.log")
    write(sos / "sos_commands/kernel/dmesg")
    write(sos / "sos_commands/kernel/dmesg_-T")
    write(sos / "sos_commands/logs/journalctl_--no-pager")
    write(sos / "sos_commands/logs/journalctl_--disk-usage")
    write(sos / "sos_commands/logs/journal.json")
    write(sos / "sos_reports/manifest.json", b"{}")
    names = [str(Path(s.name).relative_to(sos)) for s in resolve([str(sos)])]
    assert names == [
        "sos_commands/kernel/dmesg",  # dmesg_-T holds the same records
        "sos_commands/logs/journal.json",
        "sos_commands/logs/journalctl_--no-pager",
        "var/log/kern.log.1",
        "var/log/kern.log",
        "var/log/messages.2.gz",
        "var/log/messages.1",
        "var/log/messages-20250801",
        "var/log/messages",
    ]


def test_resolve_directory_without_logs(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt")
    with pytest.raises(SourceError, match=r"no kernel logs found in .*pass the log file"):
        resolve([str(tmp_path)])


def test_resolve_directory_of_binary_journals(tmp_path: Path) -> None:
    write(tmp_path / "journal/abc/system.journal", b"LPKSHHRH" + bytes(100))
    with pytest.raises(SourceError, match=r"binary systemd journal.*journalctl -D"):
        resolve([str(tmp_path)])


def test_permission_denied_message() -> None:
    # the test suite may run as root, which reads everything: check the wording directly
    err = _translate(PermissionError(13, "Permission denied", "/var/log/messages"), "messages")
    assert str(err) == (
        "cannot read messages: permission denied (run with sudo, or add your user to the adm group)"
    )


# --- open_binary ----------------------------------------------------------------------------


def test_open_plain_file_is_seekable(tmp_path: Path) -> None:
    log = write(tmp_path / "kern.log")
    with open_binary(Source("kern.log", log)) as stream:
        assert stream.seekable()
        assert stream.read() == LOG


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", gzip.compress), (".xz", lzma.compress), (".bz2", bz2.compress)],
)
def test_open_compressed_by_magic(tmp_path: Path, suffix: str, compress: object) -> None:
    assert callable(compress)
    data = compress(LOG)
    assert read(Source("x", write(tmp_path / f"messages.1{suffix}", data))) == LOG
    # the extension does not matter: rotated files are often renamed
    assert read(Source("x", write(tmp_path / "renamed.log", data))) == LOG


def test_open_zstd_says_what_to_do(tmp_path: Path) -> None:
    path = write(tmp_path / "messages.zst", b"\x28\xb5\x2f\xfd" + bytes(20))
    if sys.version_info < (3, 14):
        with pytest.raises(SourceError, match=r"zstd-compressed: decompress it with unzstd"):
            read(Source("messages.zst", path))


def test_open_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(LOG * 100)
    path = write(tmp_path / "messages.1.gz", data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"cannot read messages\.1\.gz past byte \d+") as info:
        read(Source("messages.1.gz", path))
    assert isinstance(info.value.__cause__, EOFError)


def test_open_corrupt_gzip_in_the_middle(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(os.urandom(1 << 18).hex().encode()))
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path = write(tmp_path / "kern.log.2.gz", bytes(data))
    with pytest.raises(SourceError, match=r"kern.log.2.gz.*damaged or cut short"):
        read(Source("kern.log.2.gz", path))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x7fELF\x02\x01\x01" + bytes(100), "ELF"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG"),
        (b"PK\x03\x04" + bytes(100), "zip"),
        (bytes(1000) + b"text", r"binary data"),
        ("Out of memory".encode("utf-16"), "UTF-16"),
    ],
)
def test_open_refuses_binary(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path / "x.log", data)
    with pytest.raises(SourceError, match=f"x.log does not look like a text log.*{message}"):
        read(Source("x.log", path))


def test_open_refuses_binary_inside_gzip(tmp_path: Path) -> None:
    path = write(tmp_path / "x.gz", gzip.compress(bytes(5000)))
    with pytest.raises(SourceError, match=r"binary data"):
        read(Source("x.gz", path))


def test_open_tar_gz(tmp_path: Path) -> None:
    header = b"var/log/messages".ljust(257, b"\0") + b"ustar\x0000" + bytes(200)
    path = write(tmp_path / "logs.tar.gz", gzip.compress(header))
    with pytest.raises(SourceError, match=r"tar archive: unpack it"):
        read(Source("logs.tar.gz", path))


def test_open_missing_file() -> None:
    with pytest.raises(SourceError, match=r"no such file: gone.log") as info:
        read(Source("gone.log", Path("/nonexistent/gone.log")))
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_open_empty_file(tmp_path: Path) -> None:
    assert read(Source("empty", write(tmp_path / "empty", b""))) == b""


def test_open_stdin_gzip(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(gzip.compress(LOG))))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert read(Source("<stdin>", None)) == LOG
    assert not stdin.closed


def test_open_stdin_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(LOG))))
    assert read(Source("<stdin>", None)) == LOG


def test_open_named_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"gzip -c > {fifo}"], stdin=subprocess.PIPE)
    assert writer.stdin is not None
    writer.stdin.write(LOG)
    writer.stdin.close()
    assert read(Source("fifo", fifo)) == LOG
    writer.wait()


# --- commands -------------------------------------------------------------------------------


def test_open_command_output() -> None:
    source = Source("echo", None, (sys.executable, "-c", "print('6,1,2,-;hello')"))
    assert read(source) == b"6,1,2,-;hello\n"


def test_open_command_is_terminated_when_left_early() -> None:
    code = "import sys\nwhile True: sys.stdout.write('x' * 4096 + '\\n')"
    with open_binary(Source("yes", None, (sys.executable, "-c", code))) as stream:
        assert stream.read(10) == b"x" * 10
    # leaving the block stopped it: nothing hangs, nothing raises


def test_open_command_failure_says_why() -> None:
    message = "dmesg: read kernel buffer failed: Operation not permitted"
    code = f"import sys; sys.stderr.write({message!r}); sys.exit(1)"
    with pytest.raises(SourceError, match=r"dmesg failed .*Operation not permitted.*sudo"):
        read(Source("dmesg", None, (sys.executable, "-c", code)))


def test_open_command_not_found() -> None:
    with pytest.raises(SourceError, match=r"cannot run no-such-oomlens-cmd: command not found"):
        read(Source("x", None, ("no-such-oomlens-cmd",)))


# --- system_sources -------------------------------------------------------------------------


def which_only(*names: str) -> object:
    return lambda name: f"/usr/bin/{name}" if name in names else None


def test_system_prefers_journal() -> None:
    probed: list[Sequence[str]] = []

    def probe(command: Sequence[str]) -> bool:
        probed.append(command)
        return True

    (source,) = system_sources(which=which_only("journalctl", "dmesg"), probe=probe)  # type: ignore[arg-type]
    assert source.command == ("journalctl", "-o", "json", "--no-pager", "_TRANSPORT=kernel")
    assert probed[0][0] == "journalctl"


def test_system_dmesg_when_journal_is_empty() -> None:
    def probe(command: Sequence[str]) -> bool:
        return command[0] == "dmesg"

    (source,) = system_sources(which=which_only("journalctl", "dmesg"), probe=probe)  # type: ignore[arg-type]
    assert source == Source("dmesg", None, ("dmesg", "-r"))


def test_system_files_with_rotations(tmp_path: Path) -> None:
    for name in ("syslog", "messages.2.gz", "messages.1", "messages"):
        write(tmp_path / "var/log" / name)
    sources = system_sources(which=which_only(), probe=lambda c: False, root=tmp_path)  # type: ignore[arg-type]
    assert [s.name for s in sources] == [
        str(tmp_path / "var/log" / n) for n in ("messages.2.gz", "messages.1", "messages")
    ]
    write(tmp_path / "var/log/kern.log")
    (kern,) = system_sources(which=which_only(), probe=lambda c: False, root=tmp_path)  # type: ignore[arg-type]
    assert kern.path == tmp_path / "var/log/kern.log"


def test_system_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"found no kernel log on this system.*sudo"):
        system_sources(which=which_only("dmesg"), probe=lambda c: False, root=tmp_path)  # type: ignore[arg-type]


def test_open_stdin_pipe_gzip(monkeypatch: pytest.MonkeyPatch) -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, gzip.compress(LOG))  # small enough for the pipe buffer
    os.close(write_fd)
    with open(read_fd, "rb") as pipe:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(pipe))
        with open_binary(Source("<stdin>", None)) as stream:
            assert not stream.seekable()
            assert stream.read() == LOG
