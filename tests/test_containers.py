"""Container prefixes come off: one test per format, with lines as the tools print them."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oomlens.containers import MAX_LINE_BYTES, Normalizer
from oomlens.model import LogLine
from oomlens.timestamps import month_number

CASES = Path(__file__).parent / "cases"
NOW = datetime.datetime(2026, 11, 25, 12, 0, 0)


def norm(*lines: str | bytes, now: datetime.datetime = NOW) -> list[LogLine]:
    """Feed physical lines (1-based numbers), then flush."""
    n = Normalizer("t.log", now=now)
    out: list[LogLine] = []
    for no, line in enumerate(lines, 1):
        out += n.feed(no, line.encode() if isinstance(line, str) else line)
    return out + n.flush()


def one(line: str | bytes, now: datetime.datetime = NOW) -> LogLine:
    (result,) = norm(line, now=now)
    return result


def case(name: str) -> list[LogLine]:
    """A whole case file, split as a reader would (no line after the final newline)."""
    data = next(CASES.glob(name)).read_bytes()
    return norm(*data.removesuffix(b"\n").split(b"\n"))


# --- dmesg ----------------------------------------------------------------------------------


def test_dmesg_uptime() -> None:
    line = one("[  621.423101] Out of memory: Killed process 3161 (mysqld)")
    assert line == LogLine(
        line_no=1,
        path="t.log",
        text="Out of memory: Killed process 3161 (mysqld)",
        uptime_s=621.423101,
    )


def test_dmesg_keeps_task_table_brackets() -> None:
    line = one(
        "[ 8523.347304] [ 181505] 65535 181505      243        1    28672        0   -998 pause"
    )
    assert line.text.startswith("[ 181505] 65535")
    assert line.caller is None


@pytest.mark.parametrize(
    ("raw", "caller", "text"),
    [
        ("[ 2993.661240][ T1234] Thread-2 invoked oom-killer: gfp_mask=0xcc0", "T1234", "Thread-2"),
        ("[    3.123456][    C3] sysrq: Manual OOM execution", "C3", "sysrq:"),
        (
            "[ 2993.661240] [ T1234] Thread-2 invoked oom-killer: gfp_mask=0xcc0",
            "T1234",
            "Thread-2",
        ),
    ],
)
def test_dmesg_printk_caller(raw: str, caller: str, text: str) -> None:
    line = one(raw)
    assert line.caller == caller
    assert line.text.startswith(text)
    assert line.uptime_s is not None


def test_dmesg_raw_level() -> None:
    line = one("<4>[ 4771.273108] sh invoked oom-killer: gfp_mask=0x24000c0(GFP_KERNEL), order=0")
    assert (line.level, line.uptime_s, line.kernel) == (4, 4771.273108, True)
    assert line.text.startswith("sh invoked")


def test_dmesg_raw_user_facility_is_not_kernel() -> None:
    line = one("<14>[    5.000000] systemd[1]: Started Journal Service.")
    assert (line.level, line.kernel) == (6, False)


def test_dmesg_decode() -> None:
    line = one("kern  :warn  : [ 4771.273108] sh invoked oom-killer: gfp_mask=0x24000c0, order=0")
    assert (line.level, line.uptime_s, line.kernel) == (4, 4771.273108, True)
    assert line.text == "sh invoked oom-killer: gfp_mask=0x24000c0, order=0"
    assert not one("user  :info  : [    5.0] systemd[1]: Started Journal Service.").kernel


def test_dmesg_iso() -> None:
    line = one("2025-08-12T03:54:03,123456+02:00 php-fpm invoked oom-killer: gfp_mask=0x1100cca")
    assert line.wall == "2025-08-12T03:54:03.123456+02:00"
    assert line.host is None
    assert line.text == "php-fpm invoked oom-killer: gfp_mask=0x1100cca"
    # util-linux's own ISO_TIMESTAMP_COMMA_T writes the offset without a colon
    assert one("2025-08-12T03:54:03,123456+0200 x").wall == "2025-08-12T03:54:03.123456+02:00"


@pytest.mark.parametrize(
    ("raw", "wall"),
    [
        ("[Wed Nov 25 18:09:27 2026] x", "2026-11-25T18:09:27"),
        ("[Thu Apr  1 16:45:10 2021] x", "2021-04-01T16:45:10"),
        ("[Di Aug 12 03:54:03 2025] x", "2025-08-12T03:54:03"),  # de_DE
        ("[Mi Mär  5 03:54:03 2025] x", "2025-03-05T03:54:03"),
        ("[mar. févr. 11 03:54:03 2025] x", "2025-02-11T03:54:03"),  # fr_FR
        ("[mar 12 ago 03:54:03 2025] x", "2025-08-12T03:54:03"),  # es_ES, day before month
        ("[mar ott 14 03:54:03 2025] x", "2025-10-14T03:54:03"),  # it_IT
        ("[ter out 14 03:54:03 2025] x", "2025-10-14T03:54:03"),  # pt_BR
        ("[di mrt 11 03:54:03 2025] x", "2025-03-11T03:54:03"),  # nl_NL
        ("[Вт авг 12 03:54:03 2025] x", "2025-08-12T03:54:03"),  # ru_RU
        ("[月  1月 26 10:11:12 2026] x", "2026-01-26T10:11:12"),  # ja_JP
        ("[화  1월 27 10:11:12 2026] x", "2026-01-27T10:11:12"),  # ko_KR
    ],
)
def test_dmesg_ctime_localized(raw: str, wall: str) -> None:
    line = one(raw)
    assert (line.wall, line.text, line.uptime_s) == (wall, "x", None)


def test_dmesg_ctime_unknown_month_is_still_stripped() -> None:
    line = one("[Xyz Qqq 12 03:54:03 2025] php-fpm invoked oom-killer")
    assert (line.wall, line.text) == (None, "php-fpm invoked oom-killer")
    line = one("[2026年 1月26日 10:11:12] php-fpm invoked oom-killer")
    assert (line.wall, line.text) == (None, "php-fpm invoked oom-killer")


def test_dmesg_reltime() -> None:
    first, second = norm("[Nov25 18:09] a", "[  +0.000123] b")
    assert (first.wall, first.text) == ("2026-11-25T18:09:00", "a")
    assert (second.wall, second.text, second.cont) == (None, "b", False)


def test_util_linux_multiline_record_is_indented() -> None:
    # 017-5.x-kind: `dmesg -T` prints a cgroup v2 memory.stat record's 2nd+ lines indented
    lines = norm(
        "[Thu Apr  1 16:45:10 2021] Memory cgroup stats for /docker/4284:",
        "[Thu Apr  1 16:45:10 2021] anon 314535936",
        "                           file 0",
        "                           kernel_stack 49152",
    )
    assert [(x.text, x.cont) for x in lines] == [
        ("Memory cgroup stats for /docker/4284:", False),
        ("anon 314535936", False),
        ("file 0", True),
        ("kernel_stack 49152", True),
    ]
    assert all(x.wall == "2021-04-01T16:45:10" for x in lines)
    assert lines[3].line_no == 4


# --- /dev/kmsg ------------------------------------------------------------------------------


def test_kmsg_record() -> None:
    line = one("4,1493,21847500270,-;sh invoked oom-killer: gfp_mask=0x24000c0(GFP_KERNEL)")
    assert (line.level, line.seq, line.uptime_s, line.kernel) == (4, 1493, 21847.50027, True)
    assert line.text == "sh invoked oom-killer: gfp_mask=0x24000c0(GFP_KERNEL)"


def test_kmsg_caller_and_user_facility() -> None:
    line = one("6,2301,306764783,-,caller=T12;oom_reaper: reaped process 4358 (bash)")
    assert (line.caller, line.level, line.seq) == ("T12", 6, 2301)
    assert not one("12,2302,306764799,-;systemd[1]: Started Session 3.").kernel


def test_kmsg_dictionary_lines_are_dropped() -> None:
    lines = norm(
        "5,1220,18313132944,-;sd 3:0:0:0: [sda] Synchronizing SCSI cache",
        " SUBSYSTEM=scsi",
        " DEVICE=+scsi:3:0:0:0",
        "6,1222,18313297655,-;e1000e: EEE TX LPI TIMER: 00000011",
    )
    assert [x.text for x in lines] == [
        "sd 3:0:0:0: [sda] Synchronizing SCSI cache",
        "e1000e: EEE TX LPI TIMER: 00000011",
    ]


def test_kmsg_escapes() -> None:
    # cadvisor-system-4.8-kmsg: the Mem-Info global block is one record with "\x0a"
    lines = norm(
        r"4,1554,22664883036,-;active_anon:1740512 inactive_anon:219486\x0a active_file:39"
        r" inactive_file:45\x0a free:11442 free_pcp:93 free_cma:0"
    )
    assert [(x.text, x.cont, x.seq) for x in lines] == [
        ("active_anon:1740512 inactive_anon:219486", False, 1554),
        ("active_file:39 inactive_file:45", True, 1554),
        ("free:11442 free_pcp:93 free_cma:0", True, 1554),
    ]
    assert one(r"6,1,1,-;path C:\x5cwin\x09tab").text == "path C:\\win\ttab"
    # bytes >= 0x80 are escaped one by one: UTF-8 is put back together
    assert one(r"6,1,1,-;comm \xc3\xa9t\xc3\xa9").text == "comm été"
    assert one(r"6,1,1,-;comm \xff!").text == r"comm \xff!"


def test_kmsg_continuation_flag_kept_as_record() -> None:
    line = one("4,1495,21847500285,c;(UME) 1*16kB")
    assert (line.text, line.cont, line.seq) == ("(UME) 1*16kB", False, 1495)


# --- syslog ---------------------------------------------------------------------------------


def test_syslog_with_kernel_stamp() -> None:
    line = one(
        "Oct 12 19:00:20 aks-nodepool1-24207654-vmss000001 kernel: [ 8523.347168] "
        "stress-ng-vm invoked oom-killer: gfp_mask=0x1100cca(GFP_HIGHUSER_MOVABLE), order=0"
    )
    assert line.host == "aks-nodepool1-24207654-vmss000001"
    assert line.wall == "2026-10-12T19:00:20"
    assert line.uptime_s == 8523.347168
    assert line.text.startswith("stress-ng-vm invoked")


def test_syslog_year_from_now() -> None:
    # a stamp more than a day after `now` is from the year before
    assert one("Dec 20 03:17:52 localhost kernel: x").wall == "2025-12-20T03:17:52"
    assert one("Nov 26 03:17:52 localhost kernel: x").wall == "2026-11-26T03:17:52"
    leap = datetime.datetime(2027, 3, 1)
    assert one("Feb 29 00:00:01 h kernel: x", now=leap).wall == "2024-02-29T00:00:01"


def test_syslog_without_stamp_and_padded_day() -> None:
    line = one("Aug  1 01:01:25 tiddlywinks kernel: lid.sh invoked oom-killer: gfp_mask=0x80d0")
    assert (line.host, line.wall, line.uptime_s) == ("tiddlywinks", "2026-08-01T01:01:25", None)
    assert line.text == "lid.sh invoked oom-killer: gfp_mask=0x80d0"


def test_syslog_empty_kernel_message() -> None:
    # 012-2.6.1x-xen: "Jan 26 17:43:08 i28 kernel: " around the call trace
    line = one("Jan 26 17:43:08 i28 kernel: ")
    assert (line.text, line.host, line.kernel) == ("", "i28", True)


def test_syslog_rfc3339() -> None:
    line = one(
        "2025-08-12T03:54:03.123456+02:00 pve kernel: [ 1.5] Out of memory: Killed process 1"
    )
    assert (line.host, line.wall, line.uptime_s) == ("pve", "2025-08-12T03:54:03.123456+02:00", 1.5)
    assert line.text == "Out of memory: Killed process 1"


def test_syslog_other_programs_are_not_kernel() -> None:
    cron = one("Aug  1 01:00:02 tiddlywinks /USR/SBIN/CRON[25723]: (root) CMD (update-motd)")
    assert (cron.kernel, cron.host, cron.text) == (False, "tiddlywinks", "(root) CMD (update-motd)")
    # 005-4.x: `logger --tag=kernel` gives a pid: not the kernel
    fake = one("Nov 12 12:29:23 alien kernel[19202]: Start for oom-killer")
    assert (fake.kernel, fake.text) == (False, "Start for oom-killer")
    mark = one("Nov 12 12:29:23 alien -- MARK --")
    assert (mark.kernel, mark.text) == (False, "-- MARK --")


def test_syslog_kernel_tag_without_space() -> None:
    line = one(
        "Aug  1 14:32:18 ecs kernel:[340648.118967] Kernel panic - not syncing: Out of memory"
    )
    assert (line.uptime_s, line.text) == (
        340648.118967,
        "Kernel panic - not syncing: Out of memory",
    )


def test_rsyslog_escapes() -> None:
    lines = norm(
        "Mar  8 11:35:04 h kernel: active_anon:7355653 isolated_anon:0#012 active_file:1263"
        "#012 free:39513#011free_pcp:2958"
    )
    assert [(x.text, x.cont, x.line_no, x.host) for x in lines] == [
        ("active_anon:7355653 isolated_anon:0", False, 1, "h"),
        ("active_file:1263", True, 1, "h"),
        ("free:39513\tfree_pcp:2958", True, 1, "h"),
    ]


def test_rsyslog_escapes_in_stripped_text() -> None:
    # oomanalyser-rhel7-3.10: prefixes stripped, the #012 escapes left
    lines = norm("active_anon:7355653 inactive_anon:660960#012 active_file:1263")
    assert [(x.text, x.cont) for x in lines] == [
        ("active_anon:7355653 inactive_anon:660960", False),
        ("active_file:1263", True),
    ]


def test_busybox_and_openwrt_logread() -> None:
    line = one("Oct 12 19:00:20 router kern.warn kernel: [ 12.5] sh invoked oom-killer: x")
    assert (line.host, line.level, line.uptime_s, line.kernel) == ("router", 4, 12.5, True)
    line = one("Tue Aug 12 03:54:03 2025 kern.err kernel: [ 87.1] Out of memory: Killed process 9")
    assert (line.wall, line.level, line.uptime_s) == ("2025-08-12T03:54:03", 3, 87.1)
    assert line.text == "Out of memory: Killed process 9"
    assert not one("Tue Aug 12 03:54:03 2025 daemon.info dnsmasq[1]: started").kernel


def test_syslog_broken_after_hostname() -> None:
    # 038-3.10-el7-messages-line-broken-after-hostname
    lines = norm(
        "Jan 27 15:34:06 test-sj kernel: Out of memory: Kill process 3161 (mysqld) score 626",
        "Jan 27 15:34:06 test-sj ",
        "    kernel: Killed process 3161 (mysqld), UID 0, total-vm:493444kB",
    )
    assert [(x.line_no, x.text, x.host, x.cont, x.kernel) for x in lines] == [
        (1, "Out of memory: Kill process 3161 (mysqld) score 626", "test-sj", False, True),
        (2, "Killed process 3161 (mysqld), UID 0, total-vm:493444kB", "test-sj", False, True),
    ]


def test_syslog_header_alone_at_end_or_before_other_text() -> None:
    (line,) = norm("Jan 27 15:34:06 test-sj ")
    assert (line.text, line.host) == ("", "test-sj")
    header, nxt = norm("Jan 27 15:34:06 test-sj", "Killed process 3161 (mysqld)")
    assert (header.text, nxt.text, nxt.cont, nxt.host) == (
        "",
        "Killed process 3161 (mysqld)",
        True,
        "test-sj",
    )


def test_syslogd_wall_broadcast() -> None:
    # 023-sysrq-f-panic_on_oom-syslogd-wall-broadcast
    lines = case("023-*.log")
    assert [(x.line_no, x.text, x.host, x.cont) for x in lines] == [
        (1, "[root@ecs-liruilong ~]# echo f > /proc/sysrq-trigger", None, False),
        (2, "", None, False),
        (4, "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled",
         "ecs-liruilong", False),
    ]  # fmt: skip
    assert lines[2].uptime_s == 340648.118967
    assert lines[2].wall == "2026-08-01T14:32:18"


# --- journalctl text output -----------------------------------------------------------------


def test_journalctl_short_forms() -> None:
    short = one("Dec 14 17:13:12 host kernel: Out of memory: Killed process 1 (a)")
    assert (short.host, short.wall, short.text) == (
        "host",
        "2025-12-14T17:13:12",
        "Out of memory: Killed process 1 (a)",
    )
    iso = one("2025-08-12T03:54:03+0200 host kernel: msg")
    assert (iso.wall, iso.host, iso.text) == ("2025-08-12T03:54:03+02:00", "host", "msg")
    precise = one("Dec 14 17:13:12.123456 host kernel: msg")
    assert precise.wall == "2025-12-14T17:13:12.123456"
    mono = one("[ 2993.661240] host kernel: msg")
    assert (mono.uptime_s, mono.host, mono.text, mono.kernel) == (2993.661240, "host", "msg", True)
    unix = one("[1723427643.123456] host kernel: msg")
    assert (unix.uptime_s, unix.wall) == (None, "2024-08-12T01:54:03.123456+00:00")
    full = one("Tue 2025-08-12 03:54:03 CEST host kernel: msg")
    assert (full.wall, full.host, full.text) == ("2025-08-12T03:54:03", "host", "msg")
    assert not one("[ 2993.7] host systemd[1]: Stopped x.").kernel
    localized = one("Dez 14 17:13:12 host kernel: msg")
    assert localized.wall == "2025-12-14T17:13:12"


def test_dmesg_line_that_looks_like_a_host_is_not_journal() -> None:
    line = one("[    1.000000] usb 1-1: new high-speed USB device number 2 using xhci_hcd")
    assert (line.host, line.text) == (
        None,
        "usb 1-1: new high-speed USB device number 2 using xhci_hcd",
    )


def test_journalctl_multiline_message_is_indented() -> None:
    lines = norm(
        "Dec 14 17:13:12 host kernel: Mem-Info:",
        "Dec 14 17:13:12 host kernel: active_anon:60744 inactive_anon:109226 isolated_anon:0",
        "                              active_file:6418 inactive_file:3869 isolated_file:2",
    )
    assert (lines[2].text, lines[2].cont, lines[2].host) == (
        "active_file:6418 inactive_file:3869 isolated_file:2",
        True,
        "host",
    )


def test_journalctl_boot_marker() -> None:
    lines = norm(
        "-- Boot 3f5a9c2e8d4b4c6f9e1a2b3c4d5e6f70 --",
        "Dec 14 17:13:12 host kernel: msg",
        "-- Reboot --",
        "Dec 14 17:20:00 host kernel: msg",
    )
    assert [x.boot_id for x in lines] == ["3f5a9c2e8d4b4c6f9e1a2b3c4d5e6f70", None]


# --- journalctl JSON ------------------------------------------------------------------------

JSON_ENTRY = (
    '{"__REALTIME_TIMESTAMP":"1723427643123456","__MONOTONIC_TIMESTAMP":"2993700000",'
    '"_BOOT_ID":"3f5a9c2e8d4b4c6f9e1a2b3c4d5e6f70","PRIORITY":"3","SYSLOG_FACILITY":"0",'
    '"SYSLOG_IDENTIFIER":"kernel","_TRANSPORT":"kernel","_HOSTNAME":"node1",'
    '"_SOURCE_MONOTONIC_TIMESTAMP":"2993661240",'
    '"MESSAGE":"Out of memory: Killed process 22609 (node)"}'
)


def test_journal_json() -> None:
    line = one(JSON_ENTRY)
    assert line == LogLine(
        line_no=1,
        path="t.log",
        text="Out of memory: Killed process 22609 (node)",
        host="node1",
        wall="2024-08-12T01:54:03.123456+00:00",
        uptime_s=2993.66124,
        boot_id="3f5a9c2e8d4b4c6f9e1a2b3c4d5e6f70",
        level=3,
    )


def test_journal_json_seq_and_multiline_message() -> None:
    entry = (
        '\x1e{"MESSAGE":"active_anon:1 inactive_anon:2\\n active_file:3\\n","_TRANSPORT":"kernel"}'
    )
    lines = norm(entry)
    assert [(x.text, x.cont, x.line_no) for x in lines] == [
        ("active_anon:1 inactive_anon:2", False, 1),
        ("active_file:3", True, 1),
    ]


def test_journal_json_byte_array_message() -> None:
    # MESSAGE that is not UTF-8 is a list of byte values
    entry = '{"MESSAGE":[75,105,108,108,101,100,32,40,255,41],"_TRANSPORT":"kernel"}'
    assert one(entry).text == "Killed (\\xff)"


def test_journal_json_other_programs() -> None:
    logger = '{"MESSAGE":"Start for oom-killer","SYSLOG_IDENTIFIER":"kernel","_TRANSPORT":"syslog"}'
    assert not one(logger).kernel
    assert not one('{"MESSAGE":"x","SYSLOG_IDENTIFIER":"containerd"}').kernel
    assert one('{"MESSAGE":"x","SYSLOG_IDENTIFIER":"kernel"}').kernel


@pytest.mark.parametrize(
    "raw",
    [
        '{"MESSAGE":"cut short',
        '{"Source":"kernel-monitor","Events":[]}',
        "{" + "[" * 5000,
        '{"MESSAGE":null,"PRIORITY":"99","_SOURCE_MONOTONIC_TIMESTAMP":"' + "9" * 5000 + '"}',
    ],
)
def test_journal_json_invalid_is_text(raw: str) -> None:
    line = one(raw)
    assert line.uptime_s is None
    assert line.text in (raw, "")


# --- pastes ---------------------------------------------------------------------------------


def test_email_quote_and_crlf() -> None:
    # 035-2.6.34-rc1: every line quoted with "> "
    line = one(
        b"> Mar 13 13:05:56 localhost kernel: rsyslogd invoked oom-killer: gfp_mask=0x201da\r"
    )
    assert (line.host, line.text) == ("localhost", "rsyslogd invoked oom-killer: gfp_mask=0x201da")
    assert one("> > [ 1.000000] x").text == "x"


def test_bare_kernel_prefix_and_leading_space() -> None:
    assert one("kernel: Killed process 3161 (mysqld)").text == "Killed process 3161 (mysqld)"
    line = one("  runc:[2:INIT] invoked oom-killer: gfp_mask=0x500cc2(GFP_HIGHUSER|__GFP_ACCOUNT)")
    assert (line.text, line.cont) == (
        "runc:[2:INIT] invoked oom-killer: gfp_mask=0x500cc2(GFP_HIGHUSER|__GFP_ACCOUNT)",
        False,
    )


def test_bare_text_is_never_cont() -> None:
    lines = case("oomanalyser-archlinux-6.1.log")
    assert not any(x.cont for x in lines)
    assert lines[0].text.startswith("doxygen invoked oom-killer")


def test_unprefixed_lines_continue_the_record_before() -> None:
    # 015-5.4-arm64 mail-wrapped: the rest of the trigger line has no stamp
    first, rest = norm(
        "[330319.766059] systemd invoked oom-killer: ",
        "gfp_mask=0x40cc0(GFP_KERNEL|__GFP_COMP), order=1, oom_score_adj=0",
    )
    assert (first.text, first.cont) == ("systemd invoked oom-killer:", False)
    assert (rest.cont, rest.uptime_s, rest.line_no) == (True, 330319.766059, 2)


def test_gap_forgets_the_record_before() -> None:
    n = Normalizer("t.log", now=NOW)
    n.feed(1, b"Oct 12 19:00:20 h kernel: [ 1.0] Mem-Info:")
    n.gap()
    (line,) = n.feed(7, b"  active_file:6418")
    assert (line.cont, line.host, line.uptime_s) == (False, None, None)


def test_backslash_hard_wrap_is_joined() -> None:
    # 009-4.10-next: "sh\" + "mem_pmdmapped" and "managed:1866768kB\" + " mlocked:0kB"
    n = Normalizer("t.log", now=NOW)
    assert n.feed(1, b"[  184.482955] Node 0 shmem:0kB shmem_thp: 0kB sh\\") == []
    (joined,) = n.feed(2, b"mem_pmdmapped: 258048kB anon_thp: 14184kB")
    assert (
        joined.text == "Node 0 shmem:0kB shmem_thp: 0kB shmem_pmdmapped: 258048kB anon_thp: 14184kB"
    )
    assert (joined.line_no, joined.uptime_s, joined.cont) == (1, 184.482955, False)
    lines = norm("[  1.0] managed:1866768kB\\", " mlocked:0kB\\", "x:1kB", "[  2.0] next")
    assert [x.text for x in lines] == ["managed:1866768kB mlocked:0kBx:1kB", "next"]


def test_backslash_before_a_prefixed_line_or_gap_stays() -> None:
    assert [x.text for x in norm("[  1.0] a\\", "[  2.0] b")] == ["a\\", "b"]
    n = Normalizer("t.log", now=NOW)
    assert n.feed(1, b"[  1.0] a\\") == []
    n.gap()
    assert [x.text for x in n.feed(9, b"b")] == ["a\\", "b"]
    assert n.flush() == []


def test_corpus_cases_keep_their_kernel_lines() -> None:
    # every case file goes through without error; spot checks of what the parser relies on
    for path in sorted(CASES.glob("*.log")):
        lines = norm(*path.read_bytes().removesuffix(b"\n").split(b"\n"))
        assert lines, path.name
    kills = [x for x in case("010-*.log") if "Killed process 183960" in x.text]
    assert [(x.kernel, x.uptime_s) for x in kills] == [(True, 8523.347333), (False, None)]
    rows = case("cadvisor-system-4.8-kmsg.log")
    assert not any("SUBSYSTEM=" in x.text for x in rows)
    proxmox = case("oomanalyser-proxmox-cgroup-5.15.log")
    assert all(x.wall == "2025-08-12T03:54:03" for x in proxmox if x.text)


# --- robustness -----------------------------------------------------------------------------


def test_month_names() -> None:
    assert [month_number(m) for m in ("Jan", "févr.", "Mär", "mayo", "сен", "12月", "Foo")] == [
        1, 2, 3, 5, 9, 12, None,
    ]  # fmt: skip


def test_huge_line_is_cut_and_cheap() -> None:
    raw = b"[ 1.0] " + b"x" * (10 * 1024 * 1024)
    start = time.perf_counter()
    (line,) = norm(raw)
    assert time.perf_counter() - start < 0.5
    assert len(line.text) <= MAX_LINE_BYTES
    assert line.uptime_s == 1.0


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8), st.booleans())
def test_feed_never_raises(lines: list[bytes], gap: bool) -> None:
    n = Normalizer("fuzz", now=NOW)
    for no, raw in enumerate(lines, 1):
        for line in n.feed(no, raw):
            assert isinstance(line.text, str)
        if gap:
            n.gap()
    n.flush()


PREFIXES = [
    "[ 1.0] ",
    "<4>",
    "6,1,2,-;",
    "Oct 12 19:00:20 h ",
    "kernel:",
    "{",
    "\x1e{",
    "> ",
    " ",
    "-- ",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PREFIXES), st.text(max_size=80)), max_size=8))
def test_feed_never_raises_on_near_misses(lines: list[tuple[str, str]]) -> None:
    n = Normalizer("fuzz", now=NOW)
    for no, (prefix, rest) in enumerate(lines, 1):
        n.feed(no, (prefix + rest).encode("utf-8", "surrogatepass"))
    n.flush()


def test_colors_and_byte_order_mark() -> None:
    line = one(
        b"\xef\xbb\xbf\x1b[32m[  621.423101] \x1b[0m\x1b[33mOut of memory: \x1b[0mKilled process 1"
    )
    assert (line.uptime_s, line.text) == (621.423101, "Out of memory: Killed process 1")


def test_rfc5424_syslog_line() -> None:
    # rsyslog RSYSLOG_SyslogProtocol23Format / syslog-ng forwarding
    (line,) = Normalizer("x").feed(
        1,
        b"<4>1 2026-11-25T10:00:00.123456+00:00 node7 kernel - - - [  231.643153] "
        b"python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
    )
    assert line.text.startswith("python3 invoked oom-killer:")
    assert (line.host, line.wall, line.uptime_s, line.level, line.kernel) == (
        "node7",
        "2026-11-25T10:00:00.123456+00:00",
        231.643153,
        4,
        True,
    )


def test_rfc5424_from_another_program_is_not_kernel() -> None:
    (line,) = Normalizer("x").feed(1, b"<30>1 2026-11-25T10:00:00Z node7 systemd 1 - - Started x")
    assert not line.kernel and line.text == "Started x"


def test_log_shipper_json_keeps_the_inner_prefix() -> None:
    # Docker json-file: {"log": "<the dmesg line>\n", "stream": ..., "time": ...}
    raw = (
        b'{"log":"[  231.643644] Memory cgroup out of memory: Killed process 3775 (python3)\\n",'
        b'"stream":"stdout","time":"2026-11-25T10:00:00Z","host":"node3"}'
    )
    (line,) = Normalizer("x").feed(7, raw)
    assert line.text == "Memory cgroup out of memory: Killed process 3775 (python3)"
    assert (line.line_no, line.uptime_s, line.host) == (7, 231.643644, "node3")
