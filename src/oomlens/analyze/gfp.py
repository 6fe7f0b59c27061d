"""Decode GFP allocation masks to flag names, for the kernel release that printed them.

Since 4.5 the kernel names the flags itself (`gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|
__GFP_COMP)`); older reports print hex only (`gfp_mask=0x280da`), and the bits moved around
several times. `decode()` picks the table of the release's era (`gfp_tables.ERAS`) and renders
the mask the way the kernel's `%pGg` does, so old and new reports read alike. Without a
release it guesses the era from the mask and says so (`era_guessed`).

    >>> decode(0x280DA, "3.10.0-514.el7").text
    'GFP_HIGHUSER_MOVABLE|__GFP_ZERO'
"""

from __future__ import annotations

from dataclasses import dataclass

from oomlens.analyze.gfp_tables import ALL_NAMES, BY_NAME, ERAS, Era, Version
from oomlens.errors import OomlensError

__all__ = [
    "GfpDecoding",
    "GfpMaskError",
    "decode",
    "describe",
    "era_for",
    "parse_printed",
    "parse_release",
]

_NEWEST = ERAS[-1].name
_MAX_MASK = 0xFFFFFFFF  # gfp_t is an unsigned int


class GfpMaskError(OomlensError, ValueError):
    """A GFP mask, flag name or era that cannot be decoded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GfpDecoding:
    """One mask read with the flag table of one kernel era."""

    mask: int
    era: str  # the table used, e.g. "4.10-4.12" (see gfp_tables.ERAS)
    era_guessed: bool  # True: no usable kernel release, the era was guessed from the mask
    names: tuple[str, ...]  # %pGg rendering: composites first, then __GFP_* bits
    unknown_bits: int  # bits with no name in that era (printed as a trailing "0x..")
    text: str  # exactly what %pGg prints: "GFP_HIGHUSER_MOVABLE|__GFP_COMP"

    def has(self, flag: str) -> bool:
        """Whether every bit of `flag` (a single or composite name) is set in this era.

        Eras before 4.4 had one __GFP_WAIT bit where later kernels have DIRECT_RECLAIM:
        either name works in either era. Before 4.4 kswapd was woken unless
        __GFP_NO_KSWAPD said otherwise, so __GFP_KSWAPD_RECLAIM is true there without it.
        A name no era defines raises GfpMaskError (a typo must not read as "not set").
        """
        era = BY_NAME[self.era]
        values = era.values
        if era.wait:
            if flag in ("__GFP_DIRECT_RECLAIM", "__GFP_RECLAIM"):
                flag = "__GFP_WAIT"
            elif flag == "__GFP_KSWAPD_RECLAIM":
                return not self.mask & values.get("__GFP_NO_KSWAPD", 0)
        elif flag == "__GFP_WAIT":
            flag = "__GFP_DIRECT_RECLAIM"
        elif flag == "__GFP_NO_KSWAPD":
            return not self.mask & values["__GFP_KSWAPD_RECLAIM"]
        value = values.get(flag)
        if value:
            return self.mask & value == value
        if flag in ALL_NAMES:
            return False  # defined in another era, or 0 in this one
        raise GfpMaskError(f"unknown GFP flag name {flag!r}")


def parse_release(release: str | None) -> Version | None:
    """The kernel version in a release string: "3.10.0-514.el7" -> (3, 10).

    2.6 kernels keep their third number, which was the feature release then:
    "2.6.32-642.el6" -> (2, 6, 32). None when the string does not start with a version.
    """
    if not release:
        return None
    head = release.strip().removeprefix("v")
    end = 0
    while end < len(head) and (head[end].isdigit() or head[end] == "."):
        end += 1
    parts = [p for p in head[:end].split(".") if p]
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    major, minor = int(parts[0]), int(parts[1])
    if (major, minor) == (2, 6) and len(parts) > 2:
        return (2, 6, int(parts[2]))
    return (major, minor)


def era_for(release: str | None, mask: int | None = None) -> tuple[str, bool]:
    """The era table for a release, and whether it had to be guessed (from `mask`).

    Guess rule, when the release is missing or unreadable: the kernel only enters the OOM
    killer for allocations that may reclaim, so the mask nearly always carries its era's
    reclaim bits, and those moved in every big reshuffle. Checked in this order:

    - DIRECT|KSWAPD = 0xc00, or a lone KSWAPD 0x800 with no older-layout reclaim bit (5.1+):
      "5.14-5.17" if GFP_HIGHUSER_MOVABLE comes with 0x1000000 (SKIP_KASAN_POISON was set on
      every user page then), "5.18-6.2" if __GFP_ATOMIC 0x200 is set, else the newest era;
    - 0x2400000 (4.4-4.9): "4.8-4.9" when __GFP_ACCOUNT 0x100000 is set, else "4.4", the
      last release that printed hex only;
    - 0x1400000 (4.10-4.17): "4.14", whose table also names COLD and NOTRACK;
    - 0x600000 (4.18-5.0): "4.18-5.0";
    - __GFP_WAIT 0x10 below 0x2000000 (before 4.4): "3.8-3.15", the table that names every
      bit of the __GFP_WAIT layout (0x100000 is KMEMCG there, NOACCOUNT in 4.1-4.3);
    - a lone KSWAPD bit of an older layout: 0x2000000 -> "4.4", 0x1000000 -> "4.14",
      0x400000 -> "4.18-5.0"; nothing at all -> the newest era.
    """
    version = parse_release(release)
    if version is not None:
        return _era_of_version(version).name, False
    return _guess(mask or 0), True


def decode(mask: int | str, release: str | None = None, *, era: str | None = None) -> GfpDecoding:
    """Name the flags of `mask` (an int, "0x280da" or "0x140cca(...)") like %pGg does.

    The table is `era` if given, else the era of `release`, else one guessed from the mask
    (see `era_for`; `era_guessed` is then True).
    """
    value = parse_printed(mask)[0] if isinstance(mask, str) else mask
    if not 0 <= value <= _MAX_MASK:
        raise GfpMaskError(f"GFP mask {value:#x} does not fit in 32 bits")
    if era is not None:
        if era not in BY_NAME:
            raise GfpMaskError(f"unknown GFP era {era!r} (known: {', '.join(BY_NAME)})")
        name, guessed = era, False
    else:
        name, guessed = era_for(release, value)
    names, rest = _render(value, BY_NAME[name])
    text = "|".join([*names, f"{rest:#x}"] if rest else names)
    return GfpDecoding(
        mask=value, era=name, era_guessed=guessed, names=names, unknown_bits=rest, text=text
    )


def parse_printed(text: str) -> tuple[int, tuple[str, ...] | None]:
    """Split a printed mask: "0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)" -> (0x140cca,
    ("GFP_HIGHUSER_MOVABLE", "__GFP_COMP")); "0x280da" -> (0x280da, None); "0x0()" -> (0, ()).

    A hex remainder the kernel appended ("...|0x1000000") stays a token of its own. A leading
    "gfp_mask=" or "mode:" and a trailing comma are ignored.
    """
    s = text.strip().rstrip(",").strip()
    for prefix in ("gfp_mask=", "mode:"):
        s = s.removeprefix(prefix)
    hex_part, paren, rest = s.partition("(")
    digits = hex_part.strip().lower().removeprefix("0x")
    if not hex_part.strip().lower().startswith("0x") or not _is_hex(digits):
        raise GfpMaskError(f"not a printed GFP mask: {text!r}")
    value = int(digits, 16)
    if not paren:
        return value, None
    if not rest.endswith(")"):
        raise GfpMaskError(f"unclosed flag list in GFP mask: {text!r}")
    return value, tuple(t for t in rest[:-1].split("|") if t)


def describe(d: GfpDecoding) -> list[str]:
    """Short plain-English meanings of a decoded mask, most telling first."""
    if d.mask == 0:
        return ["no flags: page-fault OOM (before 5.16) or a manual one", *_guess_note(d)]
    out: list[str] = []
    if d.has("__GFP_DIRECT_RECLAIM"):
        out.append("can sleep / direct reclaim")
        if not d.has("__GFP_KSWAPD_RECLAIM"):
            out.append("does not wake kswapd")
        # IO and FS only matter to an allocation that reclaims itself
        if d.has("__GFP_IO"):
            out.append("may do IO")
        if d.has("__GFP_FS"):
            out.append("may call into FS")
    else:
        reserves = d.has("__GFP_HIGH") or d.has("__GFP_ATOMIC")
        out.append("atomic: cannot sleep" + (", may use reserves" if reserves else ""))
    out.append(_who(d))
    for flag, meaning in _MEANINGS:
        if d.has(flag):
            out.append(meaning)
    if d.unknown_bits:
        out.append(f"bits with no name in {d.era}: {d.unknown_bits:#x}")
    return out + _guess_note(d)


# ---------------------------------------------------------------------------------------


def _who(d: GfpDecoding) -> str:
    """Whose page this is, and whether a memory cgroup is charged for it."""
    accounted = d.has("__GFP_ACCOUNT") or d.has("__GFP_KMEMCG")
    if d.has("GFP_TRANSHUGE_LIGHT") or d.has("GFP_TRANSHUGE"):
        who = "transparent huge page"
    elif d.has("__GFP_HARDWALL") and d.has("__GFP_MOVABLE"):
        who = "user page (movable)"
    elif d.has("__GFP_HARDWALL"):
        who = "user page"
    else:
        who = "kernel allocation"
    return who + (", memcg-accounted" if accounted else "")


_MEANINGS = (
    ("__GFP_COMP", "high-order compound page"),
    ("__GFP_ZERO", "zeroed page"),
    ("__GFP_RECLAIMABLE", "reclaimable (slab with a shrinker)"),
    ("__GFP_DMA", "DMA zone only"),
    ("__GFP_DMA32", "DMA32 zone only (below 4 GiB)"),
    ("__GFP_THISNODE", "this NUMA node only"),
    ("__GFP_NOFAIL", "must not fail: retries forever"),
    ("__GFP_REPEAT", "tries hard, may fail"),
    ("__GFP_RETRY_MAYFAIL", "retries hard, may fail"),
    ("__GFP_NORETRY", "gives up early"),
    ("__GFP_MEMALLOC", "may use all emergency reserves"),
    ("__GFP_NOMEMALLOC", "no emergency reserves"),
    ("__GFP_NOWARN", "failure warning suppressed"),
    ("__GFP_WRITE", "page will be dirtied"),
    ("__GFP_COLD", "cache-cold page"),
)


def _guess_note(d: GfpDecoding) -> list[str]:
    if not d.era_guessed:
        return []
    return [f"bit meanings of kernel {d.era} (a guess: the kernel release is not known)"]


def _is_hex(digits: str) -> bool:
    return bool(digits) and all(c in "0123456789abcdef" for c in digits)


def _render(mask: int, era: Era) -> tuple[tuple[str, ...], int]:
    """lib/vsprintf.c format_flags(): take each table entry whose bits are all still set."""
    names: list[str] = []
    rest = mask
    for name, value in era.table:
        if not rest:
            break
        if rest & value == value:
            names.append(name)
            rest &= ~value
    return tuple(names), rest


def _era_of_version(version: Version) -> Era:
    chosen = ERAS[0]
    for era in ERAS:
        if era.first <= version:
            chosen = era
    return chosen


def _guess(mask: int) -> str:
    if mask & 0xC00 == 0xC00 or (mask & 0x800 and not mask & 0x3600010):
        return _guess_5_1(mask)
    if mask & 0x2400000 == 0x2400000:
        return "4.8-4.9" if mask & 0x100000 else "4.4"
    if mask & 0x1400000 == 0x1400000:
        return "4.14"
    if mask & 0x600000 == 0x600000:
        return "4.18-5.0"
    if mask & 0x10 and mask < 0x2000000:
        return "3.8-3.15"
    for bit, era in ((0x2000000, "4.4"), (0x1000000, "4.14"), (0x400000, "4.18-5.0")):
        if mask & bit:
            return era
    return _NEWEST


def _guess_5_1(mask: int) -> str:
    if mask & 0x1000000 and mask & 0x100CCA == 0x100CCA:
        return "5.14-5.17"
    return "5.18-6.2" if mask & 0x200 else _NEWEST
