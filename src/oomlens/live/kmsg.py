"""Follow the kernel log live: /dev/kmsg records, or `journalctl -kf -o json` lines.

A follower has `fileno()` (to poll), `read()` (every record available now, never blocking;
None once the input has ended) and `close()`. Records come out raw, for `Normalizer.feed`.

/dev/kmsg (3.5+, "printk: convert byte-buffer to variable-length record buffer") returns one
record per read(): `prio,seq,usec,flags;message\\n` plus dictionary lines that start with a
space. A reader that falls behind the ring buffer gets EPIPE once and continues at the oldest
record left; the sequence numbers show how many were lost. Opening starts at the oldest
record; `lseek(SEEK_END)` skips to new ones.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from oomlens.errors import SourceError
from oomlens.store import WatchState

KMSG = "/dev/kmsg"
READ_SIZE = 64 * 1024  # a record is at most ~8 KiB; a smaller buffer gets EINVAL
# "6,2301,306764783,-;msg", "4,1493,21847500270,-,caller=T7220;msg"
KMSG_HEADER = re.compile(rb"(\d{1,4}),(\d{1,20}),(\d{1,20}),[^;]*;")
JOURNALCTL = ("journalctl", "-k", "-f", "-o", "json", "--no-pager")


@dataclass(frozen=True, slots=True)
class Record:
    """One kernel log record as read, with what is needed to resume after it."""

    seq: int  # /dev/kmsg sequence number; journal: a count of lines read
    uptime_us: int | None  # the kernel's time stamp
    data: bytes  # the line for Normalizer.feed, without its "\n"
    position: str  # resume point: the kmsg seq, or the journal cursor


@dataclass(frozen=True, slots=True)
class Gap:
    """Records lost between two reads (overwritten in the ring buffer before they were read)."""

    first_missing: int
    next_seq: int
    reason: str

    @property
    def lost(self) -> int:
        return self.next_seq - self.first_missing


def read_boot_id(proc_root: Path = Path("/proc")) -> str:
    """This boot's id (/proc/sys/kernel/random/boot_id), dashes removed like journald's."""
    path = proc_root / "sys" / "kernel" / "random" / "boot_id"
    try:
        return path.read_text().strip().replace("-", "")
    except OSError as err:
        raise SourceError(f"cannot read {path}: {err.strerror} (is /proc mounted?)") from err


class KmsgFollower:
    """Records of /dev/kmsg (or a file or pipe of records in its format) as they arrive."""

    kind = "kmsg"

    def __init__(
        self, fd: int, name: str = KMSG, *, after: int | None = None, at_end: bool = False
    ) -> None:
        """Read `fd`: records with seq <= `after` are skipped; `at_end` skips to new records."""
        self.name = name
        self._fd = fd
        os.set_blocking(fd, False)
        self._expected = None if after is None else after + 1
        self._resumed = after is not None
        self._overrun = False
        self._partial = b""
        self._eof = False
        self.unrecognised = 0
        self.position = None if after is None else str(after)  # where reading resumes
        if at_end:
            self._skip_to_end()

    def _skip_to_end(self) -> None:
        """Like lseek(SEEK_END), but learn the last sequence number on the way: a restart
        then resumes after it even if no record came in meanwhile."""
        last = None
        while True:
            try:
                data = self._read_chunk()
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue
            if not data:
                break
            for line in data.split(b"\n"):
                m = KMSG_HEADER.match(line)
                if m is not None:
                    last = int(m.group(2))
        if last is not None:
            self._expected = last + 1
            self.position = str(last)

    @classmethod
    def open(
        cls, path: str = KMSG, *, after: int | None = None, at_end: bool = False
    ) -> KmsgFollower:
        """Open `path`; errors say what to do."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError as err:
            raise SourceError(
                f"cannot read {path}: permission denied (run with sudo, or add your user to "
                "the adm or systemd-journal group so that watch can follow journalctl -k)"
            ) from err
        except OSError as err:
            raise SourceError(f"cannot read {path}: {err.strerror}") from err
        return cls(fd, path, after=after, at_end=at_end)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def read(self) -> list[Record | Gap] | None:
        """Every record available now, with the gaps between them; None at end of input."""
        if self._eof:
            return None
        out: list[Record | Gap] = []
        while True:
            try:
                data = self._read_chunk()
            except BlockingIOError:
                break
            except BrokenPipeError:
                # the record we were due to read was overwritten; the next read() returns
                # the oldest one left (devkmsg_read), and its seq tells how many are gone
                self._overrun = True
                continue
            if not data:
                self._eof = True
                data = b"\n"  # the last line may lack its newline
            lines = (self._partial + data).split(b"\n")
            self._partial = lines.pop()
            for line in lines:
                self._take(line, out)
            if self._eof:
                break
        if self._eof and not out:
            return None
        return out

    def _read_chunk(self) -> bytes:
        """One read(): a whole record from /dev/kmsg, any number of bytes from a file."""
        return os.read(self._fd, READ_SIZE)

    def _take(self, line: bytes, out: list[Record | Gap]) -> None:
        if not line or line[:1] == b" ":
            return  # dictionary lines (" SUBSYSTEM=pci"): nothing oomlens reads
        m = KMSG_HEADER.match(line)
        if m is None:
            self.unrecognised += 1
            return
        seq = int(m.group(2))
        expected = self._expected
        if expected is not None and seq < expected:
            return  # read before (resuming), or the same record twice
        if expected is not None and seq > expected:
            if self._overrun:
                reason = "overwritten in the ring buffer before they were read"
            elif self._resumed:
                reason = "overwritten while the watcher was not running"
            else:
                reason = "missing from the sequence"
            out.append(Gap(first_missing=expected, next_seq=seq, reason=reason))
        self._overrun = self._resumed = False
        self._expected = seq + 1
        out.append(Record(seq=seq, uptime_us=int(m.group(3)), data=line, position=str(seq)))


class JournalFollower:
    """Kernel entries of the journal (`journalctl -kf -o json`), for when /dev/kmsg is closed."""

    kind = "journal"

    def __init__(
        self,
        *,
        cursor: str | None = None,
        from_start: bool = False,
        command: Sequence[str] = JOURNALCTL,
    ) -> None:
        """Follow from after `cursor`, or this boot's start, or (default) new entries only."""
        self.name = "journal"
        self.position = cursor
        args = list(command)
        if cursor:
            args += ["--after-cursor", cursor]
        else:
            args += ["-n", "all" if from_start else "0"]
        # lives as long as the follower; read only to explain a failed journalctl
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr
            )
        except OSError as err:
            self._stderr.close()
            raise SourceError(
                f"cannot run {args[0]}: {err.strerror} (no /dev/kmsg access and no journal: "
                "run oomlens watch as root)"
            ) from err
        assert self._proc.stdout is not None
        self._fd = self._proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._partial = b""
        self._count = 0
        self._eof = False

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()

    def read(self) -> list[Record | Gap] | None:
        """Every entry available now; None once journalctl has exited."""
        if self._eof:
            return None
        chunks: list[bytes] = []
        while True:
            try:
                data = os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                break
            if not data:
                self._eof = True
                break
            chunks.append(data)
        lines = (self._partial + b"".join(chunks)).split(b"\n")
        self._partial = b"" if self._eof else lines.pop()
        out: list[Record | Gap] = []
        for line in lines:
            record = self._record(line)
            if record is not None:
                out.append(record)
        if self._eof and not out:
            self._check_exit()
            return None
        return out

    def _record(self, line: bytes) -> Record | None:
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("__CURSOR"), str):
            return None
        self._count += 1
        stamp = entry.get("_SOURCE_MONOTONIC_TIMESTAMP")
        uptime = int(stamp) if isinstance(stamp, str) and stamp.isdecimal() else None
        return Record(seq=self._count, uptime_us=uptime, data=line, position=entry["__CURSOR"])

    def _check_exit(self) -> None:
        status = self._proc.wait()
        if status != 0 and self._count == 0:
            self._stderr.seek(0)
            why = self._stderr.read().decode(errors="replace").strip().splitlines()
            raise SourceError(
                f"journalctl exited with status {status}: {why[-1] if why else 'no message'} "
                "(add your user to the systemd-journal or adm group, or run as root)"
            )


Follower = KmsgFollower | JournalFollower


def open_follower(
    load_state: Callable[[str], WatchState | None],
    *,
    boot_id: str,
    kmsg_path: str | None = None,
    from_start: bool = False,
    journal_command: Sequence[str] | None = None,
) -> tuple[Follower, int | None, str]:
    """The follower to read, the last event it already emitted, and where it starts (a note).

    /dev/kmsg by default (`kmsg_path` for another file or FIFO of records), the journal when
    /dev/kmsg may not be read or `journal_command` is given. A first run reads only new
    records; a restart in the same boot resumes after the last record it had fully read
    (`load_state(name)` says where); after a reboot it reads this boot's log from the start.
    """
    if journal_command is None:
        path = kmsg_path or KMSG
        state = load_state(path)
        after, last_event, at_end, note = _start(state, boot_id, from_start)
        try:
            follower = KmsgFollower.open(path, after=int(after) if after else None, at_end=at_end)
        except SourceError as err:
            if kmsg_path is not None or not isinstance(err.__cause__, PermissionError):
                raise
            journal_command = JOURNALCTL  # /dev/kmsg is closed to us: the journal may not be
        else:
            return follower, last_event, note
    state = load_state("journal")
    after, last_event, at_end, note = _start(state, boot_id, from_start)
    journal = JournalFollower(cursor=after, from_start=not at_end, command=journal_command)
    return journal, last_event, note


def _start(
    state: WatchState | None, boot_id: str, from_start: bool
) -> tuple[str | None, int | None, bool, str]:
    """(resume after, last event emitted, skip to the end, note) for a saved state."""
    same_boot = state is not None and state.boot_id == boot_id
    last_event = int(state.last_event) if same_boot and state and state.last_event else None
    after = state.position if same_boot and state else None
    if from_start:
        return None, None, False, "from the oldest record (--from-start)"
    if after is not None:
        return after, last_event, False, f"resuming after {after}"
    if same_boot:
        return None, last_event, False, "from the oldest record, skipping events already emitted"
    if state is not None:
        return None, None, False, "new boot since the last run: from this boot's first record"
    return None, None, True, "new records only (first run; --from-start replays the log)"
