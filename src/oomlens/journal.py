"""One `journalctl -o json` / `json-seq` line read into the fields oomlens keeps.

journalctl prints one JSON object per entry (`-o json`); `-o json-seq` (RFC 7464) puts an
ASCII RS (0x1e) before each. Field values are strings; a field set several times is a list
of them; a value that is not valid UTF-8 (MESSAGE with odd bytes in a process name) is a
list of byte values.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from oomlens.timestamps import epoch_us_wall


class JournalEntry(NamedTuple):
    """The parts of a journal entry that go into a `LogLine`."""

    text: str  # MESSAGE; may hold several lines
    host: str | None  # _HOSTNAME
    wall: str | None  # __REALTIME_TIMESTAMP as ISO UTC
    uptime_s: float | None  # _SOURCE_MONOTONIC_TIMESTAMP: the kernel's own stamp
    boot_id: str | None  # _BOOT_ID
    level: int | None  # PRIORITY
    kernel: bool  # _TRANSPORT=kernel (or, without _TRANSPORT, SYSLOG_IDENTIFIER=kernel)


def journal_entry(line: str) -> JournalEntry | None:
    """The entry on a json / json-seq line, or None when it is not a journal entry.

    Never raises: a cut or invalid object is None, and the caller keeps the line as text.
    """
    line = line.lstrip("\x1e")
    if line[:1] != "{":
        return None
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or "MESSAGE" not in entry:
        return None
    transport = _field(entry, "_TRANSPORT")
    if transport is not None:
        kernel = transport == "kernel"  # a `logger -t kernel` entry has _TRANSPORT=syslog
    else:
        kernel = _field(entry, "SYSLOG_IDENTIFIER") in (None, "kernel")
    monotonic = _int(_field(entry, "_SOURCE_MONOTONIC_TIMESTAMP"))
    realtime = _int(_field(entry, "__REALTIME_TIMESTAMP"))
    priority = _int(_field(entry, "PRIORITY"))
    return JournalEntry(
        text=_message_text(entry["MESSAGE"]),
        host=_field(entry, "_HOSTNAME"),
        wall=epoch_us_wall(realtime) if realtime is not None else None,
        uptime_s=monotonic / 1_000_000 if monotonic is not None else None,
        boot_id=_field(entry, "_BOOT_ID"),
        level=priority if priority is not None and priority <= 7 else None,
        kernel=kernel,
    )


def _field(entry: dict[str, Any], key: str) -> str | None:
    """A field as a string; the first value when the field was set several times."""
    value = entry.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: str | None) -> int | None:
    """A decimal counter (µs stamps, PRIORITY), or None when absent or absurd."""
    if value is None or not value.isdecimal() or len(value) > 20:
        return None
    return int(value)


def _message_text(value: Any) -> str:
    """MESSAGE as text: a string, or a list of byte values when it is not UTF-8."""
    while isinstance(value, list) and value:
        if all(isinstance(b, int) and 0 <= b <= 255 for b in value):
            return bytes(value).decode("utf-8", "backslashreplace")
        value = value[0]  # set several times: the first value
    return value if isinstance(value, str) else ""
