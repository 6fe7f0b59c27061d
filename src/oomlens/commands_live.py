"""The live subcommands: `oomlens scores`, `oomlens watch`, `oomlens history`, `analyze --save`.

`register(subparsers)` adds the three subcommands to the main parser; each handler is a
short function over `live` and `store` (`live.scores_view` renders what `scores` prints).
`add_save_argument(analyze)` and `save_events()` give `oomlens analyze` its `--save`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import socket
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oomlens.errors import OomlensError
from oomlens.units import human_kb

if TYPE_CHECKING:
    from oomlens.model import Report
    from oomlens.store import History, Row

FORMATS = ("json", "text")
TOP_TEXT = 25


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `scores`, `watch` and `history` to the subcommands of the main parser."""
    s = sub.add_parser(
        "scores",
        help="rank this machine's processes as the OOM killer would, and say who dies next",
        description=(
            "Read /proc: every process with the kernel's oom_score beside oomlens's own "
            "oom_badness() estimate, ranked; who the OOM killer would kill now, system-wide "
            "and in each memory cgroup with a limit; and oom_score_adj settings to check."
        ),
    )
    s.add_argument("--format", "-f", choices=FORMATS, default="text", help="output format")
    s.add_argument("--top", type=_positive, metavar="N", help=f"rows shown (text: {TOP_TEXT})")
    s.add_argument("--cgroup", metavar="PATH", help="only this memory cgroup (and below)")
    s.add_argument("--proc-root", default="/proc", metavar="DIR", help=argparse.SUPPRESS)
    s.add_argument("--cgroup-root", default="/sys/fs/cgroup", metavar="DIR", help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_scores)

    w = sub.add_parser(
        "watch",
        help="follow the kernel log and report each OOM kill as it happens",
        description=(
            "Follow /dev/kmsg (or journalctl -kf where /dev/kmsg is closed) and report each "
            "OOM event once its report is complete: record it in the history, run --exec "
            "hooks, serve --metrics. A restart resumes where the last run stopped."
        ),
    )
    w.add_argument("--format", "-f", choices=FORMATS, default="text", help="output format")
    _add_db(w)
    w.add_argument(
        "--exec",
        dest="hooks",
        action="append",
        default=[],
        metavar="CMD",
        help="run CMD (sh -c) for each event, the event JSON on stdin; may be repeated",
    )
    w.add_argument(
        "--hook-timeout", type=float, default=30.0, metavar="SEC", help="kill hooks after SEC (30)"
    )
    w.add_argument("--metrics", metavar="HOST:PORT", help="serve Prometheus metrics there")
    w.add_argument(
        "--from-start", action="store_true", help="replay the whole kernel ring buffer first"
    )
    w.add_argument(
        "--kmsg", metavar="PATH", help="read /dev/kmsg-format records from PATH; stop at its end"
    )
    w.add_argument("--journal", action="store_true", help="follow journalctl -k, not /dev/kmsg")
    w.set_defaults(func=cmd_watch)

    h = sub.add_parser(
        "history",
        help="list, filter and count the OOM events recorded by watch and analyze --save",
        description="The OOM events in the history database, oldest first.",
    )
    _add_db(h)
    h.add_argument("--format", "-f", choices=FORMATS, default="text", help="output format")
    h.add_argument(
        "--since", type=_since, metavar="WHEN", help="e.g. 2026-11-01, 2026-11-01T08:00, 24h, 7d"
    )
    h.add_argument("--host", help="only events of this host")
    h.add_argument("--cgroup", metavar="PATH", help="only this memory cgroup (and below)")
    h.add_argument("--victim", metavar="COMM|PID", help="only events that killed this process")
    h.add_argument("--limit", type=_positive, default=50, metavar="N", help="newest N (50)")
    h.add_argument(
        "--counts",
        choices=("day", "process", "cgroup"),
        help="count events per day, process or cgroup",
    )
    hs = h.add_subparsers(dest="history_command", title="one event", metavar="show ID")
    show = hs.add_parser("show", help="one event in full")
    show.add_argument("event_id", type=int, metavar="ID")
    # SUPPRESS: given only after `show`, these must not reset what was given before it
    show.add_argument("--format", "-f", choices=FORMATS, default=argparse.SUPPRESS)
    show.add_argument("--db", type=Path, default=argparse.SUPPRESS, metavar="PATH")
    h.set_defaults(func=cmd_history)


def add_save_argument(analyze: argparse.ArgumentParser) -> None:
    """`analyze --save [--db PATH]`: also store the events found in the history."""
    analyze.add_argument(
        "--save", action="store_true", help="store the events in the history (see --db)"
    )
    _add_db(analyze)


def save_events(report: Report, db: Path | None) -> tuple[int, int]:
    """Store every event of `report`; (new, already there). Says so on stderr."""
    from oomlens.render.jsondoc import event_document
    from oomlens.store import History

    docs = [event_document(e, a) for e, a in zip(report.events, report.analyses, strict=True)]
    path = db or _default_db()
    with History(path) as store:
        ids = store.add_many(docs)
    new = sum(1 for i in ids if i is not None)
    print(
        f"oomlens: saved {new} new events to {path} ({len(ids) - new} already there)",
        file=sys.stderr,
    )
    return new, len(ids) - new


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="history database (default: $XDG_STATE_HOME/oomlens/history.db)",
    )


def _default_db() -> Path:
    from oomlens.store import default_path

    return default_path()


def _positive(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return int(text)


# -- scores -----------------------------------------------------------------------------


def cmd_scores(args: argparse.Namespace) -> int:
    from oomlens.live.proc import read_snapshot
    from oomlens.live.scores_view import scores_document, scores_text

    snap = read_snapshot(Path(args.proc_root), Path(args.cgroup_root))
    cgroup = "/" + args.cgroup.strip("/") if args.cgroup else None
    if args.format == "json":
        doc = scores_document(snap, top=args.top, cgroup=cgroup)
        sys.stdout.write(json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(scores_text(snap, top=args.top or TOP_TEXT, cgroup=cgroup))
    return 0


# -- watch ------------------------------------------------------------------------------


def cmd_watch(args: argparse.Namespace) -> int:
    from oomlens.live.kmsg import JOURNALCTL, open_follower, read_boot_id
    from oomlens.live.watch import HookRunner, Metrics, Watcher, stop_on_signals
    from oomlens.store import History

    path = args.db or _default_db()
    metrics = Metrics(args.metrics) if args.metrics else None
    hooks = HookRunner(args.hooks, timeout=args.hook_timeout) if args.hooks else None
    stop = threading.Event()
    try:
        with History(path) as store, stop_on_signals(stop) as wake:
            boot_id = read_boot_id()
            follower, last_event, note = open_follower(
                store.watch_state,
                boot_id=boot_id,
                kmsg_path=args.kmsg,
                from_start=args.from_start,
                journal_command=JOURNALCTL if args.journal else None,
            )
            _note(f"following {follower.name}, {note}; history in {path}")
            emit = _emit_json if args.format == "json" else _emit_text
            watcher = Watcher(
                follower,
                boot_id=boot_id,
                emit=emit,
                store=store,
                hooks=hooks,
                metrics=metrics,
                host=socket.gethostname(),
                last_event=last_event,
            )
            try:
                counters = watcher.run(stop, wake)
            finally:
                follower.close()
    finally:
        if hooks is not None:
            hooks.close()
        if metrics is not None:
            metrics.close()
    _note(
        f"stopped: {counters.events} events, {counters.gaps} gaps "
        f"({counters.lost_records} records lost), {counters.parse_failures} parse failures"
    )
    return 0


def _note(message: str) -> None:
    print(f"oomlens watch: {message}", file=sys.stderr, flush=True)


def _emit_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, sort_keys=True, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _emit_text(doc: dict[str, Any]) -> None:
    sys.stdout.write(event_text(doc))
    sys.stdout.flush()


def event_text(doc: dict[str, Any]) -> str:
    """A watched (or stored) event in two or three lines: what died, where, why, what to do."""
    v = doc.get("victim")
    who = f"killed {v['comm']} (pid {v['pid']})" if v else "no kill line"
    if v and v.get("anon_rss_kb") is not None:
        who += f", anon-rss {human_kb(v['anon_rss_kb'])}"
    scope = doc.get("scope") or "unknown-scope"
    where = f" in {doc['memcg']}" if doc.get("memcg") else ""
    tags = [f"seq {doc['seq']}"] if doc.get("seq") is not None else []
    if doc.get("id") is not None:
        tags.append(f"history #{doc['id']}")
    tail = f" [{', '.join(tags)}]" if tags else ""
    out = [f"{doc.get('time') or '-'} {scope} OOM{where}: {who}{tail}"]
    answers = (doc.get("analysis") or {}).get("answers") or {}
    out += [f"  {answers[k]['summary']}" for k in ("consumers", "prevention") if k in answers]
    return "\n".join(out) + "\n"


# -- history ----------------------------------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    from oomlens.store import Filters, History

    path = args.db or _default_db()
    with History(path, create=False) as store:
        if args.history_command == "show":
            return _show(store, args.event_id, args.format)
        filters = Filters(
            since=args.since,
            host=args.host,
            cgroup=args.cgroup,
            victim=args.victim,
        )
        if args.counts:
            counts = store.counts(args.counts, filters)
            if args.format == "json":
                _emit_json(
                    {"counts": args.counts, "rows": [{"key": k, "events": n} for k, n in counts]}
                )
            else:
                width = max([len(args.counts), *(len(k) for k, _ in counts)])
                print(f"{args.counts.upper():<{width}}  EVENTS")
                for key, n in counts:
                    print(f"{key:<{width}}  {n}")
            return 0
        rows = store.rows(filters, limit=args.limit)
    if args.format == "json":
        _emit_json({"events": [_row_doc(r) for r in rows]})
    else:
        sys.stdout.write(history_text(rows))
    return 0


def _show(store: History, event_id: int, fmt: str) -> int:
    doc = store.get(event_id)
    if doc is None:
        raise OomlensError(f"no event #{event_id} in {store.path} (oomlens history lists them)")
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n")
        return 0
    out = [event_text(doc).rstrip("\n")]
    out.append(
        f"  host {doc.get('host') or '-'}, boot {doc.get('boot_id') or '-'}, "
        f"kernel {doc.get('kernel') or '-'}, source {doc.get('source')}"
    )
    for ans in ((doc.get("analysis") or {}).get("answers") or {}).values():
        out += ["", f"{ans['question']}", f"  {ans['summary']}"]
        out += [f"  - {d}" for d in ans.get("details") or []]
    print("\n".join(out))
    return 0


def _row_doc(r: Row) -> dict[str, Any]:
    doc = asdict(r)
    doc["victim"] = {k: doc.pop(f"victim_{k}") for k in ("pid", "comm")}
    doc["victim"]["anon_rss_kb"] = doc.pop("anon_rss_kb")
    return doc


def history_text(rows: list[Row]) -> str:
    """The event list as a table."""
    if not rows:
        return "No events in the history match.\n"
    table = [("ID", "TIME", "HOST", "SCOPE", "MEMCG", "VICTIM", "ANON RSS")]
    for r in rows:
        victim = f"{r.victim_comm} [{r.victim_pid}]" if r.victim_comm else "-"
        table.append(
            (
                str(r.id),
                (r.time or "-").replace("T", " "),
                r.host or "-",
                r.scope or "-",
                r.memcg or "-",
                victim,
                human_kb(r.anon_rss_kb) if r.anon_rss_kb is not None else "-",
            )
        )
    widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    return "\n".join(lines) + "\n"


def _since(text: str) -> float:
    try:
        return parse_since(text)
    except OomlensError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """ "24h", "7d", "30m", "2w" ago, or an ISO date/time (local time) → Unix time."""
    now = time.time() if now is None else now
    m = _RELATIVE.fullmatch(text.strip())
    if m:
        return now - int(m.group(1)) * _SECONDS[m.group(2)]
    try:
        return datetime.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise OomlensError(
            f"{text!r}: expected a date (2026-11-01), a time (2026-11-01T08:00) "
            "or an age (30m, 24h, 7d, 2w)"
        ) from None
