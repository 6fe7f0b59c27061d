"""Find and open the inputs: files, directories of logs, stdin, this machine's kernel log.

`resolve()` turns command-line arguments into `Source`s (a directory such as an unpacked
sosreport is searched for kernel logs), `system_sources()` picks this machine's kernel log,
and `open_binary()` opens one source as a binary stream: compressed files are recognised by
their magic bytes, binary files are refused with a message, and every `OSError` becomes a
`SourceError` that tells the user what to do next.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import importlib
import io
import lzma
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from oomlens.errors import SourceError

_SNIFF_BYTES = 64 * 1024  # how much of a file decides "text log or binary data"
_MAX_NUL_SHARE = 0.3
_DENIED_HINT = "run with sudo, or add your user to the adm group"


@dataclass(frozen=True, slots=True)
class Source:
    """One input: a file, standard input (`path` None) or a command's output."""

    name: str  # shown to users and stored in LogLine.path / OomEvent.source
    path: pathlib.Path | None  # None for stdin or a command
    command: tuple[str, ...] | None = None  # e.g. ("journalctl", "-o", "json", ...)


# ---------------------------------------------------------------------------------------
# Which files are kernel logs.

# Rotations: "messages.1", "kern.log.2.gz", "messages-20250801", "syslog.3.xz"
_ROTATION = re.compile(r"(.+?)(?:\.(\d{1,4})|-(\d{8}))?(\.gz|\.xz|\.bz2|\.zst)?")
# syslog and dmesg files (var/log/, supportconfig's messages.txt and boot.txt; sosreport's
# sos_commands/kernel/dmesg), journal exports ("journal.json", "journalctl-k.txt") and
# sosreport's "sos_commands/logs/journalctl_--no-pager..." captures.
_LOG_BASE = re.compile(
    r"messages|kern\.log|kernel\.log|syslog|dmesg|dmesg_-T|dmesg\.txt|messages\.txt|boot\.txt"
    r"|.*journal.*\.(?:json|txt|log)|journalctl_--no-pager.*"
)
_JOURNAL_FILE = re.compile(r".*\.journal~?")  # systemd's binary journal files


@dataclass(frozen=True, slots=True)
class _Found:
    path: pathlib.Path
    series: tuple[str, str]  # (directory, base name): one log and its rotations
    age: tuple[int, int]  # sorts a series oldest first: "messages.3" < "messages.1" < "messages"


def _kernel_log(path: pathlib.Path) -> _Found | None:
    """How `path` sorts among kernel logs, or None when its name is not one."""
    m = _ROTATION.fullmatch(path.name)
    if m is None or not _LOG_BASE.fullmatch(m.group(1)):
        return None
    number, date = m.group(2), m.group(3)
    if number is not None:
        age = (0, -int(number))  # logrotate: a higher number is older
    elif date is not None:
        age = (1, int(date))  # dateext: an earlier date is older
    else:
        age = (2, 0)  # the live file comes last
    return _Found(path, (str(path.parent), m.group(1)), age)


def _walk(top: pathlib.Path, name: str) -> list[Source]:
    """The kernel logs under directory `top`, each log's rotations oldest first."""
    found: list[_Found] = []
    binary_journals = 0

    def fail(err: OSError) -> None:
        if pathlib.Path(str(err.filename)) == top:
            raise _translate(err, name) from err
        # an unreadable subdirectory (sosreport trees hold root-only ones): skip it

    for dirpath, dirnames, filenames in os.walk(top, onerror=fail):
        dirnames.sort()
        for filename in filenames:
            path = pathlib.Path(dirpath, filename)
            if _JOURNAL_FILE.fullmatch(filename):
                binary_journals += 1
            elif (item := _kernel_log(path)) is not None and path.is_file():
                found.append(item)
    if not found:
        if binary_journals:
            raise SourceError(
                f"{name} holds only binary systemd journal files: export them with "
                f"`journalctl -D {name} -o json > journal.json` and pass that file"
            )
        raise SourceError(
            f"no kernel logs found in {name} (looked for messages*, kern.log*, syslog*, dmesg* "
            "and journal exports): pass the log file itself"
        )
    found.sort(key=lambda f: (f.series, f.age, f.path.name))
    return [Source(str(f.path), f.path) for f in _drop_duplicates(found)]


def _drop_duplicates(found: list[_Found]) -> list[_Found]:
    """sosreport captures `dmesg` and `dmesg -T` (the same records): keep only `dmesg`."""
    plain = {f.path.parent for f in found if f.path.name == "dmesg"}
    return [f for f in found if not (f.path.name == "dmesg_-T" and f.path.parent in plain)]


def resolve(args: Sequence[str]) -> list[Source]:
    """Sources for command-line arguments: "-" is stdin, a directory is searched for logs.

    Raises SourceError for a missing or unreadable path, or a directory without kernel logs.
    """
    sources: list[Source] = []
    for arg in args:
        if arg == "-":
            sources.append(Source("<stdin>", None))
            continue
        path = pathlib.Path(arg)
        try:
            is_dir = path.is_dir()
            if not is_dir:
                path.stat()  # raises for a missing path and an unreadable directory
        except OSError as err:
            raise _translate(err, arg) from err
        if is_dir:
            sources.extend(_walk(path, arg))
        elif not os.access(path, os.R_OK):
            raise SourceError(f"cannot read {arg}: permission denied ({_DENIED_HINT})")
        else:
            sources.append(Source(arg, path))
    return sources


# ---------------------------------------------------------------------------------------
# This machine's kernel log.

_JOURNAL_COMMAND = ("journalctl", "-o", "json", "--no-pager", "_TRANSPORT=kernel")
_JOURNAL_PROBE = ("journalctl", "-q", "--no-pager", "-n", "1", "_TRANSPORT=kernel")
# `dmesg -r` ("<4>[ 4771.273108] msg") keeps the level and facility (util-linux, busybox).
_DMESG_COMMAND = ("dmesg", "-r")


def _has_output(command: Sequence[str]) -> bool:
    """Whether `command` succeeds and prints something (quietly, within 30 s)."""
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def system_sources(
    *,
    which: Callable[[str], str | None] = shutil.which,
    probe: Callable[[Sequence[str]], bool] = _has_output,
    root: pathlib.Path = pathlib.Path("/"),
) -> list[Source]:
    """This machine's kernel log: the journal, else `dmesg`, else /var/log files.

    `which`, `probe` (does a command succeed with output?) and `root` are for tests.
    Raises SourceError when none can be read.
    """
    if which("journalctl") and probe(_JOURNAL_PROBE):
        return [Source("journalctl", None, _JOURNAL_COMMAND)]
    # dmesg fails when kernel.dmesg_restrict=1 and the user lacks CAP_SYSLOG
    if which("dmesg") and probe(_DMESG_COMMAND):
        return [Source("dmesg", None, _DMESG_COMMAND)]
    log_dir = root / "var" / "log"
    for base in ("kern.log", "messages", "syslog"):
        found = [f for f in map(_kernel_log, _children(log_dir)) if f and f.series[1] == base]
        if found:
            found.sort(key=lambda f: (f.age, f.path.name))
            return [Source(str(f.path), f.path) for f in found]
    raise SourceError(
        "found no kernel log on this system (journalctl had no kernel entries, dmesg was "
        f"refused, and {log_dir} has no kern.log, messages or syslog): {_DENIED_HINT}, "
        "or pass a log file"
    )


def _children(directory: pathlib.Path) -> list[pathlib.Path]:
    try:
        return [p for p in directory.iterdir() if p.is_file()]
    except OSError:
        return []


# ---------------------------------------------------------------------------------------
# Opening a source.


def _translate(err: OSError, name: str) -> SourceError:
    """A SourceError for an OSError about `name`, saying what to do next."""
    if isinstance(err, FileNotFoundError):
        return SourceError(f"no such file: {name} (check the path)")
    if isinstance(err, PermissionError):
        return SourceError(f"cannot read {name}: permission denied ({_DENIED_HINT})")
    if isinstance(err, IsADirectoryError):
        return SourceError(f"{name} is a directory: pass it on the command line to search it")
    return SourceError(f"cannot read {name}: {err.strerror or err}")


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


class _Guarded(io.RawIOBase):
    """Reads `inner` and turns its errors into a SourceError naming the source.

    Decompressors fail in the middle of a stream (EOFError for a cut gzip, zlib.error and
    LZMAError for damaged data, OSError for disks): `readinto()` catches them there.
    """

    def __init__(self, inner: _Readable, name: str) -> None:
        super().__init__()
        self._inner = inner
        self._name = name
        self.position = 0  # bytes delivered so far
        self.at_end = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as err:
            raise SourceError(
                f"cannot read {self._name} past byte {self.position}: {err} "
                "(the file is damaged or cut short; the lines before were read)"
            ) from err
        n = len(data)
        buffer[:n] = data
        self.position += n
        self.at_end = n == 0 and len(buffer) > 0
        return n


# Magic numbers: compression formats, then files that are not logs at all.
_ZSTD, _LZ4 = b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18"
_NOT_TEXT = (
    (b"\x7fELF", "an ELF executable"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (unpack it and pass the directory)"),
    (b"LPKSHHRH", "a binary systemd journal (export it: journalctl --file FILE -o json)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xff\xfe", "UTF-16 text (convert it: iconv -f UTF-16 -t UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (convert it: iconv -f UTF-16 -t UTF-8)"),
)


def _decompressed(stream: BinaryIO, head: bytes, name: str) -> _Readable | None:
    """A decompressing reader when `head` is a compressed stream's magic, else None."""
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(stream)
    if head.startswith(b"BZh"):
        return bz2.BZ2File(stream)
    if head.startswith(_ZSTD):
        try:
            zstd = importlib.import_module("compression.zstd")  # Python 3.14+
        except ImportError:
            raise SourceError(
                f"{name} is zstd-compressed: decompress it with unzstd first"
            ) from None
        zstd_file: _Readable = zstd.ZstdFile(stream)
        return zstd_file
    if head.startswith(_LZ4):
        raise SourceError(f"{name} is lz4-compressed: decompress it with unlz4 first")
    return None


def _refuse_binary(head: bytes, name: str) -> None:
    """Raise when the first bytes of a (decompressed) stream are not a text log."""
    for magic, what in _NOT_TEXT:
        if head.startswith(magic):
            raise SourceError(f"{name} does not look like a text log: it is {what}")
    if head[257:262] == b"ustar":
        raise SourceError(f"{name} is a tar archive: unpack it (tar xf) and pass the directory")
    if head and head.count(0) > _MAX_NUL_SHARE * len(head):
        raise SourceError(f"{name} does not look like a text log (binary data)")


def _head(stream: BinaryIO) -> bytes:
    """The first bytes of the stream, left unread: 64 KiB of a file, a few of a pipe."""
    if stream.seekable():
        at = stream.tell()
        head = stream.read(_SNIFF_BYTES)
        stream.seek(at)
        return head
    peek = getattr(stream, "peek", None)  # a pipe: `<(zcat x.gz)`, `cat x | oomlens -`
    return bytes(peek(8)[:8]) if peek is not None else b""


@contextlib.contextmanager
def open_binary(source: Source) -> Iterator[BinaryIO]:
    """The source's bytes as a binary stream to read()/readinto() from, closed on exit.

    A plain file is yielded as is (seekable, with a real fd, for fast scanning). Compressed
    files and stdin (gzip, xz, bzip2, chosen by magic bytes) and command output are wrapped
    so that a read error raises SourceError naming the source. A command still running at
    exit is terminated. Raises SourceError for unreadable, binary or zstd/lz4 input.
    """
    with contextlib.ExitStack() as stack:
        if source.command is not None:
            yield from _command(source, stack)
            return
        if source.path is None:
            if sys.stdin is None:
                raise SourceError("no standard input to read (pass a log file)")
            raw: BinaryIO = sys.stdin.buffer  # not closed: it is not ours
        else:
            try:
                raw = stack.enter_context(open(source.path, "rb"))
            except OSError as err:
                raise _translate(err, source.name) from err
        try:
            head = _head(raw)
        except OSError as err:
            raise _translate(err, source.name) from err
        inner = _decompressed(raw, head, source.name)
        if inner is None and raw.seekable():
            _refuse_binary(head, source.name)
            yield raw  # a plain file (or stdin from one): the scanner can use its fd
            return
        if inner is not None:
            stack.callback(inner.close)
        guarded = io.BufferedReader(_Guarded(inner or raw, source.name), _SNIFF_BYTES)
        _refuse_binary(guarded.peek(_SNIFF_BYTES), source.name)
        yield guarded


def _command(source: Source, stack: contextlib.ExitStack) -> Iterator[BinaryIO]:
    """Run the source's command; its stdout is the stream."""
    assert source.command is not None
    errors = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (the stack closes it)
    try:
        proc = subprocess.Popen(
            source.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
    except OSError as err:
        reason = "command not found" if isinstance(err, FileNotFoundError) else err.strerror
        raise SourceError(f"cannot run {source.command[0]}: {reason}") from err
    assert proc.stdout is not None
    raw = _Guarded(proc.stdout, source.name)
    stopped = False
    try:
        yield io.BufferedReader(raw, _SNIFF_BYTES)
    finally:
        try:
            proc.wait(timeout=5 if raw.at_end else 0)
        except subprocess.TimeoutExpired:  # the reader stopped early, or failed
            stopped = True
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
    if not stopped and proc.returncode != 0 and raw.position == 0:
        errors.seek(0)
        message = errors.read(2000).decode("utf-8", "replace").strip().splitlines()
        detail = f": {message[0]}" if message else ""
        denied = "permi" in detail.lower()  # "Operation not permitted", "Permission denied"
        hint = f" ({_DENIED_HINT})" if denied else ""
        raise SourceError(f"{source.name} failed (exit status {proc.returncode}){detail}{hint}")
