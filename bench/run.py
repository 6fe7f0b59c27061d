"""Time `oomlens analyze` against `grep -c` on big logs; print a Markdown table.

    python bench/run.py                      # the standard set (generated when missing)
    python bench/run.py bench/out/x.log      # given files
    python bench/run.py --scan-only          # time oomlens.scan.scan() alone

Each command runs in its own child process, best wall time of --repeat runs (the first grep
run also warms the page cache). Peak RSS is the child's ru_maxrss as os.wait4() reports it
(the child and the worker processes it forked and waited for), the largest of its runs; one
command's peak does not leak into the next one's as RUSAGE_CHILDREN's running maximum would.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
# (file name, gen.py arguments): the 400 MB check, parser throughput, the 1 GB memory check
STANDARD = (
    ("sparse-400M.log", ["--mode", "sparse", "--size", "400M", "--reports", "5"]),
    ("dense-20M.log", ["--mode", "dense", "--size", "20M"]),
    ("sparse-1G.log", ["--mode", "sparse", "--size", "1G", "--reports", "5"]),
)
# what --scan-only runs in the child: every line scan() yields, as the parser would take them
SCAN_ONLY = """
import sys
from oomlens.scan import scan
with open(sys.argv[1], "rb") as f:
    n = sum(1 for _ in scan(f))
print(n)
"""


@dataclass
class Run:
    seconds: float
    max_rss_kb: int
    returncode: int
    stdout: str
    stderr: str


def run_once(argv: list[str]) -> Run:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # not proc.wait(): it drops the rusage
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(seconds, usage.ru_maxrss, proc.returncode, out.read(), err.read())


def best(runs: list[Run]) -> Run:
    fastest = min(runs, key=lambda r: r.seconds)
    return Run(
        fastest.seconds,
        max(r.max_rss_kb for r in runs),
        fastest.returncode,
        fastest.stdout,
        fastest.stderr,
    )


def oomlens_argv(path: Path, scan_only: bool) -> list[str]:
    if scan_only:
        return [sys.executable, "-c", SCAN_ONLY, str(path)]
    return [
        sys.executable,
        "-m",
        "oomlens",
        "analyze",
        str(path),
        "--format",
        "json",
        "-o",
        os.devnull,
    ]


def mode_of(path: Path) -> str:
    for mode in ("sparse", "dense"):
        if path.name.startswith(mode):
            return mode
    return "?"


def ensure_standard() -> list[Path]:
    paths = []
    for name, args in STANDARD:
        path = OUT / name
        if not path.exists():
            print(f"generating {path} ...", file=sys.stderr)
            gen = [sys.executable, str(HERE / "gen.py"), *args, "-o", str(path)]
            subprocess.run(gen, check=True, stdout=subprocess.DEVNULL)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="logs (default: the standard set)")
    parser.add_argument("--scan-only", action="store_true", help="time oomlens.scan.scan() only")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    args = parser.parse_args(argv)
    paths = args.files or ensure_standard()
    scan_only, n = args.scan_only, args.repeat
    what = "scan()" if scan_only else "analyze"
    rows = []
    for path in paths:
        size = path.stat().st_size
        grep = best([run_once(["grep", "-c", "invoked oom-killer", str(path)]) for _ in range(n)])
        runs: list[Run] = []
        while len(runs) < n:
            command = oomlens_argv(path, scan_only)
            runs.append(run_once(command))
            if runs[-1].returncode in (0, 1):  # 1: no OOM event found
                continue
            if scan_only:
                sys.exit(f"run.py: {' '.join(command)} failed:\n{runs[-1].stderr}")
            last = runs[-1].stderr.strip().splitlines()[-1:]
            print(f"oomlens analyze failed {last}: timing scan() alone", file=sys.stderr)
            scan_only, what, runs = True, "scan()", []
        ours = best(runs)
        rows.append(
            (
                path.name,
                f"{size / 1e6:.0f} MB",
                mode_of(path),
                f"{grep.seconds:.2f}",
                f"{ours.seconds:.2f}",
                f"{size / 1e6 / ours.seconds:.0f}",
                f"{ours.seconds / grep.seconds:.1f}x",
                f"{ours.max_rss_kb / 1024:.0f} MB",
            )
        )
    head = (
        "file",
        "size",
        "mode",
        "grep -c s",
        f"oomlens {what} s",
        "MB/s",
        "ratio to grep",
        "peak RSS",
    )
    print(f"| {' | '.join(head)} |")
    print(f"|{'|'.join('---' for _ in head)}|")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    print(
        f"\nbest of {args.repeat}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]};"
        f" oomlens {what}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
