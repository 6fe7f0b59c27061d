"""The command line: `oomlens analyze`, `gfp`, `scores`, `watch`, `history` (and `serve`).

Each subcommand is a short function; the live ones are in `commands_live`.

Exit status is grep-like so scripts can trust it: 0 = at least one OOM event found,
1 = input read fine but no OOM event in it, 2 = usage or input error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from oomlens._version import __version__
from oomlens.errors import OomlensError, ParseError, SourceError

if TYPE_CHECKING:
    from oomlens.model import OomEvent
    from oomlens.sources import Source

EXIT_FOUND, EXIT_NONE, EXIT_ERROR = 0, 1, 2
EXAMPLE = "real-6.18-global-oom.log"


def _formats() -> list[str]:
    from oomlens.render import RENDERERS

    return sorted(RENDERERS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oomlens",
        description="Turn Linux OOM-killer logs into answers.",
        epilog="Exit status: 0 OOM events found, 1 none found, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"oomlens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser(
        "analyze",
        help="find every OOM report in kernel logs and answer the five questions",
        description=(
            "Find every OOM-killer report in the inputs (files, directories, - for stdin; "
            "default: this machine's kernel log) and answer: system-wide or cgroup? who "
            "consumed the memory? was swap available? was the system thrashing? what would "
            "have prevented it?"
        ),
    )
    a.add_argument("paths", nargs="*", metavar="PATH", help="log files or directories, - = stdin")
    a.add_argument("--format", "-f", choices=_formats(), default=None, help="output format")
    a.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    a.add_argument(
        "--strict", action="store_true", help="fail on lines inside a report that are not known"
    )
    a.add_argument(
        "--what-if",
        nargs="+",
        metavar="PID=ADJ",
        type=_pid_adj,
        help="replay the victim choice with these oom_score_adj values instead (-1000..1000)",
    )
    a.add_argument(
        "--example",
        action="store_true",
        help=f"analyse the bundled real example ({EXAMPLE}: a 6.18 kernel's system-wide OOM)",
    )
    a.set_defaults(func=cmd_analyze)

    g = sub.add_parser(
        "gfp",
        help="decode a GFP allocation mask to flag names for a kernel release",
        description=(
            "Decode a gfp_mask as the kernel of a given release would print it "
            "(old kernels print hex only). Without --kernel the era is guessed from the mask."
        ),
    )
    g.add_argument("mask", help="e.g. 0x140cca or 0x280da, or the printed gfp_mask=0x..(..)")
    g.add_argument("--kernel", metavar="RELEASE", help="kernel release, e.g. 4.4 or 3.10.0-514.el7")
    g.set_defaults(func=cmd_gfp)

    s = sub.add_parser(
        "serve",
        help="local web app: paste or upload a log, browse the history (on 127.0.0.1)",
        description=(
            "Serve the report page as a local web app: paste, upload or drop a kernel log to "
            "get its report, browse the history store, or use the JSON API it describes at "
            "/api/openapi.json. Binds 127.0.0.1 unless --host says otherwise; what it is sent "
            "is analysed in a temporary directory and not stored."
        ),
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8321, help="port (default 8321; 0 = any free one)")
    s.add_argument(
        "--db", metavar="PATH", type=Path, help="history store (default: the store's own path)"
    )
    s.add_argument(
        "--max-upload",
        metavar="SIZE",
        type=_size,
        default="50M",
        help="largest log accepted, e.g. 512K, 50M, 1G (default 50M)",
    )
    s.set_defaults(func=cmd_serve)

    from oomlens.commands_live import add_save_argument, register

    add_save_argument(a)  # analyze --save [--db PATH]
    register(sub)  # scores, watch, history
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        status: int = args.func(args)
        return status
    except OomlensError as err:
        print(f"oomlens: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (| head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FOUND


def cmd_analyze(args: argparse.Namespace) -> int:
    from oomlens.sources import Source, resolve, system_sources

    if args.example:
        from importlib import resources

        with resources.as_file(resources.files("oomlens") / "examples" / EXAMPLE) as path:
            return _analyze(args, [Source(name=f"example:{EXAMPLE}", path=Path(path))])
    return _analyze(args, resolve(args.paths) if args.paths else system_sources())


def _analyze(args: argparse.Namespace, sources: Sequence[Source]) -> int:
    from oomlens.analyze import diagnose
    from oomlens.reader import read_source
    from oomlens.render import render

    events: list[OomEvent] = []
    seen: set[tuple[object, ...]] = set()
    failed = 0
    for source in sources:
        try:
            found = read_source(source)
        except SourceError as err:
            failed += 1
            print(f"oomlens: error: {err}", file=sys.stderr)
            found = list(err.events)  # what was read before the damage
        # a sosreport holds the same kernel messages in dmesg, journal and messages files:
        # an event seen in an earlier source (same host, boot, time stamp, victim) is skipped
        keys = [_identity(e) for e in found]
        events += [e for e, k in zip(found, keys, strict=True) if k is None or k not in seen]
        seen.update(k for k in keys if k is not None)
    if args.strict:
        for e in events:
            if e.unparsed:
                ln = e.unparsed[0]
                raise ParseError(
                    f"unrecognised line in an OOM report: {ln.text!r} (drop --strict to skip it)",
                    path=ln.path,
                    line_no=ln.line_no,
                )
    if failed and not events:
        return EXIT_ERROR
    what_if = dict(args.what_if) if args.what_if else None
    report = diagnose(events, sources=[s.name for s in sources], what_if=what_if)
    if args.save:
        from oomlens.commands_live import save_events

        save_events(report, args.db)
    fmt = args.format or _guess_format(args.output)
    text = render(report, fmt)
    if args.output and args.output != "-":
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as err:
            raise SourceError(f"cannot write {args.output}: {err.strerror}") from err
    else:
        sys.stdout.write(text)
    if failed:
        return EXIT_ERROR
    if not events:
        names = ", ".join(s.name for s in sources) or "the input"
        print(
            f"oomlens: no OOM-killer events found in {names} "
            "(was the log rotated? try journalctl -k, or pass older files)",
            file=sys.stderr,
        )
        return EXIT_NONE
    return EXIT_FOUND


def cmd_gfp(args: argparse.Namespace) -> int:
    from oomlens.analyze.gfp import decode, describe

    d = decode(args.mask.removeprefix("gfp_mask="), args.kernel)
    era = f"{d.era} (guessed from the mask: pass --kernel)" if d.era_guessed else d.era
    print(f"{d.mask:#x} = {d.text or '(no flags)'}")
    print(f"  table: kernel {era}")
    for meaning in describe(d):
        print(f"  - {meaning}")
    return EXIT_FOUND


def _pid_adj(text: str) -> tuple[int, int]:
    pid, eq, adj = text.partition("=")
    try:
        value = (int(pid), int(adj))
    except ValueError:
        value = None
    if not eq or value is None or not -1000 <= value[1] <= 1000:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected PID=ADJ with ADJ from -1000 to 1000, e.g. 1987=-1000"
        )
    return value


def _identity(e: OomEvent) -> tuple[object, ...] | None:
    if e.uptime_s is None:
        return None
    return (e.host, e.boot_id, round(e.uptime_s, 3), e.victim.pid if e.victim else None)


def cmd_serve(args: argparse.Namespace) -> int:
    from oomlens.web import serve

    return serve(args.host, args.port, db=args.db, max_upload=args.max_upload)


def _size(text: str) -> int:
    from oomlens.web import parse_size

    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 50M or 1G)") from None


def _guess_format(output: str | None) -> str:
    if output:
        ext = Path(output).suffix.lstrip(".").lower()
        if ext in _formats():
            return ext
    return "text"
