"""Generate big kernel logs for the oomlens benchmarks.

    python bench/gen.py --mode sparse --size 400M --reports 5      # chatter + 5 real reports
    python bench/gen.py --mode dense --size 100M                   # reports back to back

`sparse`: ordinary kernel and system chatter (usb, ext4, audit, UFW, e1000e, systemd, ...)
with N real OOM reports from tests/cases/*.log spliced in at random places.
`dense`: every line belongs to a report: the case files back to back.
Timestamps of the spliced lines (`[ sec.usec]`) are renumbered to follow the chatter's clock.
Output goes to bench/out/<mode>-<size>.log unless -o is given.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE.parent / "tests" / "cases"
OUT = HERE / "out"

PROFILES = ("/usr/sbin/cupsd", "snap.firefox.firefox", "/usr/bin/man")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# "[ 4771.273108]" at the start of a line, possibly after a syslog prefix ("... kernel: ")
STAMP = re.compile(rb"\[ *(\d+)\.(\d{6})\]")


def parse_size(text: str) -> int:
    """`400M`, `1G`, `512k` or a plain byte count."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def size_label(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


# ---------------------------------------------------------------------------------------
# Chatter: message bodies with varied fields, drawn from a pre-built pool.


def _mac(r: random.Random) -> str:
    return ":".join(f"{r.randrange(256):02x}" for _ in range(14))


def _ip(r: random.Random) -> str:
    return f"{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def _veth(r: random.Random) -> str:
    return f"veth{r.randrange(16**7):07x}"


def _chatter_templates() -> list[tuple[int, Callable[[random.Random], str]]]:
    """(weight, body maker) pairs; kernel messages unless the body names another program."""
    return [
        (
            14,
            lambda r: (
                f"[UFW BLOCK] IN=eth0 OUT= MAC={_mac(r)} SRC={_ip(r)}"
                f" DST=10.0.0.{r.randrange(2, 250)} LEN={r.choice((40, 44, 52, 60))}"
                f" TOS=0x00 PREC=0x00 TTL={r.randrange(30, 250)} ID={r.randrange(65536)}"
                f" PROTO=TCP SPT={r.randrange(1024, 65536)}"
                f" DPT={r.choice((22, 23, 80, 443, 445, 3389, 5900, 8080))}"
                f" WINDOW={r.randrange(1024, 65536)} RES=0x00 SYN URGP=0"
            ),
        ),
        (
            10,
            lambda r: (
                f"audit: type=1400 audit({r.randrange(1600000000, 1700000000)}."
                f'{r.randrange(1000):03d}:{r.randrange(100, 99999)}): apparmor="DENIED"'
                f' operation="open" profile="{r.choice(PROFILES)}"'
                f' name="/proc/{r.randrange(1, 99999)}/status" pid={r.randrange(1, 99999)}'
                f' comm="{r.choice(("cupsd", "firefox", "man", "nroff"))}" requested_mask="r"'
                ' denied_mask="r" fsuid=0 ouid=0'
            ),
        ),
        (
            4,
            lambda r: (
                f"usb {r.randrange(1, 4)}-{r.randrange(1, 8)}.{r.randrange(1, 5)}: new"
                f" high-speed USB device number {r.randrange(2, 127)} using xhci_hcd"
            ),
        ),
        (
            3,
            lambda r: (
                f"usb {r.randrange(1, 4)}-{r.randrange(1, 8)}: New USB device found,"
                f" idVendor={r.randrange(65536):04x}, idProduct={r.randrange(65536):04x},"
                f" bcdDevice= {r.randrange(10)}.{r.randrange(100):02d}"
            ),
        ),
        (
            2,
            lambda r: (
                f"usb {r.randrange(1, 4)}-{r.randrange(1, 8)}: USB disconnect,"
                f" device number {r.randrange(2, 127)}"
            ),
        ),
        (
            3,
            lambda r: (
                f"EXT4-fs ({r.choice(('sda1', 'sdb2', 'dm-0', 'nvme0n1p2'))}): mounted filesystem"
                f" {r.randrange(16**8):08x}-{r.randrange(16**4):04x} r/w with ordered data mode."
                " Quota mode: none."
            ),
        ),
        (
            2,
            lambda r: (
                f"EXT4-fs ({r.choice(('sda1', 'dm-0'))}): re-mounted. Opts: errors=remount-ro."
                " Quota mode: none."
            ),
        ),
        (
            5,
            lambda r: (
                f"e1000e 0000:00:{r.randrange(16, 32):02x}.0 eth{r.randrange(2)}: NIC Link is Up"
                f" {r.choice((100, 1000))} Mbps Full Duplex, Flow Control: Rx/Tx"
            ),
        ),
        (2, lambda r: f"e1000e 0000:00:1f.6 eth{r.randrange(2)}: NIC Link is Down"),
        (
            6,
            lambda r: (
                f"docker0: port {r.randrange(1, 30)}({_veth(r)}) entered"
                f" {r.choice(('blocking', 'forwarding', 'disabled'))} state"
            ),
        ),
        (3, lambda r: f"device {_veth(r)} entered promiscuous mode"),
        (2, lambda r: f"IPv6: ADDRCONF(NETDEV_CHANGE): {_veth(r)}: link becomes ready"),
        (
            4,
            lambda r: (
                f"systemd[1]: Started Session {r.randrange(1, 9999)} of User"
                f" {r.choice(('root', 'deploy', 'ci'))}."
            ),
        ),
        (
            3,
            lambda r: (
                f"systemd[1]: {r.choice(('logrotate', 'apt-daily', 'fstrim', 'man-db'))}.service:"
                " Deactivated successfully."
            ),
        ),
        # near misses: mention OOM without being a kernel report
        (1, lambda r: "systemd[1]: Started Userspace Out-Of-Memory (OOM) Killer."),
        (
            1,
            lambda r: (
                f"systemd-oomd[{r.randrange(300, 900)}]: Considered {r.randrange(1, 60)} cgroups"
                " for killing, top candidates were:"
            ),
        ),
        (
            2,
            lambda r: (
                f"perf: interrupt took too long ({r.randrange(2501, 9000)} > 2500), lowering"
                f" kernel.perf_event_max_sample_rate to {r.randrange(20000, 79000)}"
            ),
        ),
        (2, lambda r: f"kauditd_printk_skb: {r.randrange(2, 90)} callbacks suppressed"),
        (
            2,
            lambda r: (
                f"TCP: request_sock_TCP: Possible SYN flooding on port"
                f" {r.choice((80, 443, 8443))}. Sending cookies.  Check SNMP counters."
            ),
        ),
        (1, lambda r: "nf_conntrack: nf_conntrack: table full, dropping packet"),
        (
            2,
            lambda r: (
                f"CPU{r.randrange(8)}: Core temperature above threshold, cpu clock throttled"
                f" (total events = {r.randrange(1, 99999)})"
            ),
        ),
        (
            2,
            lambda r: (
                f"sd {r.randrange(4)}:0:0:0: [sd{'abcd'[r.randrange(4)]}] Synchronizing SCSI cache"
            ),
        ),
        (
            1,
            lambda r: (
                f"INFO: task kworker/u{r.randrange(2, 64)}:{r.randrange(1, 9)}:"
                f"{r.randrange(100, 99999)} blocked for more than 120 seconds."
            ),
        ),
        (
            1,
            lambda r: f"nfs: server nas{r.randrange(1, 4)} not responding, still trying",
        ),
    ]


def chatter_pool(r: random.Random, n: int) -> list[str]:
    templates = _chatter_templates()
    weights = [w for w, _ in templates]
    makers = r.choices([m for _, m in templates], weights=weights, k=n)
    return [make(r) for make in makers]


class Clock:
    """The log's kernel clock (seconds since boot) and wall clock, always moving forward."""

    def __init__(self, r: random.Random) -> None:
        self.usec = r.randrange(100, 5000) * 1_000_000
        self.boot = r.randrange(0, 300 * 86400)  # boot time, seconds into the year

    def advance(self, usec: int) -> None:
        self.usec += usec

    def stamp(self) -> str:
        return f"[{self.usec // 1_000_000:5d}.{self.usec % 1_000_000:06d}]"

    def syslog(self) -> str:
        day, rest = divmod(self.boot + self.usec // 1_000_000, 86400)
        month, mday = divmod(day % 336, 28)
        h, rest = divmod(rest, 3600)
        m, s = divmod(rest, 60)
        return f"{MONTHS[month]} {mday + 1:2d} {h:02d}:{m:02d}:{s:02d}"


def chatter_lines(
    r: random.Random, clock: Clock, pool: list[str], count: int, style: str
) -> Iterator[bytes]:
    """`count` chatter lines, in batches: one bytes object per batch."""
    steps = [r.randrange(1, 3_000_000) for _ in range(4096)]
    done = 0
    while done < count:
        batch = min(count - done, 20_000)
        bodies = r.choices(pool, k=batch)
        out = []
        for i, body in enumerate(bodies):
            clock.advance(steps[(done + i) & 4095])
            if style == "syslog":
                if body.startswith("systemd"):
                    out.append(f"{clock.syslog()} host1 {body}\n")
                else:
                    out.append(f"{clock.syslog()} host1 kernel: {clock.stamp()} {body}\n")
            else:
                out.append(f"{clock.stamp()} {body}\n")
        done += batch
        yield "".join(out).encode()


# ---------------------------------------------------------------------------------------
# Reports from the case corpus.


def load_reports(*, complete_only: bool) -> list[tuple[str, bytes]]:
    """Case files as (name, bytes); `complete_only`: those with a trigger and a kill line."""
    out = []
    for path in sorted(CASES.glob("*.log")):
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            data += b"\n"
        if complete_only and not (b"invoked oom-killer" in data and b"Killed process" in data):
            continue
        out.append((path.name, data))
    if not out:
        sys.exit(f"gen.py: no case files in {CASES}")
    return out


def renumber(report: bytes, clock: Clock) -> bytes:
    """Shift the report's `[ sec.usec]` stamps so that it starts at the clock's time."""
    first = STAMP.search(report)
    if first is None:
        return report
    base = int(first.group(1)) * 1_000_000 + int(first.group(2))
    start = clock.usec
    last = [start]

    def shift(m: re.Match[bytes]) -> bytes:
        usec = start + max(0, int(m.group(1)) * 1_000_000 + int(m.group(2)) - base)
        last[0] = max(last[0], usec)
        return f"[{usec // 1_000_000:5d}.{usec % 1_000_000:06d}]".encode()

    out = STAMP.sub(shift, report)
    clock.advance(last[0] - clock.usec + 1000)
    return out


# ---------------------------------------------------------------------------------------


def write_sparse(out: Path, size: int, reports: int, style: str, seed: int) -> list[str]:
    r = random.Random(seed)
    clock = Clock(r)
    pool = chatter_pool(r, 50_000)
    avg = sum(len(line) for line in pool[:2000]) / 2000 + (44 if style == "syslog" else 16)
    corpus = load_reports(complete_only=True)
    picks = [corpus[r.randrange(len(corpus))] for _ in range(reports)]
    report_bytes = sum(len(data) for _, data in picks)
    total_lines = max(0, int((size - report_bytes) / avg))
    # split points, in chatter lines, where the reports go
    cuts = sorted(r.randrange(total_lines + 1) for _ in picks)
    written = 0
    done = 0
    with out.open("wb") as f:
        for (_name, data), cut in zip(picks, cuts, strict=True):
            for chunk in chatter_lines(r, clock, pool, cut - done, style):
                written += f.write(chunk)
            done = cut
            written += f.write(renumber(data, clock))
        # top up to the requested size
        while written < size:
            want = max(1, int((size - written) / avg))
            for chunk in chatter_lines(r, clock, pool, want, style):
                written += f.write(chunk)
    return [name for name, _ in picks]


def write_dense(out: Path, size: int, seed: int) -> int:
    r = random.Random(seed)
    clock = Clock(r)
    corpus = load_reports(complete_only=False)
    written = 0
    count = 0
    with out.open("wb") as f:
        while written < size:
            for _name, data in corpus:
                written += f.write(renumber(data, clock))
                count += 1
                if written >= size:
                    break
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("sparse", "dense"), default="sparse")
    parser.add_argument("--size", default="400M", help="target size: 400M, 1G, ... (default 400M)")
    parser.add_argument("--reports", type=int, default=5, help="sparse: how many reports")
    parser.add_argument("--style", choices=("syslog", "dmesg"), default="syslog")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    out = args.output or OUT / f"{args.mode}-{size_label(size)}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.mode == "sparse":
        names = write_sparse(out, size, args.reports, args.style, args.seed)
        what = f"{len(names)} reports: {', '.join(names)}"
    else:
        what = f"{write_dense(out, size, args.seed)} case files back to back"
    print(f"{out}: {out.stat().st_size} bytes, {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
