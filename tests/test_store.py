"""The history store: schema migrations, deduplication, filters, counts, a writer and readers
at once, `analyze --save`, and the `history` subcommand."""

from __future__ import annotations

import argparse
import datetime
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from helpers import case_report
from oomlens.commands_live import parse_since, register, save_events
from oomlens.errors import OomlensError
from oomlens.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Filters,
    History,
    StoreError,
    WatchState,
    dedup_key,
    default_path,
)


def doc(
    uptime: float | None = 100.5,
    *,
    host: str | None = "db1",
    boot: str | None = "b00t",
    time: str | None = "2026-11-20T10:00:00+00:00",
    scope: str = "memcg",
    memcg: str | None = "/docker/abc",
    pid: int = 4242,
    comm: str = "java",
) -> dict[str, Any]:
    """The fields of an event document the store reads (the rest is kept as is)."""
    return {
        "host": host,
        "boot_id": boot,
        "time": time,
        "uptime_s": uptime,
        "scope": scope,
        "memcg": memcg,
        "source": "/dev/kmsg",
        "victim": {"pid": pid, "comm": comm, "anon_rss_kb": 1024},
        "raw": [{"line": 1, "text": f"Killed process {pid} ({comm})"}],
        "analysis": {"findings": []},
    }


@pytest.fixture
def store(tmp_path: Path) -> History:
    return History(tmp_path / "state" / "history.db")


def test_new_database_is_current_and_in_wal_mode(store: History) -> None:
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"events_ts", "events_host", "events_scope", "events_memcg", "events_victim"} <= indexes


def test_migrates_an_old_database_and_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:  # what the first release created
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO events (dedup, recorded, document, victim_comm) VALUES ('k', 0, '{}', 'x')"
    )
    db.commit()
    db.close()
    with History(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [r.victim_comm for r in store.rows()] == ["x"]
        store.save_watch_state(
            WatchState(source="/dev/kmsg", boot_id="b", position="7", last_event=None)
        )
        assert store.watch_state("/dev/kmsg") == WatchState(
            source="/dev/kmsg", boot_id="b", position="7", last_event=None
        )


def test_refuses_a_database_from_a_newer_oomlens(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="upgrade oomlens"):
        History(path)


def test_reading_a_missing_history_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="oomlens watch"):
        History(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "oomlens" / "history.db"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local" / "state" / "oomlens" / "history.db"


def test_an_event_is_stored_once(store: History) -> None:
    first = store.add(doc())
    assert first is not None
    assert store.add(doc()) is None  # same host, boot, kernel time stamp
    assert store.add_many([doc(), doc(100.6)]) == [None, first + 1]
    assert store.add(doc(host="db2")) is not None
    assert len(store.rows()) == 3
    stored = store.get(first)
    assert stored is not None and stored["victim"]["comm"] == "java" and stored["id"] == first
    assert store.get(999) is None


def test_dedup_key_without_a_kernel_time_stamp() -> None:
    assert dedup_key(doc(None)) == "db1|b00t|at:2026-11-20T10:00:00+00:00:4242"
    bare = doc(None, host=None, boot=None, time=None)
    assert dedup_key(bare).startswith("||raw:")
    assert dedup_key(bare) == dedup_key(doc(None, host=None, boot=None, time=None))
    assert dedup_key(bare) != dedup_key(doc(None, host=None, boot=None, time=None, pid=1))


def test_filters(store: History) -> None:
    store.add(doc(1.0, time="2026-11-01T10:00:00+00:00", memcg="/docker/abc", comm="java", pid=1))
    store.add(doc(2.0, time="2026-11-10T10:00:00+00:00", memcg="/docker/abc/x", comm="node"))
    store.add(doc(3.0, time="2026-11-20T10:00:00+00:00", memcg="/docker/abcd", host="web"))
    store.add(doc(4.0, time=None, scope="system", memcg=None, comm="mysqld"))
    store.add(doc(5.0, time="2026-11-21T10:00:00+00:00", memcg="/a_b", comm="x"))

    def ids(**kw: Any) -> list[str | None]:
        return [r.victim_comm for r in store.rows(Filters(**kw))]

    assert sorted(str(c) for c in ids()) == ["java", "java", "mysqld", "node", "x"]
    since = datetime.datetime(2026, 11, 5, tzinfo=datetime.timezone.utc).timestamp()
    assert ids(since=since) == ["node", "java", "x"]  # unknown times are left out
    assert ids(host="web") == ["java"]
    assert ids(cgroup="/docker/abc") == ["java", "node"]  # below it, not /docker/abcd
    assert ids(cgroup="docker/abc/") == ["java", "node"]
    assert ids(cgroup="/a%b") == [] and ids(cgroup="/a_b") == ["x"]  # LIKE is escaped
    assert ids(victim="node") == ["node"]
    assert ids(victim="1") == ["java"]  # digits: a pid
    assert len(store.rows(limit=2)) == 2


def test_counts(store: History) -> None:
    store.add(doc(1.0, time="2026-11-01T10:00:00+00:00", comm="java"))
    store.add(doc(2.0, time="2026-11-01T23:00:00+00:00", comm="java", memcg=None))
    store.add(doc(3.0, time="2026-11-03T01:00:00+00:00", comm="node"))
    assert store.counts("day") == [("2026-11-01", 2), ("2026-11-03", 1)]
    assert store.counts("process") == [("java", 2), ("node", 1)]
    assert store.counts("cgroup") == [("/docker/abc", 2), ("(system-wide)", 1)]
    assert store.counts("process", Filters(cgroup="/docker/abc")) == [("java", 1), ("node", 1)]


def test_a_writer_and_readers_at_once(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    History(path).close()
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            with History(path) as w:
                for i in range(300):
                    w.add(doc(float(i)))
                    w.save_watch_state(
                        WatchState(source="k", boot_id="b", position=str(i), last_event=None)
                    )
        except BaseException as err:
            errors.append(err)
        finally:
            done.set()

    def read() -> None:
        try:
            with History(path, create=False) as r:
                while not done.is_set():
                    r.rows(limit=10)
                    r.counts("day")
                    r.watch_state("k")
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with History(path) as h:
        assert len(h.rows()) == 300


def test_analyze_save_stores_each_event_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = case_report("006-6.11-qemu-stress-ng-global-dmesg.log")
    assert report.events
    db = tmp_path / "h.db"
    n = len(report.events)
    assert save_events(report, db) == (n, 0)
    assert save_events(report, db) == (0, n)
    err = capsys.readouterr().err
    assert f"saved {n} new events to {db} (0 already there)" in err
    with History(db) as h:
        rows = h.rows()
        assert [r.victim_pid for r in rows] == [
            e.victim.pid if e.victim else None for e in report.events
        ]
        stored = h.get(rows[0].id)
        assert stored is not None and stored["analysis"]["answers"]["scope"]["summary"]


def history(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["history", *argv])
    status = args.func(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_history_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "h.db"
    with History(db) as h:
        h.add(doc(1.0, time="2026-11-01T10:00:00", comm="java", pid=11))
        h.add(doc(2.0, time="2026-11-02T10:00:00", comm="node", pid=12, memcg="/k8s/pod1"))
    status, out, _ = history(["--db", str(db)], capsys)
    assert status == 0
    assert out.splitlines() == [
        "ID  TIME                 HOST  SCOPE  MEMCG        VICTIM     ANON RSS",
        "1   2026-11-01 10:00:00  db1   memcg  /docker/abc  java [11]  1.0 MiB",
        "2   2026-11-02 10:00:00  db1   memcg  /k8s/pod1    node [12]  1.0 MiB",
    ]
    _, out, _ = history(["--db", str(db), "--format", "json", "--cgroup", "/k8s"], capsys)
    (row,) = json.loads(out)["events"]
    assert row["victim"] == {"pid": 12, "comm": "node", "anon_rss_kb": 1024}
    assert {"id", "time", "ts", "host", "boot_id", "scope", "memcg", "source", "seq"} == set(
        row
    ) - {"victim"}
    _, out, _ = history(["--db", str(db), "--counts", "process"], capsys)
    assert out.splitlines() == ["PROCESS  EVENTS", "java     1", "node     1"]
    _, out, _ = history(["--db", str(db), "show", "2", "--format", "json"], capsys)
    assert json.loads(out)["victim"]["comm"] == "node"
    _, out, _ = history(["--db", str(db), "show", "1"], capsys)
    assert out.startswith("2026-11-01T10:00:00 memcg OOM in /docker/abc: killed java (pid 11)")


def test_history_show_missing_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    History(tmp_path / "h.db").close()
    with pytest.raises(OomlensError, match="no event #5"):
        history(["show", "5", "--db", str(tmp_path / "h.db")], capsys)


def test_parse_since() -> None:
    now = 1_000_000.0
    assert parse_since("24h", now) == now - 86400
    assert parse_since("30m", now) == now - 1800
    assert parse_since("2w", now) == now - 14 * 86400
    local = datetime.datetime(2026, 11, 1, 8, 0).timestamp()
    assert parse_since("2026-11-01T08:00", now) == local
    with pytest.raises(OomlensError, match="expected a date"):
        parse_since("yesterday", now)
