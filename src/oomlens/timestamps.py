"""Wall-clock stamps of log containers turned into ISO-8601 strings.

Helpers for `containers`: month names in several languages (localized `dmesg -T` and
`journalctl` output), the year of year-less syslog stamps, and the shapes of ISO stamps that
dmesg, rsyslog and journalctl print. Every function returns `None` instead of raising when a
stamp cannot be read: a bad date only loses `LogLine.wall`, never the line.
"""

from __future__ import annotations

import datetime
import re
from typing import NamedTuple

# Abbreviated and full month names, lower-cased, trailing "." removed. Abbreviations are the
# glibc `abmon` strings of each locale (strftime %b, which `dmesg -T` and `journalctl` use).
_MONTH_NAMES: tuple[tuple[str, ...], ...] = (
    # en, de, fr, es, it, pt, nl, ru, pl, sv/da
    ("jan", "january", "januar", "janv", "janvier", "ene", "enero", "gen", "gennaio", "janeiro",
     "januari", "янв", "января", "январь", "sty", "stycznia", "styczeń"),
    ("feb", "february", "februar", "févr", "fevr", "février", "febrero", "febbraio", "fev",
     "fevereiro", "februari", "фев", "февраля", "февраль", "lut", "lutego", "luty"),
    ("mar", "march", "mär", "märz", "maerz", "mars", "marzo", "março", "marco", "mrt", "maart",
     "мар", "марта", "март", "marca", "marzec"),
    ("apr", "april", "avr", "avril", "abr", "abril", "aprile", "апр", "апреля", "апрель", "kwi",
     "kwietnia", "kwiecień"),
    ("may", "mai", "mayo", "mag", "maggio", "maio", "mei", "мая", "май", "maj", "maja"),
    ("jun", "june", "juni", "juin", "junio", "giu", "giugno", "junho", "июн", "июня", "июнь",
     "cze", "czerwca", "czerwiec"),
    ("jul", "july", "juli", "juil", "juillet", "julio", "lug", "luglio", "julho", "июл", "июля",
     "июль", "lip", "lipca", "lipiec"),
    ("aug", "august", "août", "aout", "ago", "agosto", "augustus", "авг", "августа", "август",
     "sie", "sierpnia", "sierpień"),
    ("sep", "sept", "september", "septembre", "septiembre", "set", "settembre", "setembro",
     "сен", "сент", "сентября", "сентябрь", "wrz", "września", "wrzesień"),
    ("oct", "october", "okt", "oktober", "octobre", "octubre", "ott", "ottobre", "out",
     "outubro", "oktober", "окт", "октября", "октябрь", "paź", "października", "październik"),
    ("nov", "november", "novembre", "noviembre", "novembro", "ноя", "ноября", "ноябрь", "lis",
     "listopada", "listopad"),
    ("dec", "december", "dez", "dezember", "déc", "decembre", "décembre", "dic", "diciembre",
     "dicembre", "dezembro", "дек", "декабря", "декабрь", "gru", "grudnia", "grudzień"),
)  # fmt: skip
MONTHS: dict[str, int] = {name: i for i, names in enumerate(_MONTH_NAMES, 1) for name in names}

# CJK locales write the month as a number and a unit: ja_JP/zh_CN " 1月", ko_KR " 1월".
# "1月"
_NUMERIC_MONTH = re.compile(r"(\d{1,2})\D{0,2}")


def month_number(token: str) -> int | None:
    """Month 1-12 from a month name or abbreviation in one of the known locales, else None."""
    word = token.strip().rstrip(".").lower()
    found = MONTHS.get(word) or MONTHS.get(word[:4]) or MONTHS.get(word[:3])
    if found is not None:
        return found
    numeric = _NUMERIC_MONTH.fullmatch(word)
    if numeric is not None and 1 <= int(numeric.group(1)) <= 12:
        return int(numeric.group(1))
    return None


def _fraction_us(fraction: str | None) -> int:
    """Microseconds from the digits after the decimal point ("123456", "123", "")."""
    if not fraction:
        return 0
    return int(fraction[:6].ljust(6, "0"))


def syslog_wall(
    month: str, day: str, clock: str, fraction: str | None, now: datetime.datetime
) -> str | None:
    """ISO time of a year-less `Oct 12 19:00:20` stamp: `now`'s year, or the one before.

    RFC 3164 stamps have no year; a date more than a day after `now` is from last year.
    """
    mon = month_number(month)
    if mon is None:
        return None
    try:
        hour, minute, second = (int(part) for part in clock.split(":"))
        dom = int(day)
        limit = now.replace(tzinfo=None) + datetime.timedelta(days=1)
        for year in range(now.year, now.year - 8, -1):  # Feb 29 waits up to 8 years
            try:
                stamp = datetime.datetime(
                    year, mon, dom, hour, minute, second, _fraction_us(fraction)
                )
            except ValueError:
                continue
            if stamp <= limit:
                return stamp.isoformat()
    except ValueError:
        return None
    return None


def ctime_wall(month: str, day: str, hour: str, minute: str, second: str, year: str) -> str | None:
    """ISO time of a `dmesg -T` stamp's fields (`Tue Aug 12 03:54:03 2025`), or None."""
    mon = month_number(month)
    if mon is None:
        return None
    try:
        stamp = datetime.datetime(int(year), mon, int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    return stamp.isoformat()


# `dmesg --time-format=iso` (util-linux 2.25+): "2025-08-12T03:54:03,123456+02:00" (comma);
# rsyslog RFC3339: "2025-08-12T03:54:03.123456+02:00"; journalctl short-iso: "...03+0200".
ISO_STAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?"
)


def iso_wall(match: re.Match[str]) -> str | None:
    """Normalized ISO string (dot fraction, `+HH:MM` offset) of an `ISO_STAMP` match, or None."""
    year, mon, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz: datetime.tzinfo | None = None
        if zone == "Z":
            tz = datetime.timezone.utc
        elif zone:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            tz = datetime.timezone(sign * offset)
        stamp = datetime.datetime(
            int(year), int(mon), int(day), int(hour), int(minute), int(second),
            _fraction_us(fraction), tzinfo=tz,
        )  # fmt: skip
    except ValueError:
        return None
    return stamp.isoformat()


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def epoch_us_wall(microseconds: int) -> str | None:
    """ISO UTC time of a count of microseconds since the Unix epoch (journal stamps), or None."""
    try:
        return (_EPOCH + datetime.timedelta(microseconds=microseconds)).isoformat()
    except OverflowError:
        return None


# --- bracketed stamps at the start of a message: dmesg, console ------------------------------
# "[  621.423101] msg"; console with CONFIG_PRINTK_CALLER (v5.1, "printk: Add caller
# information to printk() output."): "[ 2993.661240][ T1234] msg", "[    3.1][    C3] msg";
# util-linux dmesg prints the caller after a space: "[ 2993.661240] [ T1234] msg";
# `dmesg -d`: "[  621.423101 <    0.000123>] msg".
_UPTIME = re.compile(r"\[\s*(\d{1,12}\.\d{1,9})(?:\s*<\s*[\d.]+>)?\](?:\s?\[\s*([TC]\d+)\])?")
# `dmesg -T` (util-linux strftime "%a %b %e %H:%M:%S %Y", translated per locale, so the day
# and month may swap): "[Wed Nov 25 18:09:27 2026]", "[Di Aug 12 03:54:03 2025]",
# "[月  1月 26 10:11:12 2026]"; with `-d`: "[Wed Nov 25 18:09:27 2026 <    0.000123>]".
_CTIME = re.compile(
    r"\[\S+\s+(\S+)\s+(\S+)\s+(\d{1,2}):(\d\d):(\d\d)\s+(\d{4})(?:\s*<\s*[\d.]+>)?\]"
    r"(?:\s?\[\s*([TC]\d+)\])?"
)
# Any other bracketed local time: a translation that moved the year: "[2026年 1月26日 10:11:12]".
_ANY_CLOCK = re.compile(r"\[[^\[\]]{0,40}\d{1,2}:\d\d:\d\d[^\[\]]{0,40}\]")
# `dmesg -e` / `--time-format=reltime` (util-linux "%b%e %H:%M", then deltas):
# "[Nov25 18:09] msg", "[Nov 5 18:09] msg", "[  +0.000123] msg"; `dmesg -d -t`: "[<    0.000123>]".
_RELTIME = re.compile(
    r"\[([^\W\d_]+\.?) ?(\d{1,2}) (\d\d:\d\d)\]|\[\s*(?:[+-]\d+\.\d+|<[\s\d.]+>)\]"
)


class Stamp(NamedTuple):
    """What a bracketed stamp at the start of a message says, and the text after it."""

    rest: str
    uptime_s: float | None = None
    caller: str | None = None
    wall: str | None = None


def bracket_stamp(s: str, now: datetime.datetime) -> Stamp | None:
    """The dmesg-style `[...]` stamp that `s` starts with, or None when it has none."""
    m = _UPTIME.match(s)
    if m is not None:
        return Stamp(s[m.end() :], uptime_s=float(m.group(1)), caller=m.group(2))
    m = _CTIME.match(s)
    if m is not None:
        first, second, hour, minute, sec, year, caller = m.groups()
        day, month = (first, second) if first.rstrip(".").isdigit() else (second, first)
        wall = ctime_wall(month, day.rstrip("."), hour, minute, sec, year)
        return Stamp(s[m.end() :], caller=caller, wall=wall)
    m = _RELTIME.match(s)
    if m is not None:
        wall = None
        if m.group(1) is not None:
            wall = syslog_wall(m.group(1), m.group(2), m.group(3) + ":00", None, now)
        return Stamp(s[m.end() :], wall=wall)
    m = _ANY_CLOCK.match(s)
    if m is not None:
        return Stamp(s[m.end() :])
    return None
