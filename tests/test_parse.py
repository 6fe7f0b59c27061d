"""The parser on its own: grouping of lines into events, with snippets from real logs."""

from __future__ import annotations

import re
import textwrap

from conftest import CASES
from oomlens.containers import Normalizer
from oomlens.model import OomEvent, Scope
from oomlens.parse import Parser, parse_lines


def parse_text(text: str) -> list[OomEvent]:
    n = Normalizer("snippet")
    lines = []
    for i, raw in enumerate(textwrap.dedent(text).strip("\n").encode().split(b"\n"), 1):
        lines += n.feed(i, raw)
    lines += n.flush()
    return list(parse_lines(lines, "snippet"))


def test_two_reports_printed_at_once_are_told_apart_by_caller_id() -> None:
    # CONFIG_PRINTK_CALLER adds "[ T<pid>]": interleave two real 6.18 reports line by line
    a = (CASES / "real-6.18-memcg-v1-single.log").read_text().splitlines()
    b = (CASES / "real-6.18-global-oom.log").read_text().splitlines()[1:]
    stamp = re.compile(r"^(\[ *\d+\.\d+\])")

    def records(lines: list[str], caller: str) -> list[str]:
        # a record and its unprefixed continuation lines stay together, as dmesg prints them
        out: list[str] = []
        for ln in lines:
            if stamp.match(ln) or not out:
                out.append(stamp.sub(rf"\1[ {caller}]", ln))
            else:
                out[-1] += "\n" + ln
        return out

    ra, rb = records(a, "T3775"), records(b, "T1987")
    mixed = [r for pair in zip(ra, rb, strict=False) for r in pair] + ra[len(rb) :] + rb[len(ra) :]
    events = parse_text("\n".join(mixed))
    by_victim = {e.victim.pid: e for e in events if e.victim}
    assert sorted(by_victim) == [1987, 3775]
    assert by_victim[3775].scope is Scope.MEMCG and by_victim[1987].scope is Scope.SYSTEM
    assert by_victim[3775].complete and by_victim[1987].complete
    assert [t.pid for t in by_victim[1987].tasks.rows] == [1452, 1453, 1983, 1984, 1987]
    assert by_victim[3775].unparsed == () and by_victim[1987].unparsed == ()


def test_rate_limited_kills_become_headerless_events() -> None:
    # 5.x storm: the header is rate-limited away, only the kill lines are printed
    events = parse_text(
        """
        [ 100.000001] oom_kill_process: 3 callbacks suppressed
        [ 100.000002] Out of memory: Killed process 101 (worker) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0
        [ 100.000003] Out of memory: Killed process 102 (worker) total-vm:1000kB, anon-rss:800kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0
        [ 100.000004] oom_reaper: reaped process 101 (worker), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
        """
    )
    assert [e.victim.pid for e in events if e.victim] == [101, 102]
    assert all(e.headerless and not e.complete for e in events)
    assert events[0].suppressed == 3 and events[1].suppressed is None
    assert [r.pid for r in events[0].reaped] == [101] and events[1].reaped == ()


def test_a_late_reaper_line_finds_its_victim() -> None:
    text = (CASES / "real-6.18-global-oom.log").read_text()
    text += "[  145.100000] usb 1-1: new high-speed USB device number 2 using xhci_hcd\n"
    text += "[  146.500000] oom_reaper: reaped process 1987 (python3), now anon-rss:0kB, "
    text += "file-rss:0kB, shmem-rss:0kB\n"
    (event,) = parse_text(text)
    assert event.reaped[0].pid == 1987 and event.reaped[0].anon_rss_kb == 0
    assert event.last_line == 74  # the reaper line; the usb line is not part of the report
    assert event.unparsed == ()


def test_rhel6_kill_line_and_oom_kill_allocating_task() -> None:
    (event,) = parse_text(
        """
        Mar  8 11:35:04 host kernel: Out of memory (oom_kill_allocating_task): Kill process 6608 (top) score 0 or sacrifice child
        Mar  8 11:35:04 host kernel: Killed process 6608, UID 500, (top) total-vm:15028kB, anon-rss:308kB, file-rss:4kB
        """
    )
    assert event.victim is not None
    assert (event.victim.pid, event.victim.comm, event.victim.uid) == (6608, "top", 500)
    assert event.kill_prefix == "Out of memory (oom_kill_allocating_task)"
    assert event.selection is not None and event.selection.score == 0


def test_comm_with_parentheses_and_spaces() -> None:
    (event,) = parse_text(
        """
        [ 10.000000] Out of memory: Killed process 42 (Web (Content)) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:40kB oom_score_adj:0
        """
    )
    assert event.victim is not None and event.victim.comm == "Web (Content)"


def test_unknown_lines_inside_a_report_are_counted_not_dropped() -> None:
    lines = (CASES / "real-6.18-memcg-v1-single.log").read_text().splitlines()
    lines.insert(40, "[  231.643530] something else entirely")
    (event,) = parse_text("\n".join(lines))
    assert [u.text for u in event.unparsed] == ["something else entirely"]
    assert event.victim is not None and event.victim.pid == 3775


def test_a_victim_already_exiting_is_an_event_without_a_kill() -> None:
    # 5.1+ oom_kill_process(): a victim that will free its memory anyway is not killed, and
    # the message comes before dump_header(), so it stands alone
    (event,) = parse_text(
        """
        [ 9.000000] usb 1-1: new high-speed USB device number 2 using xhci_hcd
        [ 9.000001] Memory cgroup out of memory: OOM victim 3775 (python3) is already exiting. Skip killing the task
        [ 9.000002] usb 1-1: new high-speed USB device number 3 using xhci_hcd
        """
    )
    assert (event.exiting_pid, event.victim, event.scope) == (3775, None, Scope.MEMCG)
    assert event.unparsed == () and "kill" not in event.missing
    assert (event.first_line, event.last_line) == (2, 2)


def test_a_trigger_alone_is_an_incomplete_event() -> None:
    (event,) = parse_text(
        "[ 5.000000] bash invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"
    )
    assert not event.complete
    assert event.missing == ("stack", "meminfo", "tasks", "kill")
    assert event.trigger is not None and event.trigger.gfp_flags == ("GFP_KERNEL",)


def test_page_allocation_failure_mem_info_is_not_taken_for_an_oom() -> None:
    events = parse_text(
        """
        [ 1.000000] kworker/0:1: page allocation failure: order:4, mode:0x40cc0(GFP_KERNEL|__GFP_COMP), nodemask=(null)
        [ 1.000001] CPU: 0 PID: 7 Comm: kworker/0:1 Not tainted 5.10.0 #1
        [ 1.000002] Mem-Info:
        [ 1.000003] active_anon:1 inactive_anon:2 isolated_anon:0
        [ 1.000004] 100 pages RAM
        """
    )
    assert events == []


def test_parser_is_busy_until_the_kill_line() -> None:
    parser = Parser("x")
    n = Normalizer("x")
    raws = (CASES / "real-6.18-memcg-v1-single.log").read_bytes().splitlines()
    busy = []
    for i, raw in enumerate(raws, 1):
        for line in n.feed(i, raw):
            parser.feed(line)
        busy.append(parser.busy)
    assert all(busy[1:-1])
    assert [e.victim.pid for e in parser.flush() if e.victim] == [3775]
    assert not parser.busy
