"""The history: every OOM event oomlens saw, in SQLite, stored as its JSON document.

One file (default `$XDG_STATE_HOME/oomlens/history.db`, else
`~/.local/state/oomlens/history.db`). WAL mode and a busy timeout let one writer (`watch`)
and any number of readers (`history`, web) work at once. The schema is versioned with
`PRAGMA user_version`; `MIGRATIONS[i]` takes a database from version i to i + 1, and a
database newer than this oomlens knows is refused rather than guessed at.

An event is stored once: `dedup` is host + boot + kernel time stamp (UNIQUE, INSERT OR
IGNORE), so saving the same dmesg twice, or an event both watched and analysed, adds nothing.
The columns are copies of document fields, for filters and indexes; the document is the truth.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oomlens.errors import OomlensError

BUSY_TIMEOUT_MS = 10_000

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 0 → 1: events
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            dedup TEXT NOT NULL UNIQUE,
            ts REAL,
            time TEXT,
            recorded REAL NOT NULL,
            host TEXT,
            boot_id TEXT,
            uptime_us INTEGER,
            scope TEXT,
            memcg TEXT,
            victim_pid INTEGER,
            victim_comm TEXT,
            anon_rss_kb INTEGER,
            source TEXT,
            seq INTEGER,
            document TEXT NOT NULL
        )""",
        "CREATE INDEX events_ts ON events (ts)",
        "CREATE INDEX events_host ON events (host, ts)",
        "CREATE INDEX events_scope ON events (scope, ts)",
        "CREATE INDEX events_memcg ON events (memcg, ts)",
        "CREATE INDEX events_victim ON events (victim_comm, ts)",
    ),
    (  # 1 → 2: where `watch` stopped, per log source
        """CREATE TABLE watch_state (
            source TEXT PRIMARY KEY,
            boot_id TEXT NOT NULL,
            position TEXT,
            last_event TEXT,
            updated REAL NOT NULL
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
COUNTS = ("day", "process", "cgroup")


class StoreError(OomlensError):
    """The history database cannot be opened, read or written."""


def default_path() -> Path:
    """$XDG_STATE_HOME/oomlens/history.db, or ~/.local/state/oomlens/history.db."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "oomlens" / "history.db"


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One stored event, without its document."""

    id: int
    ts: float | None  # Unix time of the event when known
    time: str | None  # as the document gives it
    host: str | None
    boot_id: str | None
    scope: str | None
    memcg: str | None
    victim_pid: int | None
    victim_comm: str | None
    anon_rss_kb: int | None
    source: str | None
    seq: int | None


_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(Row))


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """What `history` narrows the list to; None = any."""

    since: float | None = None  # Unix time; events without a known time are left out
    host: str | None = None
    cgroup: str | None = None  # this memory cgroup or below
    victim: str | None = None  # comm, or pid when all digits


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchState:
    """Where `watch` stopped reading one log source."""

    source: str  # "/dev/kmsg", "journal"
    boot_id: str
    position: str | None  # kmsg: last sequence number fully read; journal: cursor
    last_event: str | None  # kmsg: sequence number of the last kill line emitted


class History:
    """The history database. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open (and with `create`, create and migrate) the database at `path`."""
        self.path = path
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(f"cannot create {path.parent}: {err.strerror} (use --db)") from err
        elif not path.exists():
            raise StoreError(
                f"no history at {path} yet (record some with `oomlens watch` or "
                "`oomlens analyze --save`, or point --db at another file)"
            )
        uri = f"file:{_quote(path)}?mode={'rwc' if create else 'rw'}"
        try:
            # one thread at a time, but not necessarily the one that opened it
            self.db = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            self.db.isolation_level = None  # transactions are explicit
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.execute("PRAGMA journal_mode = WAL")  # persistent: once per file
            self.db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints
            self._migrate()
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the history {path}: {err} (use --db)") from err

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        self.db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has history schema {version}, this oomlens knows up to "
                    f"{SCHEMA_VERSION}: upgrade oomlens, or use another --db"
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # -- events -------------------------------------------------------------------------

    def add(self, doc: Mapping[str, Any]) -> int | None:
        """Store one event document; its id, or None when it was already there."""
        ids = self.add_many([doc])
        return ids[0]

    def add_many(self, docs: Iterable[Mapping[str, Any]]) -> list[int | None]:
        """Store event documents in one transaction; the id of each, None for duplicates."""
        now = time.time()
        ids: list[int | None] = []
        try:
            self.db.execute("BEGIN IMMEDIATE")
            for doc in docs:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO events (dedup, ts, time, recorded, host, boot_id, "
                    "uptime_us, scope, memcg, victim_pid, victim_comm, anon_rss_kb, source, seq, "
                    "document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _columns(doc, now),
                )
                ids.append(cur.lastrowid if cur.rowcount == 1 else None)
            self.db.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise StoreError(f"cannot write to the history {self.path}: {err}") from err
        return ids

    def get(self, event_id: int) -> dict[str, Any] | None:
        """The stored document of event `event_id`, with its `id`; None when there is none."""
        row = self._query("SELECT document FROM events WHERE id = ?", (event_id,))
        if not row:
            return None
        doc: dict[str, Any] = json.loads(row[0][0])
        doc["id"] = event_id
        return doc

    def rows(self, filters: Filters = Filters(), *, limit: int | None = None) -> list[Row]:
        """Stored events matching `filters`, oldest first (the newest `limit` of them)."""
        where, args = _where(filters)
        sql = (
            "SELECT id, ts, time, host, boot_id, scope, memcg, victim_pid, victim_comm, "
            f"anon_rss_kb, source, seq FROM events{where} ORDER BY COALESCE(ts, recorded) DESC, "
            "id DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        found = [Row(**dict(zip(_ROW_FIELDS, r, strict=True))) for r in self._query(sql, args)]
        return found[::-1]

    def counts(self, by: str, filters: Filters = Filters()) -> list[tuple[str, int]]:
        """Event counts per `by` ("day" in UTC, "process", "cgroup"), biggest first."""
        key = {
            "day": "COALESCE(date(ts, 'unixepoch'), '(unknown)')",
            "process": "COALESCE(victim_comm, '(no victim)')",
            "cgroup": "COALESCE(memcg, '(system-wide)')",
        }[by]
        where, args = _where(filters)
        order = "key" if by == "day" else "n DESC, key"
        sql = f"SELECT {key} AS key, COUNT(*) AS n FROM events{where} GROUP BY key ORDER BY {order}"
        return [(str(k), int(n)) for k, n in self._query(sql, args)]

    # -- watch state ----------------------------------------------------------------------

    def watch_state(self, source: str) -> WatchState | None:
        """Where `watch` stopped reading `source`, if it ever did."""
        rows = self._query(
            "SELECT boot_id, position, last_event FROM watch_state WHERE source = ?", (source,)
        )
        if not rows:
            return None
        boot_id, position, last_event = rows[0]
        return WatchState(source=source, boot_id=boot_id, position=position, last_event=last_event)

    def save_watch_state(self, state: WatchState) -> None:
        """Remember where `watch` is (a single upsert; cheap enough for every flush)."""
        try:
            self.db.execute(
                "INSERT INTO watch_state (source, boot_id, position, last_event, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
                "boot_id = excluded.boot_id, position = excluded.position, "
                "last_event = excluded.last_event, updated = excluded.updated",
                (state.source, state.boot_id, state.position, state.last_event, time.time()),
            )
        except sqlite3.Error as err:
            raise StoreError(f"cannot write to the history {self.path}: {err}") from err

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"cannot read the history {self.path}: {err}") from err

    def _rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")


def _quote(path: Path) -> str:
    return str(path.absolute()).replace("%", "%25").replace("?", "%3f").replace("#", "%23")


def _where(f: Filters) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    if f.since is not None:
        clauses.append("ts >= ?")
        args.append(f.since)
    if f.host is not None:
        clauses.append("host = ?")
        args.append(f.host)
    if f.cgroup is not None:
        path = "/" + f.cgroup.strip("/")
        clauses.append("(memcg = ? OR memcg LIKE ? ESCAPE '\\')")
        escaped = path.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args += [path, escaped + "/%"]
    if f.victim is not None:
        if f.victim.isdecimal():
            clauses.append("victim_pid = ?")
            args.append(int(f.victim))
        else:
            clauses.append("victim_comm = ?")
            args.append(f.victim)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _columns(doc: Mapping[str, Any], now: float) -> tuple[object, ...]:
    victim = doc.get("victim") or {}
    uptime = doc.get("uptime_s")
    uptime_us = round(uptime * 1_000_000) if isinstance(uptime, (int, float)) else None
    return (
        dedup_key(doc),
        event_ts(doc),
        doc.get("time"),
        now,
        doc.get("host"),
        doc.get("boot_id"),
        uptime_us,
        doc.get("scope"),
        doc.get("memcg"),
        victim.get("pid"),
        victim.get("comm"),
        victim.get("anon_rss_kb"),
        doc.get("source"),
        doc.get("seq"),
        json.dumps(doc, sort_keys=True, ensure_ascii=False),
    )


def dedup_key(doc: Mapping[str, Any]) -> str:
    """host + boot + kernel time stamp (µs); without a stamp, the wall time and victim; without
    either, a hash of the report's lines."""
    victim = doc.get("victim") or {}
    uptime = doc.get("uptime_s")
    if isinstance(uptime, (int, float)):
        when = f"up:{round(uptime * 1_000_000)}"
    elif doc.get("time"):
        when = f"at:{doc['time']}:{victim.get('pid')}"
    else:
        lines = "\n".join(str(r.get("text")) for r in doc.get("raw") or [])
        when = "raw:" + hashlib.sha256(lines.encode()).hexdigest()
    return f"{doc.get('host') or ''}|{doc.get('boot_id') or ''}|{when}"


def event_ts(doc: Mapping[str, Any]) -> float | None:
    """Unix time of the event from its `time` (a stamp without an offset is local time)."""
    text = doc.get("time")
    if not isinstance(text, str):
        return None
    try:
        stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.timestamp()  # naive → local time, as syslog writes it
