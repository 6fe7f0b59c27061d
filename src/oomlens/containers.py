"""Take the log container off each physical line: dmesg, /dev/kmsg, syslog, journalctl, pastes.

`Normalizer.feed()` turns one physical line into 0..n `LogLine`s whose `text` is the kernel's
message alone. The container is detected per line, so mixed files work. One character picks
the candidate formats, then a few compiled regexes decide; only lines that start with `{` or
RS are tried as JSON. Nothing here raises on input: what is not recognised is kept as text.

Records that span physical lines:

- a line with no prefix of its own after a prefixed record continues it (`cont=True`, with
  that record's host, times and ids): util-linux dmesg indents the 2nd+ lines of a multi-line
  record, mail clients and serial consoles hard-wrap;
- one physical line holding several lines of a record (journal MESSAGE with "\\n", /dev/kmsg
  "\\x0a", rsyslog "#012") gives several LogLines with the same `line_no`, the 2nd+ `cont=True`;
- a line ending in a backslash (hard wrap) is held back and glued to the next unprefixed
  line without a space, and a syslog record cut after its hostname is glued to the
  `kernel: ...` line that follows. Both need one line of look-ahead: a held record comes out
  of the next `feed()`, or of `flush()` at the end of the input. A joined record carries the
  `line_no` of its first physical line.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from typing import Any

from oomlens.journal import journal_entry
from oomlens.model import LogLine
from oomlens.timestamps import (
    ISO_STAMP,
    bracket_stamp,
    ctime_wall,
    epoch_us_wall,
    iso_wall,
    syslog_wall,
)

MAX_LINE_BYTES = 64 * 1024  # longer lines are cut: a 10 MB line must stay cheap
_EPOCH_NOT_UPTIME_S = 1e9  # journalctl short-unix stamps are epoch seconds, not uptime

# --- syslog / journalctl --------------------------------------------------------------------
# RFC 3164 syslog and `journalctl -o short` / `short-precise`: "Oct 12 19:00:20 host ...",
# "Aug  1 01:01:25 host ...", "Dec 14 17:13:12.123456 host ..."; journalctl follows the
# locale: "Dez 14 17:13:12 host ...".
_BSD = re.compile(r"([^\W\d_]{3,9}\.?) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d)(?:\.(\d+))?(?= |$)")
# `journalctl -o short-full`: "Tue 2025-08-12 03:54:03 CEST host kernel: msg".
_SHORT_FULL = re.compile(r"[^\W\d_]+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) \S+(?= )")
# What follows the stamp: " host kernel: msg", " host kernel:[ 8523.347168] msg" (rsyslog,
# no space), " host CRON[123]: msg", busybox syslogd: " host kern.warn kernel: msg". A tag
# with a pid is a program, even "kernel[19202]" (`logger --tag=kernel`).
_HOST_TAG = re.compile(
    r" (\S+) (?:([a-z0-9]+)\.([a-z]+) )?" + r"([^\s\[\]:]+)(?:\[(\d*)\])?:(?: |(?=\[)|$)"
)
# The tag alone: "kernel: msg", "kernel:[340648.118967] msg", "CRON[123]: msg"
_TAG = re.compile(r"([^\s\[\]:]+)(?:\[(\d*)\])?:(?: |(?=\[)|$)")
# OpenWrt `logread` (ubox logd): "Tue Aug 12 03:54:03 2025 kern.warn kernel: [ 123.4] msg"
_LOGREAD = re.compile(
    r"[^\W\d_]+ ([^\W\d_]+) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}) ([a-z0-9]+)\.([a-z]+) "
)
# `journalctl -o short-monotonic` / `short-unix` after the bracketed stamp:
# "[ 2993.661240] host kernel: msg", "[1723427643.123456] host kernel: msg". Only the tag
# "kernel" or a "tag[pid]" counts: "[ 1.0] usb 1-1: new device" is a dmesg line.
_JOURNAL_TAIL = re.compile(r" (\S+) (kernel|[^\s\[\]:]+\[\d+\]):(?: |$)")
# syslogd WALL broadcast (rsyslog omusrmsg): "Message from syslogd@host at Aug  1 14:32:18 ..."
_WALL = re.compile(r"Message from syslogd@(\S+) at ([^\W\d_]+) +(\d{1,2}) (\d\d:\d\d:\d\d)")
# journald's WALL: "Broadcast message from systemd-journald@host (Tue 2025-08-12 03:54:03 CEST):"
_JOURNALD_WALL = re.compile(r"Broadcast message from systemd-journald@(\S+) \(\S+ ([\d-]+ [\d:]+)")
# journalctl markers: "-- Boot 3f5a9c2e8d4b4c6f9e1a2b3c4d5e6f70 --", "-- Logs begin at ... --"
_JOURNAL_MARK = re.compile(
    r"-- (?:Boot ([0-9a-f]{32})|Reboot|Logs begin at .*|Journal .*|No entries) --"
)

# --- dmesg raw and decoded ------------------------------------------------------------------
# `dmesg -r` and /proc/kmsg: "<4>[ 4771.273108] msg", "<6>msg"
_PRIORITY = re.compile(r"<(\d{1,3})>")
# RFC 5424 syslog (rsyslog RSYSLOG_SyslogProtocol23Format, syslog-ng, journald forwarding):
# "<4>1 2025-08-12T03:54:03.123456+02:00 host kernel - - - [ 4771.273108] msg"
# "<4>1 2025-08-12T03:54:03Z host kernel - - [meta sequenceId="7"] msg"
_RFC5424 = re.compile(
    r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?"
)
# Log shippers wrap each line in JSON: Docker json-file {"log": ...}, fluentd / Vector /
# Loki / Elastic {"message": ...}; the kernel line inside keeps its own prefix.
_JSON_TEXT_KEYS = ("log", "message", "msg", "text", "line")
_JSON_HOST_KEYS = ("host", "hostname", "_HOSTNAME", "node")
# `dmesg -x` (util-linux "%-6s:%-6s: "): "kern  :warn  : [ 4771.273108] msg"
_DECODE = re.compile(
    r"(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res[0-3]|local[0-7])"
    r"\s*:\s*(emerg|alert|crit|err|warn|notice|info|debug)\s*: ?"
)
_LEVELS = {"emerg": 0, "panic": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warn": 4}
_LEVELS.update(warning=4, notice=5, info=6, debug=7)
# /dev/kmsg (v3.5, "printk: convert byte-buffer to variable-length record buffer"):
# "6,2301,306764783,-;msg", "4,1493,21847500270,-,caller=T7220;msg" (caller field v5.1)
_KMSG = re.compile(r"(\d{1,4}),(\d{1,20}),(\d{1,20}),([^,;]*)([^;]*);")
_KMSG_CALLER = re.compile(r",caller=([TC]\d+)")
# /dev/kmsg escapes bytes < 0x20, >= 0x7f and "\" as "\xNN": "active_anon:17\x0a active_file:3"
_KMSG_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
# Its dictionary lines follow the record, one space in front: " SUBSYSTEM=pci", " DEVICE=+pci:..."
_KMSG_DICT = re.compile(r" [A-Z][A-Z0-9_]*=")
_KMSG_DICT_ANYWHERE = re.compile(r" (?:SUBSYSTEM|DEVICE)=")

# Email quoting of pasted logs: "> Mar 13 13:05:56 localhost kernel: ...", "> > ..."
_QUOTE = re.compile(r"(?:> ?)+")
# Colors kept in a paste of `dmesg --color=always` (util-linux): "\x1b[32m[  621.423101] \x1b[0m"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Normalizer:
    """Turns the physical lines of one input into `LogLine`s, container prefixes removed."""

    def __init__(self, path: str, *, now: datetime.datetime | None = None) -> None:
        """`path` goes into `LogLine.path`; `now` dates year-less syslog stamps (default: now)."""
        self.path = path
        self._now = now if now is not None else datetime.datetime.now()
        self._prev: LogLine | None = None  # the last record that had a prefix of its own
        self._held: LogLine | None = None  # last record, ending in "\": waits for its tail
        self._header: LogLine | None = None  # "Jan 27 15:34:06 host " waiting for "kernel: ..."
        self._wall: LogLine | None = None  # "Message from syslogd@host ..." waiting for its body
        self._boot_id: str | None = None  # from journalctl's "-- Boot <id> --"
        self._kmsg = False  # the previous record was /dev/kmsg: " KEY=value" lines are its own
        self._after_gap = False

    def feed(self, line_no: int, raw: bytes) -> list[LogLine]:
        """LogLines of physical line `line_no` (`raw` without its "\\n"), plus any held back.

        Never raises. A record held back by the previous call (see the module docstring)
        comes first in the list.
        """
        text = raw[:MAX_LINE_BYTES].decode("utf-8", "backslashreplace").rstrip()
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        if text[:1] == "\ufeff":  # a byte-order mark from an editor
            text = text[1:]
        body = _QUOTE.sub("", text, 1) if text[:1] == ">" else text
        out: list[LogLine] = []
        lines: list[LogLine] | None = None
        if self._header is not None:
            header, self._header = self._header, None
            tail = body.lstrip()
            tag = None if self._after_gap else _TAG.match(tail)
            if tag is not None:
                # 038-3.10-el7-messages: "Jan 27 15:34:06 test-sj " + "    kernel: Killed ..."
                kernel = tag.group(1) == "kernel" and tag.group(2) is None
                lines = self._message(_with(header, kernel=kernel), tail[tag.end() :])
            else:
                out.extend(self._record(header, ""))
        if lines is None:
            lines = self._parse(line_no, body)
        if self._held is not None:
            held, self._held = self._held, None
            if lines is None and body and not self._after_gap:
                # 009-4.10-next: "... shmem_thp: 0kB sh\" + "mem_pmdmapped: 258048kB ..."
                lines = [_with(held, text=(held.text[:-1] + body).strip())]
            else:
                out.append(held)
        if lines is None:
            lines = self._unprefixed(line_no, body.strip())
        self._after_gap = False
        if lines and body.endswith("\\") and lines[-1].text.endswith("\\"):
            self._held = lines.pop()  # hard-wrapped: the rest of it is on the next line
        out.extend(lines)
        return out

    def flush(self) -> list[LogLine]:
        """Records still held back at the end of the input (hard-wrapped or cut syslog lines).

        Call it once after the last `feed()`; feeding may go on afterwards.
        """
        out: list[LogLine] = []
        if self._header is not None:
            out.extend(self._record(self._header, ""))
        if self._held is not None:
            out.append(self._held)
        self._header = self._held = None
        return out

    def gap(self) -> None:
        """The caller skipped lines: the next line continues nothing (held records still come)."""
        self._prev = self._wall = None
        self._kmsg = False
        self._after_gap = True

    # -------------------------------------------------------------------------------------

    def _base(self, line_no: int, **fields: Any) -> LogLine:
        fields.setdefault("boot_id", self._boot_id)
        return LogLine(line_no=line_no, path=self.path, text="", **fields)

    def _record(self, base: LogLine, text: str, *, rsyslog: bool = True) -> list[LogLine]:
        """The LogLines of a record with a prefix; later unprefixed lines continue it."""
        self._prev = base
        self._wall = None
        self._kmsg = False
        return _split(base, text, rsyslog=rsyslog)

    def _unprefixed(self, line_no: int, text: str) -> list[LogLine]:
        """A line without a container prefix: it continues the previous record, if any."""
        if self._prev is None:
            return _split(self._base(line_no), text, rsyslog=True)
        return _split(_with(self._prev, line_no=line_no, cont=True), text, rsyslog=True)

    def _parse(self, line_no: int, body: str) -> list[LogLine] | None:
        """Records of a line with a recognised prefix, or None when it has none."""
        if not body:
            return None
        if body[0] == " " and (
            _KMSG_DICT_ANYWHERE.match(body) or (self._kmsg and _KMSG_DICT.match(body))
        ):
            return []
        s = body.lstrip() if body[0] in " \t" else body
        if self._wall is not None:
            return self._wall_body(line_no, s)
        first = s[:1]
        if first == "[":
            return self._bracketed(line_no, s)
        if first.isdigit():
            kmsg = self._kmsg_record(line_no, s)
            return kmsg if kmsg is not None else self._iso(line_no, s)
        if first.isalpha():
            return self._word(line_no, s)
        if first in ("{", "\x1e"):
            return self._journal_json(line_no, s)
        if first == "<":
            return self._priority(line_no, s)
        if first == "-":
            return self._journal_marker(s)
        return None

    def _message(self, base: LogLine, rest: str, *, rsyslog: bool = True) -> list[LogLine]:
        """A record whose container prefix is off; `rest` may still start with "[uptime]"."""
        rest = rest.lstrip()
        stamp = bracket_stamp(rest, self._now) if rest[:1] == "[" else None
        if stamp is not None:
            rest = stamp.rest
            base = _with(
                base,
                uptime_s=base.uptime_s if base.uptime_s is not None else stamp.uptime_s,
                caller=base.caller or stamp.caller,
                wall=base.wall or stamp.wall,
            )
        return self._record(base, rest, rsyslog=rsyslog)

    def _bracketed(self, line_no: int, s: str) -> list[LogLine] | None:
        stamp = bracket_stamp(s, self._now)
        if stamp is None:
            return None  # "[  pid  ]   uid ...", "[<ffffffff8108aebf>] ...", "[2]kdb>"
        base = self._base(line_no, uptime_s=stamp.uptime_s, caller=stamp.caller, wall=stamp.wall)
        rest = stamp.rest
        tail = _JOURNAL_TAIL.match(rest) if stamp.uptime_s is not None else None
        if tail is not None:
            base = _with(base, host=tail.group(1), kernel=tail.group(2) == "kernel")
            if stamp.uptime_s is not None and stamp.uptime_s >= _EPOCH_NOT_UPTIME_S:
                wall = epoch_us_wall(round(stamp.uptime_s * 1_000_000))
                base = _with(base, uptime_s=None, wall=wall)
            rest = rest[tail.end() :]
        return self._record(base, rest)

    def _priority(self, line_no: int, s: str) -> list[LogLine] | None:
        m = _RFC5424.match(s)
        if m is not None:
            pri = int(m.group(1))
            stamp, host, app = m.group(2), m.group(3), m.group(4)
            base = self._base(
                line_no,
                host=None if host == "-" else host,
                wall=None if stamp == "-" else stamp,
                level=pri & 7,
                kernel=pri >> 3 == 0 and app in ("kernel", "-"),
            )
            return self._message(base, s[m.end() :])
        m = _PRIORITY.match(s)
        if m is None:
            return None
        pri = int(m.group(1))
        base = self._base(line_no, level=pri & 7, kernel=pri >> 3 == 0)
        return self._message(base, s[m.end() :])

    def _kmsg_record(self, line_no: int, s: str) -> list[LogLine] | None:
        m = _KMSG.match(s)
        if m is None:
            return None
        pri = int(m.group(1))
        caller = _KMSG_CALLER.search(m.group(5))
        base = self._base(
            line_no,
            level=pri & 7,
            kernel=pri >> 3 == 0,  # facility 0 is the kernel; programs writing to it are "user"
            seq=int(m.group(2)),
            uptime_s=int(m.group(3)) / 1_000_000,
            caller=caller.group(1) if caller is not None else None,
        )
        text = s[m.end() :]
        if "\\x" in text:
            data = _KMSG_ESCAPE.sub(lambda e: bytes((int(e.group(1), 16),)), text.encode())
            text = data.decode("utf-8", "backslashreplace")
        lines = self._record(base, text, rsyslog=False)
        self._kmsg = True
        return lines

    def _iso(self, line_no: int, s: str) -> list[LogLine] | None:
        m = ISO_STAMP.match(s)
        if m is None:
            return None
        wall = iso_wall(m)
        if m.group(7) is not None and s[m.start(7) - 1] == ",":
            # `dmesg --time-format=iso`: comma fraction, no host: "...03,123456+0200 msg"
            return self._message(self._base(line_no, wall=wall), s[m.end() :])
        # rsyslog RFC 3339 / `journalctl -o short-iso`: a host and a tag follow
        return self._syslog(line_no, wall, s[m.end() :])

    def _word(self, line_no: int, s: str) -> list[LogLine] | None:
        m = _BSD.match(s)
        if m is not None:
            wall = syslog_wall(m.group(1), m.group(2), m.group(3), m.group(4), self._now)
            return self._syslog(line_no, wall, s[m.end() :], year_guessed=wall is not None)
        if s.startswith("kernel:"):
            # pasted without stamp and host: "kernel: msg", "kernel:[ 8523.347168] msg"
            return self._message(self._base(line_no), s[7:])
        m = _DECODE.match(s)
        if m is not None:
            level, kernel = _LEVELS.get(m.group(2), 7), m.group(1) == "kern"
            return self._message(self._base(line_no, level=level, kernel=kernel), s[m.end() :])
        m = _WALL.match(s)
        if m is not None:
            wall = syslog_wall(m.group(2), m.group(3), m.group(4), None, self._now)
            self._wall = self._base(
                line_no, host=m.group(1), wall=wall, wall_year_guessed=wall is not None
            )
            return []
        m = _JOURNALD_WALL.match(s)
        if m is not None:
            self._wall = self._base(line_no, host=m.group(1), wall=m.group(2).replace(" ", "T"))
            return []
        m = _LOGREAD.match(s)
        if m is not None:
            mon, day, hour, minute, sec, year, facility, lvl = m.groups()
            tag = _TAG.match(s, m.end())
            if tag is not None:
                base = self._base(
                    line_no,
                    wall=ctime_wall(mon, day, hour, minute, sec, year),
                    level=_LEVELS.get(lvl),
                    kernel=facility == "kern" and tag.group(1) == "kernel" and not tag.group(2),
                )
                return self._message(base, s[tag.end() :])
        m = _SHORT_FULL.match(s)
        if m is not None:
            return self._syslog(line_no, m.group(1).replace(" ", "T"), s[m.end() :])
        return None

    def _syslog(
        self, line_no: int, wall: str | None, rest: str, *, year_guessed: bool = False
    ) -> list[LogLine] | None:
        """The " host tag: msg" after a syslog or journalctl stamp."""
        m = _HOST_TAG.match(rest)
        if m is not None:
            host, facility, level, tag, pid = m.groups()
            kernel = tag == "kernel" and pid is None and facility in (None, "kern")
            base = self._base(
                line_no, host=host, wall=wall, kernel=kernel, wall_year_guessed=year_guessed
            )
            if level is not None:
                base = _with(base, level=_LEVELS.get(level))
            return self._message(base, rest[m.end() :])
        host, _, text = rest.strip().partition(" ")
        if not host:
            return None
        if not text:  # cut after the hostname: wait for the "kernel: ..." line
            self._header = self._base(line_no, host=host, wall=wall, wall_year_guessed=year_guessed)
            return []
        # a record without a tag: "-- MARK --", "last message repeated 2 times"
        return self._record(self._base(line_no, host=host, wall=wall, kernel=False), text)

    def _wall_body(self, line_no: int, s: str) -> list[LogLine] | None:
        """The line after a WALL header: " kernel:[340648.118967] Kernel panic - ..."."""
        header, self._wall = self._wall, None
        m = _TAG.match(s)
        if header is None or m is None:
            return self._parse(line_no, s)
        kernel = m.group(1) == "kernel" and m.group(2) is None
        return self._message(_with(header, line_no=line_no, kernel=kernel), s[m.end() :])

    def _journal_marker(self, s: str) -> list[LogLine] | None:
        m = _JOURNAL_MARK.fullmatch(s)
        if m is None:
            return None
        if m.group(1) is not None or s == "-- Reboot --":
            self._boot_id = m.group(1)
        return []

    def _journal_json(self, line_no: int, s: str) -> list[LogLine] | None:
        entry = journal_entry(s)
        if entry is None:
            return self._shipped_json(line_no, s)
        base = self._base(
            line_no,
            host=entry.host,
            wall=entry.wall,
            uptime_s=entry.uptime_s,
            boot_id=entry.boot_id or self._boot_id,
            level=entry.level,
            kernel=entry.kernel,
        )
        return self._record(base, entry.text, rsyslog=False)

    def _shipped_json(self, line_no: int, s: str) -> list[LogLine] | None:
        """A log shipper's JSON line ({"log": "..."}, {"message": "..."}): the text inside,
        read as a line of its own (it keeps its dmesg or syslog prefix)."""
        try:
            obj = json.loads(s.lstrip("\x1e"))
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        text = next((obj[k] for k in _JSON_TEXT_KEYS if isinstance(obj.get(k), str)), None)
        if text is None or text.lstrip()[:1] in ("{", "\x1e"):
            return None
        host = next((obj[k] for k in _JSON_HOST_KEYS if isinstance(obj.get(k), str)), None)
        out: list[LogLine] = []
        for piece in text.rstrip("\n").split("\n"):
            body = piece.strip()
            lines = self._parse(line_no, body) if body else None
            if lines is None:
                lines = self._unprefixed(line_no, body)
            out += [_with(ln, host=ln.host or host) for ln in lines]
        return out


_FIELDS = tuple(f.name for f in dataclasses.fields(LogLine))
_new = object.__new__
_set = object.__setattr__


def _with(line: LogLine, **changes: Any) -> LogLine:
    """`dataclasses.replace` for the per-line hot path (about twice as fast): LogLine is a
    frozen slots dataclass without __post_init__, so setting its slots directly is the same."""
    new: LogLine = _new(LogLine)
    for name in _FIELDS:
        _set(new, name, changes[name] if name in changes else getattr(line, name))
    return new


def _split(base: LogLine, text: str, *, rsyslog: bool) -> list[LogLine]:
    """One LogLine per line of `text`; the 2nd+ have no prefix of their own (`cont`)."""
    if rsyslog and "#01" in text:
        # rsyslog escapes control characters as "#ooo" octal ($EscapeControlCharactersOnReceive,
        # on by default): "active_anon:7355653 ... isolated_anon:0#012 active_file:1263 ..."
        text = text.replace("#011", "\t").replace("#012", "\n")
    if "\n" not in text:
        return [_with(base, text=text.strip())]
    first, *more = text.rstrip().split("\n")
    lines = [_with(base, text=first.strip())]
    lines.extend(_with(base, text=piece.strip(), cont=True) for piece in more)
    return lines
