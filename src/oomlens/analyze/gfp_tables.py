"""GFP flag tables by kernel era: bit values, composite masks and the %pGg name order.

Read from include/linux/gfp.h (gfp_types.h from 6.0) and include/trace/events/mmflags.h
(gfpflags.h before 4.5) at each boundary below. An era starts where a fixed bit, a composite
or the name order changed; the comment at each boundary names the kernel commit.

Config-dependent bits are left out, so they decode as unknown hex, as the kernel prints them:
__GFP_NOLOCKDEP (4.12+, CONFIG_LOCKDEP), the KASAN HW_TAGS bits from 5.18 and everything at or
above 0x1000000 from 6.10, where gfp_types.h became an enum that packs the conditional bits.
__GFP_NOTRACK is kept although it is 0 without CONFIG_KMEMCHECK before ~3.10: its bit has no
other meaning, and those kernels printed no names to match anyway.

Before 4.5 the OOM report printed the mask in hex only; for those eras the table is ours,
built the way mmflags.h later did it (composites first, then single bits), so that old and
new reports read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

Version = tuple[int, ...]  # (major, minor); 2.6 kernels carry a third number: (2, 6, 32)


@dataclass(frozen=True, slots=True)
class Era:
    """The GFP flags of a range of kernel releases."""

    name: str  # "4.10-4.12": the releases it covers
    first: Version  # first release of the era
    printed: bool  # the kernel printed names itself (%pGg, 4.5+); else our rendering
    wait: bool  # __GFP_WAIT era: one bit for "may sleep", before the 4.4 split
    bits: Mapping[str, int]  # single flags with a fixed value: "__GFP_IO" -> 0x40
    table: tuple[tuple[str, int], ...]  # %pGg walk order, composites first; no zero values

    @property
    def values(self) -> Mapping[str, int]:
        """Every name the era knows (single and composite) with its value."""
        return {**self.bits, **dict(self.table)}


# ---------------------------------------------------------------------------------------
# Single bits. Each layout derives from the one before it.

# 2.6.24 ("grouping pages by mobility") to 2.6.37. Older 2.6 kernels use this table too;
# they lacked MOVABLE and RECLAIMABLE, so those bits are simply never set there.
_WAIT_BASE = {
    "__GFP_DMA": 0x1,
    "__GFP_HIGHMEM": 0x2,
    "__GFP_DMA32": 0x4,
    "__GFP_MOVABLE": 0x8,
    "__GFP_WAIT": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_COLD": 0x100,
    "__GFP_NOWARN": 0x200,
    "__GFP_REPEAT": 0x400,
    "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000,
    "__GFP_COMP": 0x4000,
    "__GFP_ZERO": 0x8000,
    "__GFP_NOMEMALLOC": 0x10000,
    "__GFP_HARDWALL": 0x20000,
    "__GFP_THISNODE": 0x40000,
    "__GFP_RECLAIMABLE": 0x80000,
    "__GFP_NOTRACK": 0x200000,
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _derive(base: Mapping[str, int], *drop: str, **add: int) -> dict[str, int]:
    out = {k: v for k, v in base.items() if k not in drop}
    out.update({f"__GFP_{k}": v for k, v in add.items()})
    return out


# "thp: _GFP_NO_KSWAPD" (v2.6.38)
_B_2_6_38 = _derive(_WAIT_BASE, NO_KSWAPD=0x400000)
# "Add __GFP_OTHER_NODE flag" (Andi Kleen, v2.6.39)
_B_2_6_39 = _derive(_B_2_6_38, OTHER_NODE=0x800000)
# "mm: try to distribute dirty pages fairly across zones" (v3.3)
_B_3_3 = _derive(_B_2_6_39, WRITE=0x1000000)
# "mm: introduce __GFP_MEMALLOC to allow access to emergency reserves" (v3.6)
_B_3_6 = _derive(_B_3_3, MEMALLOC=0x2000)
# "mm: add a __GFP_KMEMCG flag" (v3.8)
_B_3_8 = _derive(_B_3_6, KMEMCG=0x100000)
# "mm: get rid of __GFP_KMEMCG" (v3.16)
_B_3_16 = _derive(_B_3_8, "__GFP_KMEMCG")
# "gfp: add __GFP_NOACCOUNT" (v4.1)
_B_4_1 = _derive(_B_3_16, NOACCOUNT=0x100000)
# "mm, page_alloc: use masks and shifts when converting GFP flags to migrate types" and
# "mm, page_alloc: distinguish between being unable to sleep, unwilling to sleep and
# avoiding waking kswapd" (v4.4): __GFP_WAIT splits into DIRECT_RECLAIM|KSWAPD_RECLAIM.
_B_4_4 = _derive(
    _B_4_1,
    "__GFP_WAIT",
    "__GFP_NO_KSWAPD",
    RECLAIMABLE=0x10,
    ATOMIC=0x80000,
    DIRECT_RECLAIM=0x400000,
    KSWAPD_RECLAIM=0x2000000,
)
# "memcg: only account kmem allocations marked as __GFP_ACCOUNT" (v4.5)
_B_4_5 = _derive(_B_4_4, "__GFP_NOACCOUNT", ACCOUNT=0x100000)
# "mm: get rid of __GFP_OTHER_NODE" (v4.10): WRITE and KSWAPD_RECLAIM move down
_B_4_10 = _derive(_B_4_5, "__GFP_OTHER_NODE", WRITE=0x800000, KSWAPD_RECLAIM=0x1000000)
# "mm, tree wide: replace __GFP_REPEAT by __GFP_RETRY_MAYFAIL with more useful semantic"
# (v4.13)
_B_4_13 = _derive(_B_4_10, "__GFP_REPEAT", RETRY_MAYFAIL=0x400)
# "mm: remove __GFP_COLD" and "kmemcheck: remove whats left of NOTRACK flags" (v4.15)
_B_4_15 = _derive(_B_4_13, "__GFP_COLD", "__GFP_NOTRACK")
# "mm: save two stranding bit in gfp_mask" (v4.18)
_B_4_18 = _derive(_B_4_15, WRITE=0x100, DIRECT_RECLAIM=0x200000, KSWAPD_RECLAIM=0x400000)
# "mm: shuffle GFP_* flags" (v5.1)
_B_5_1 = {
    f"__GFP_{name}": 1 << i
    for i, name in enumerate(
        _words(
            "DMA HIGHMEM DMA32 MOVABLE RECLAIMABLE HIGH IO FS ZERO ATOMIC DIRECT_RECLAIM"
            " KSWAPD_RECLAIM WRITE NOWARN RETRY_MAYFAIL NOFAIL NORETRY MEMALLOC COMP NOMEMALLOC"
            " HARDWALL THISNODE ACCOUNT"
        )
    )
}
# "arm64: mte: handle tags zeroing at page allocation time" and "kasan: disable freed user
# page poisoning with HW tags" (v5.14). SKIP_KASAN_POISON is unconditional here and part of
# GFP_HIGHUSER_MOVABLE (5.15 x86 prints 0x1100cca(GFP_HIGHUSER_MOVABLE)). Their %pGg names
# came with "mmflags.h: add missing __GFP_ZEROTAGS and __GFP_SKIP_KASAN_POISON names" (Aug
# 2021, after 5.14-rc6, so most likely 5.15: a 5.14.0 kernel may print the two as hex).
_B_5_14 = _derive(_B_5_1, ZEROTAGS=0x800000, SKIP_KASAN_POISON=0x1000000)
# "kasan, mm: only define ___GFP_SKIP_KASAN_POISON with HW_TAGS" (v5.18)
_B_5_18 = _derive(_B_5_14, "__GFP_SKIP_KASAN_POISON")
# "mm: discard __GFP_ATOMIC" (Mel Gorman, v6.3): 0x200 stays unused
_B_6_3 = _derive(_B_5_18, "__GFP_ATOMIC")


# ---------------------------------------------------------------------------------------
# Composite masks, and the order in which %pGg tries names.


def _wait_composites(b: Mapping[str, int]) -> dict[str, int]:
    kernel = b["__GFP_WAIT"] | b["__GFP_IO"] | b["__GFP_FS"]
    user = kernel | b["__GFP_HARDWALL"]
    movable = user | b["__GFP_HIGHMEM"] | b["__GFP_MOVABLE"]
    out = {
        "GFP_HIGHUSER_MOVABLE": movable,
        "GFP_HIGHUSER": user | b["__GFP_HIGHMEM"],
        "GFP_USER": user,
        "GFP_TEMPORARY": kernel | b["__GFP_RECLAIMABLE"],
        "GFP_KERNEL": kernel,
        "GFP_NOFS": b["__GFP_WAIT"] | b["__GFP_IO"],
        "GFP_ATOMIC": b["__GFP_HIGH"],
        "GFP_NOIO": b["__GFP_WAIT"],
        "GFP_NOWAIT": 0,  # "This equals 0": dropped from the table
    }
    if "__GFP_NO_KSWAPD" in b:  # GFP_TRANSHUGE came with THP (v2.6.38)
        thp = ("__GFP_COMP", "__GFP_NOMEMALLOC", "__GFP_NORETRY", "__GFP_NOWARN", "__GFP_NO_KSWAPD")
        out["GFP_TRANSHUGE"] = movable | _or(b, thp)
    return out


def _or(b: Mapping[str, int], names: tuple[str, ...]) -> int:
    value = 0
    for name in names:
        value |= b[name]
    return value


def _reclaim_composites(
    b: Mapping[str, int], *, transhuge: str, temporary: bool, nowait_nowarn: bool
) -> dict[str, int]:
    reclaim = b["__GFP_DIRECT_RECLAIM"] | b["__GFP_KSWAPD_RECLAIM"]
    kernel = reclaim | b["__GFP_IO"] | b["__GFP_FS"]
    user = kernel | b["__GFP_HARDWALL"]
    movable = user | b["__GFP_HIGHMEM"] | b["__GFP_MOVABLE"] | b.get("__GFP_SKIP_KASAN_POISON", 0)
    out = {
        "GFP_HIGHUSER_MOVABLE": movable,
        "GFP_HIGHUSER": user | b["__GFP_HIGHMEM"],
        "GFP_USER": user,
        "GFP_KERNEL": kernel,
        "GFP_NOFS": reclaim | b["__GFP_IO"],
        "GFP_ATOMIC": b["__GFP_HIGH"] | b.get("__GFP_ATOMIC", 0) | b["__GFP_KSWAPD_RECLAIM"],
        "GFP_NOIO": reclaim,
        "GFP_NOWAIT": b["__GFP_KSWAPD_RECLAIM"] | (b["__GFP_NOWARN"] if nowait_nowarn else 0),
        "__GFP_RECLAIM": reclaim,
    }
    if "__GFP_ACCOUNT" in b:
        out["GFP_KERNEL_ACCOUNT"] = kernel | b["__GFP_ACCOUNT"]
    if temporary:
        out["GFP_TEMPORARY"] = kernel | b["__GFP_RECLAIMABLE"]
    thp = movable | _or(b, ("__GFP_COMP", "__GFP_NOMEMALLOC", "__GFP_NOWARN"))
    if transhuge == "light":
        # "mm, thp: remove __GFP_NORETRY from khugepaged and madvised allocations" (v4.8)
        out["GFP_TRANSHUGE_LIGHT"] = thp & ~reclaim
        out["GFP_TRANSHUGE"] = out["GFP_TRANSHUGE_LIGHT"] | b["__GFP_DIRECT_RECLAIM"]
    else:  # 4.4-4.5 clear only KSWAPD_RECLAIM; 4.6-4.7 clear both reclaim bits
        cleared = b["__GFP_KSWAPD_RECLAIM"] if transhuge == "nokswapd" else reclaim
        out["GFP_TRANSHUGE"] = (thp | b["__GFP_NORETRY"]) & ~cleared
    return out


_COMPOSITE_ORDER = _words(
    "GFP_TRANSHUGE GFP_TRANSHUGE_LIGHT GFP_HIGHUSER_MOVABLE GFP_HIGHUSER GFP_USER GFP_TEMPORARY"
    " GFP_KERNEL_ACCOUNT GFP_KERNEL GFP_NOFS GFP_ATOMIC GFP_NOIO GFP_NOWAIT GFP_DMA __GFP_HIGHMEM"
    " GFP_DMA32"
)
# mmflags.h as created by "mm, tracing: unify mm flags handling in tracepoints and printk"
# (v4.5), with later flags where they were appended. The pre-4.5 tables put __GFP_WAIT,
# __GFP_NO_KSWAPD, __GFP_KMEMCG and __GFP_NOACCOUNT where their successors sit.
_SINGLE_ORDER = _words(
    "HIGH WAIT ATOMIC IO FS COLD NOWARN REPEAT RETRY_MAYFAIL NOFAIL NORETRY COMP ZERO NOMEMALLOC"
    " MEMALLOC HARDWALL THISNODE RECLAIMABLE MOVABLE KMEMCG NOACCOUNT ACCOUNT NOTRACK WRITE"
    " RECLAIM DIRECT_RECLAIM KSWAPD_RECLAIM NO_KSWAPD OTHER_NODE ZEROTAGS SKIP_KASAN_POISON"
)
# "tracing: gfp: Remove duplication of recording GFP flags" (v6.15): the single bits follow
# the gfp_types.h enum, and __GFP_HIGHMEM left the composite block. It also ended the table
# with { 0, "none" }, which %pGg printed after every name until "tracing: gfp: vsprintf: Do
# not print "none" when using %pGg printf format" in the same merge window; not modelled.
_COMPOSITE_ORDER_6_15 = _words(
    "GFP_TRANSHUGE GFP_TRANSHUGE_LIGHT GFP_HIGHUSER_MOVABLE GFP_HIGHUSER GFP_USER"
    " GFP_KERNEL_ACCOUNT GFP_KERNEL GFP_NOFS GFP_ATOMIC GFP_NOIO GFP_NOWAIT GFP_DMA GFP_DMA32"
    " __GFP_RECLAIM"
)
_SINGLE_ORDER_6_15 = _words(
    "DMA HIGHMEM DMA32 MOVABLE RECLAIMABLE HIGH IO FS ZERO DIRECT_RECLAIM KSWAPD_RECLAIM WRITE"
    " NOWARN RETRY_MAYFAIL NOFAIL NORETRY MEMALLOC COMP NOMEMALLOC HARDWALL THISNODE ACCOUNT"
    " ZEROTAGS"
)


def _era(
    name: str,
    first: Version,
    bits: Mapping[str, int],
    composites: Mapping[str, int],
    *,
    printed: bool = True,
    order: tuple[tuple[str, ...], tuple[str, ...]] = (_COMPOSITE_ORDER, _SINGLE_ORDER),
) -> Era:
    values = {**bits, "GFP_DMA": bits["__GFP_DMA"], "GFP_DMA32": bits["__GFP_DMA32"]}
    values.update(composites)
    head, tail = order
    names = [*head, *(f"__GFP_{n}" for n in tail)]
    table = tuple((n, values[n]) for n in names if values.get(n))
    return Era(
        name=name,
        first=first,
        printed=printed,
        wait="__GFP_WAIT" in bits,
        bits=MappingProxyType(dict(bits)),
        table=table,
    )


def _wait(name: str, first: Version, bits: Mapping[str, int]) -> Era:
    return _era(name, first, bits, _wait_composites(bits), printed=False)


def _reclaim(
    name: str,
    first: Version,
    bits: Mapping[str, int],
    *,
    transhuge: str = "light",
    temporary: bool = False,
    nowait_nowarn: bool = False,
    printed: bool = True,
    order: tuple[tuple[str, ...], tuple[str, ...]] = (_COMPOSITE_ORDER, _SINGLE_ORDER),
) -> Era:
    composites = _reclaim_composites(
        bits, transhuge=transhuge, temporary=temporary, nowait_nowarn=nowait_nowarn
    )
    return _era(name, first, bits, composites, printed=printed, order=order)


ERAS: tuple[Era, ...] = (
    _wait("2.6-2.6.37", (2, 6), _WAIT_BASE),
    _wait("2.6.38", (2, 6, 38), _B_2_6_38),
    _wait("2.6.39-3.2", (2, 6, 39), _B_2_6_39),
    _wait("3.3-3.5", (3, 3), _B_3_3),
    _wait("3.6-3.7", (3, 6), _B_3_6),
    _wait("3.8-3.15", (3, 8), _B_3_8),
    _wait("3.16-4.0", (3, 16), _B_3_16),
    _wait("4.1-4.3", (4, 1), _B_4_1),
    _reclaim("4.4", (4, 4), _B_4_4, transhuge="nokswapd", temporary=True, printed=False),
    # "mm, oom: print symbolic gfp_flags in oom warning" (v4.5): names from here on
    _reclaim("4.5", (4, 5), _B_4_5, transhuge="nokswapd", temporary=True),
    # Mel Gorman's THP defrag rework, posted as "mm: thp: Redefine default THP defrag
    # behaviour disable it by default" (v4.6; value read in a 4.6.2 tree): GFP_TRANSHUGE
    # clears both reclaim bits
    _reclaim("4.6-4.7", (4, 6), _B_4_5, transhuge="noreclaim", temporary=True),
    _reclaim("4.8-4.9", (4, 8), _B_4_5, temporary=True),
    _reclaim("4.10-4.12", (4, 10), _B_4_10, temporary=True),
    _reclaim("4.13", (4, 13), _B_4_13, temporary=True),
    # "mm: treewide: remove GFP_TEMPORARY allocation flag" (v4.14)
    _reclaim("4.14", (4, 14), _B_4_13),
    _reclaim("4.15-4.17", (4, 15), _B_4_15),
    _reclaim("4.18-5.0", (4, 18), _B_4_18),
    _reclaim("5.1-5.13", (5, 1), _B_5_1),
    _reclaim("5.14-5.17", (5, 14), _B_5_14),
    _reclaim("5.18-6.2", (5, 18), _B_5_18),
    _reclaim("6.3-6.7", (6, 3), _B_6_3),
    # "gfp: include __GFP_NOWARN in GFP_NOWAIT" (v6.8). "mm: enumerate all gfp flags" (v6.10)
    # packs the config-dependent bits above ZEROTAGS; the fixed ones keep their values.
    _reclaim("6.8-6.14", (6, 8), _B_6_3, nowait_nowarn=True),
    _reclaim(
        "6.15+",
        (6, 15),
        _B_6_3,
        nowait_nowarn=True,
        order=(_COMPOSITE_ORDER_6_15, _SINGLE_ORDER_6_15),
    ),
)

BY_NAME: Mapping[str, Era] = MappingProxyType({era.name: era for era in ERAS})

# Every flag name some era defines; has() answers False for these, and rejects the rest.
ALL_NAMES: frozenset[str] = frozenset(name for era in ERAS for name in era.values)
