"""GFP mask decoding: what the kernel printed, what the spec lists, and round trips per era."""

from __future__ import annotations

import re
from functools import reduce
from operator import or_
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomlens.analyze.gfp import (
    GfpMaskError,
    decode,
    describe,
    era_for,
    parse_printed,
    parse_release,
)
from oomlens.analyze.gfp_tables import BY_NAME, ERAS

CASES = Path(__file__).parent / "cases"

# ---------------------------------------------------------------------------------------
# Every mask a kernel printed with names in tests/cases, with the release its file shows.

# (case file, release from its `CPU: .. Comm: ..` line, the mask as the kernel printed it)
PRINTED = [
    ("006-6.11-qemu-stress-ng-global-dmesg.log", "6.11.0-10669-g11a299a7933e-dirty",
     "0x440dc0(GFP_KERNEL_ACCOUNT|__GFP_COMP|__GFP_ZERO)"),
    # no CPU: line in this fragment: the era is guessed
    ("007-6.x-k8s-cgroup2-oomgroup-grep-fragment.log", None, "0xcc0(GFP_KERNEL)"),
    # the CPU: line was snipped; the release comes from the case name
    ("009-4.10-next-snipped-backslash-wrapped-panic.log", "4.10",
     "0x14280ca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO)"),
    ("010-5.15-azure-aks-cgroup2-pod-syslog.log", "5.15.0-1041-azure",
     "0x1100cca(GFP_HIGHUSER_MOVABLE)"),
    ("015-5.4-arm64-slab-kmemleak-order1-panic-mailwrapped.log", "5.4.51-xxx",
     "0x40cc0(GFP_KERNEL|__GFP_COMP)"),
    ("022-5.4-arm64-panic_on_oom-cma-trap-kdb.log", "5.4.74",
     "0x400dc0(GFP_KERNEL_ACCOUNT|__GFP_ZERO)"),
    ("025-5.8-cpuset-movable-node-no-timestamps-indented.log", "5.8.2-0.g71b519a-default",
     "0x500cc2(GFP_HIGHUSER|__GFP_ACCOUNT)"),
    ("027-5.10-debian-syslog-ufw-interleaved-hugetlb-1G.log", "5.10.0-10-amd64",
     "0x100cca(GFP_HIGHUSER_MOVABLE)"),
    ("032-4.14-android-traced_probes-order2-header-only.log", "4.14.181",
     "0x140c0c0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO)"),
    ("040-5.13-ubuntu-sysrq-f-manual-oom-order-minus1-stripped.log", "5.13.0-19-generic",
     "0xcc0(GFP_KERNEL)"),
    ("adamflott-nixos-6.18.log", "6.18.52", "0xcc0(GFP_KERNEL)"),
    ("cadvisor-container-4.8-kmsg.log", "4.8.0-gentoo", "0x24000c0(GFP_KERNEL)"),
    ("cadvisor-system-4.8-kmsg.log", "4.8.0-gentoo", "0x24201ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD)"),
    ("omexp-containerd2-4.18.log", "4.18.0-0.0.0.el8_99.x86_64", "0x6000c0(GFP_KERNEL)"),
    ("omexp-containerd2-4.18.log", "4.18.0-0.0.0.el8_99.x86_64", "0x6080c0(GFP_KERNEL|__GFP_ZERO)"),
    ("oomanalyser-archlinux-6.1.log", "6.1.1-arch1-1",
     "0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO)"),
    ("oomanalyser-proxmox-cgroup-5.15.log", "5.15.158-2-pve", "0x1100cca(GFP_HIGHUSER_MOVABLE)"),
    ("oomanalyser-ubuntu2110-5.13.log", "5.13.0-19-generic", "0xcc0(GFP_KERNEL)"),
    ("real-6.18-global-oom.log", "6.18.44-fc-v669", "0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)"),
    ("real-6.18-memcg-v1-adj1000.log", "6.18.44-fc-v669", "0xcc0(GFP_KERNEL)"),
    ("real-6.18-memcg-v1-shmem.log", "6.18.44-fc-v669", "0xcc0(GFP_KERNEL)"),
    ("real-6.18-memcg-v1-single.log", "6.18.44-fc-v669", "0xcc0(GFP_KERNEL)"),
    ("real-6.18-memcg-v1-many-workers.log", "6.18.44-fc-v669", "0xcc0(GFP_KERNEL)"),
]  # fmt: skip

# Hex-only trigger lines in tests/cases, with what today's %pGg would print for them.
HEX_ONLY = [
    ("001-2.6.28-i386-highmem-slab-syslog.log", "2.6.28-14-generic", 0x80D0,
     "GFP_KERNEL|__GFP_ZERO"),
    # "oom-killer: gfp_mask=..." with no comm and no Pid: line; the case name says 2.6.1x,
    # and every 2.6.1x release reads with the same table
    ("012-2.6.1x-xen-domU-anonymous-header-syslog.log", "2.6.16", 0x201D2,
     "GFP_HIGHUSER|__GFP_COLD"),
    ("020-4.4-arm32-qualcomm-order3-fork-fragmentation.log", "4.4.171", 0x26080C0,
     "GFP_KERNEL|__GFP_ZERO|__GFP_NOTRACK"),
    ("035-2.6.34-rc1-mm-with-score-wording-quoted-snip.log", "2.6.34-rc1-mm1+", 0x201DA,
     "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
    ("oomanalyser-rhel7-3.10.log", "3.10.0-514.6.1.el7.x86_64", 0x201DA,
     "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
]  # fmt: skip

_PRINTED_RE = re.compile(r"(?:gfp_mask=|mode:)(0x[0-9a-f]+)(\([^)]*\)|)")


def _printed_in_corpus() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(CASES.glob("*.log")):
        for m in _PRINTED_RE.finditer(path.read_text(errors="replace")):
            found.add((path.name, m.group(1) + m.group(2)))
    return found


@pytest.mark.parametrize(("case", "release", "printed"), PRINTED)
def test_corpus_mask_decodes_to_what_the_kernel_printed(
    case: str, release: str | None, printed: str
) -> None:
    mask, names = parse_printed(printed)
    d = decode(mask, release)
    assert d.names == names
    assert d.text == printed[printed.index("(") + 1 : -1]
    assert d.unknown_bits == 0
    assert d.era_guessed is (release is None)


@pytest.mark.parametrize(("case", "release", "mask", "rendered"), HEX_ONLY)
def test_corpus_hex_only_masks(case: str, release: str, mask: int, rendered: str) -> None:
    d = decode(mask, release)
    assert (d.text, d.unknown_bits, d.era_guessed) == (rendered, 0, False)
    assert not BY_NAME[d.era].printed


def test_tables_list_every_mask_in_the_corpus() -> None:
    """A new case file with a GFP mask must add its row above."""
    listed = {(case, printed) for case, _, printed in PRINTED}
    listed |= {(case, f"{mask:#x}") for case, _, mask, _ in HEX_ONLY}
    assert _printed_in_corpus() == listed
    releases: list[tuple[str, str | None]] = [(case, release) for case, release, _ in PRINTED]
    releases += [(case, release) for case, release, _, _ in HEX_ONLY]
    for case, release in releases:
        # the release is the file's own, or (no CPU: line) the one its case name gives
        text = (CASES / case).read_text(errors="replace")
        assert release is None or release in text or release.split(".")[1] in case


# ---------------------------------------------------------------------------------------
# The spec's real examples (§1.1) and frequently seen values (§2.2).


@pytest.mark.parametrize(
    ("mask", "release", "text"),
    [
        # §1.1 real examples
        (0x200DA, "3.0.8-android", "GFP_HIGHUSER_MOVABLE"),
        (0x280DA, "3.10.0-327.el7", "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
        (0x24201CA, "4.4.0-21-generic", "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
        (0x15000C0, "4.15.0-20-generic", "GFP_KERNEL_ACCOUNT"),
        (0x6000C0, "4.18.0-rc7", "GFP_KERNEL"),
        (0x100CCA, "5.4.0-42-generic", "GFP_HIGHUSER_MOVABLE"),
        (0x140CCA, "6.6.8", "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
        (0xCC0, "6.17.1", "GFP_KERNEL"),
        # §2.2 frequently seen values
        (0x201DA, "2.6.32-642.el6", "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
        (0x2084D0, "3.10.0", "GFP_KERNEL|__GFP_REPEAT|__GFP_ZERO|__GFP_NOTRACK"),
        (0x3000D0, "3.14.0", "GFP_KERNEL|__GFP_KMEMCG|__GFP_NOTRACK"),
        (0x14201CA, "4.10.0", "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
        (0x14201CA, "4.14.0", "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
        (0x27000C0, "4.8.0", "GFP_KERNEL_ACCOUNT|__GFP_NOTRACK"),
        (0x17000C0, "4.14.0", "GFP_KERNEL_ACCOUNT|__GFP_NOTRACK"),
        (0x100DCA, "5.4.0", "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
        (0x101CCA, "5.4.0", "GFP_HIGHUSER_MOVABLE|__GFP_WRITE"),
        # 4.4 had __GFP_NOACCOUNT where 4.5 put __GFP_ACCOUNT, and no GFP_KERNEL_ACCOUNT
        (0x27000C0, "4.4.0", "GFP_KERNEL|__GFP_NOACCOUNT|__GFP_NOTRACK"),
        # config-dependent bits stay hex, as the kernel prints them
        (0x1000CC0, "6.12.0", "GFP_KERNEL|0x1000000"),
        (0x100CCA | 0x800000, "5.10.0", "GFP_HIGHUSER_MOVABLE|0x800000"),
        # 6.15 prints single bits in bit order: __GFP_ZERO (0x100) before __GFP_COMP
        (0x440DC0, "6.15.0", "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP"),
        (0x440DC0, "6.14.0", "GFP_KERNEL_ACCOUNT|__GFP_COMP|__GFP_ZERO"),
        # GFP_NOWAIT carries __GFP_NOWARN from 6.8
        (0x2800, "6.8.0", "GFP_NOWAIT"),
        (0x2800, "6.7.0", "GFP_NOWAIT|__GFP_NOWARN"),
        (0x0, "5.4.0", ""),
    ],
)
def test_spec_examples(mask: int, release: str, text: str) -> None:
    assert decode(mask, release).text == text


# Spec §2.2 composite values per column; the eras each column spans here.
COLUMNS = {
    "2.6.32-3.x": ("2.6-2.6.37", "4.1-4.3"),
    "4.4-4.9": ("4.4", "4.8-4.9"),
    "4.10-4.17": ("4.10-4.12", "4.15-4.17"),
    "4.18-5.0": ("4.18-5.0", "4.18-5.0"),
    "5.1-6.2": ("5.1-5.13", "5.18-6.2"),
    "6.3+": ("6.3-6.7", "6.15+"),
}
# name: one value per column (None: not defined there)
SPEC_COMPOSITES = {
    "GFP_KERNEL": (0xD0, 0x24000C0, 0x14000C0, 0x6000C0, 0xCC0, 0xCC0),
    "GFP_NOFS": (0x50, 0x2400040, 0x1400040, 0x600040, 0xC40, 0xC40),
    "GFP_NOIO": (0x10, 0x2400000, 0x1400000, 0x600000, 0xC00, 0xC00),
    "GFP_ATOMIC": (0x20, 0x2080020, 0x1080020, 0x480020, 0xA20, 0x820),
    "GFP_NOWAIT": (None, 0x2000000, 0x1000000, 0x400000, 0x800, 0x800),
    "GFP_USER": (0x200D0, 0x24200C0, 0x14200C0, 0x6200C0, 0x100CC0, 0x100CC0),
    "GFP_HIGHUSER": (0x200D2, 0x24200C2, 0x14200C2, 0x6200C2, 0x100CC2, 0x100CC2),
    "GFP_HIGHUSER_MOVABLE": (0x200DA, 0x24200CA, 0x14200CA, 0x6200CA, 0x100CCA, 0x100CCA),
    "GFP_KERNEL_ACCOUNT": (None, 0x25000C0, 0x15000C0, 0x7000C0, 0x400CC0, 0x400CC0),
    "GFP_TEMPORARY": (0x800D0, 0x24000D0, 0x14000D0, None, None, None),
    "GFP_TRANSHUGE_LIGHT": (None, 0x342CA, 0x342CA, 0x342CA, 0x1C20CA, 0x1C20CA),
    "GFP_TRANSHUGE": (0x4352DA, 0x4342CA, 0x4342CA, 0x2342CA, 0x1C24CA, 0x1C24CA),
}
# Where the kernel source differs from the spec (or the spec only covers part of a column).
SOURCE_WINS = {
    # GFP_TRANSHUGE arrived with THP in 2.6.38
    ("GFP_TRANSHUGE", "2.6-2.6.37"): None,
    # 4.4 still had __GFP_NOACCOUNT, so no GFP_KERNEL_ACCOUNT (from 4.5)
    ("GFP_KERNEL_ACCOUNT", "4.4"): None,
    # GFP_TRANSHUGE_LIGHT came in 4.8; before it GFP_TRANSHUGE kept __GFP_NORETRY and cleared
    # KSWAPD_RECLAIM (4.4-4.5) or both reclaim bits (4.6-4.7: the spec says 0x4352ca)
    ("GFP_TRANSHUGE_LIGHT", "4.4"): None,
    ("GFP_TRANSHUGE_LIGHT", "4.5"): None,
    ("GFP_TRANSHUGE_LIGHT", "4.6-4.7"): None,
    ("GFP_TRANSHUGE", "4.4"): 0x4352CA,
    ("GFP_TRANSHUGE", "4.5"): 0x4352CA,
    ("GFP_TRANSHUGE", "4.6-4.7"): 0x352CA,
    # GFP_TEMPORARY was removed in 4.14
    ("GFP_TEMPORARY", "4.14"): None,
    ("GFP_TEMPORARY", "4.15-4.17"): None,
    # 5.14-5.17: __GFP_SKIP_KASAN_POISON (0x1000000) is unconditional and in
    # GFP_HIGHUSER_MOVABLE, hence in both GFP_TRANSHUGE masks
    ("GFP_HIGHUSER_MOVABLE", "5.14-5.17"): 0x1100CCA,
    ("GFP_TRANSHUGE_LIGHT", "5.14-5.17"): 0x11C20CA,
    ("GFP_TRANSHUGE", "5.14-5.17"): 0x11C24CA,
    # "gfp: include __GFP_NOWARN in GFP_NOWAIT" (v6.8)
    ("GFP_NOWAIT", "6.8-6.14"): 0x2800,
    ("GFP_NOWAIT", "6.15+"): 0x2800,
}


def _column_cells() -> list[tuple[str, str, int | None]]:
    names = [era.name for era in ERAS]
    cells = []
    for i, (first, last) in enumerate(COLUMNS.values()):
        for era in names[names.index(first) : names.index(last) + 1]:
            for composite, values in SPEC_COMPOSITES.items():
                cells.append((era, composite, SOURCE_WINS.get((composite, era), values[i])))
    return cells


@pytest.mark.parametrize(("era", "composite", "value"), _column_cells())
def test_composites_match_spec_or_source(era: str, composite: str, value: int | None) -> None:
    assert dict(BY_NAME[era].table).get(composite) == value


# ---------------------------------------------------------------------------------------
# Round trip: the names (and the hex remainder) give back the mask, in every era.


def _masks_for(era: str) -> st.SearchStrategy[int]:
    values = [v for _, v in BY_NAME[era].table]
    combos = st.lists(st.sampled_from(values), max_size=6).map(lambda vs: reduce(or_, vs, 0))
    noisy = st.tuples(combos, st.integers(0, 0xFFFFFFFF)).map(lambda t: t[0] | (t[1] & 0x1F00))
    return st.one_of(st.integers(0, 0xFFFFFFFF), st.integers(0, 0x3FFFFFF), combos, noisy)


@pytest.mark.parametrize("era", [era.name for era in ERAS])
def test_round_trip(era: str) -> None:
    values = BY_NAME[era].values

    @given(_masks_for(era))
    def check(mask: int) -> None:
        d = decode(mask, era=era)
        named = reduce(or_, (values[n] for n in d.names), 0)
        assert named | d.unknown_bits == mask
        assert named & d.unknown_bits == 0
        assert len(set(d.names)) == len(d.names)
        assert parse_printed(f"{mask:#x}({d.text})") == (
            mask,
            d.names + ((f"{d.unknown_bits:#x}",) if d.unknown_bits else ()),
        )

    check()


def test_tables_are_well_formed() -> None:
    firsts = [era.first for era in ERAS]
    assert firsts == sorted(firsts) and len(set(firsts)) == len(firsts)
    for era in ERAS:
        assert era.name.split("-")[0].rstrip("+") == ".".join(map(str, era.first))
        bits = list(era.bits.values())
        assert all(v & (v - 1) == 0 for v in bits), era.name  # one bit each
        assert len(set(bits)) == len(bits), era.name
        assert all(v for _, v in era.table)
    assert [era.printed for era in ERAS].index(True) == [e.name for e in ERAS].index("4.5")


# ---------------------------------------------------------------------------------------
# Releases and eras.


@pytest.mark.parametrize(
    ("release", "version"),
    [
        ("3.10.0-514.el7", (3, 10)),
        ("6.18.44-fc", (6, 18)),
        ("2.6.32-642.6.2.el6.x86_64", (2, 6, 32)),
        ("2.6.34-rc1-mm1+", (2, 6, 34)),
        ("5.8.2-0.g71b519a-default", (5, 8)),
        ("v4.4", (4, 4)),
        ("3.19.0-rc1-dgc+", (3, 19)),
        ("2.6", (2, 6)),
        ("6", None),
        ("Linux", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_release(release: str | None, version: tuple[int, ...] | None) -> None:
    assert parse_release(release) == version


@pytest.mark.parametrize(
    ("release", "era"),
    [
        ("2.6.18-308.el5", "2.6-2.6.37"),
        ("2.6.32-642.el6", "2.6-2.6.37"),
        ("2.6.38.8", "2.6.38"),
        ("3.0.101-63-default", "2.6.39-3.2"),
        ("3.10.0-514.el7", "3.8-3.15"),
        ("3.19.0-rc1-dgc+", "3.16-4.0"),
        ("4.4.0-21-generic", "4.4"),
        ("4.8.0-gentoo", "4.8-4.9"),
        ("4.9.337", "4.8-4.9"),
        ("4.14.181", "4.14"),
        ("4.18.0-0.0.0.el8_99.x86_64", "4.18-5.0"),
        ("5.15.0-1041-azure", "5.14-5.17"),
        ("6.1.1-arch1-1", "5.18-6.2"),
        ("6.6.30", "6.3-6.7"),
        ("6.11.0-10669-g11a299a7933e-dirty", "6.8-6.14"),
        ("6.18.44-fc-v669", "6.15+"),
        ("7.0.0", "6.15+"),
    ],
)
def test_era_for_release(release: str, era: str) -> None:
    assert era_for(release, 0xCC0) == (era, False)


@pytest.mark.parametrize(
    ("mask", "guess", "actual"),
    [
        # the corpus's hex-only masks (actual era from their release)
        (0x80D0, "3.8-3.15", "2.6.28"),
        (0x201D2, "3.8-3.15", "2.6.16"),
        (0x280DA, "3.8-3.15", "3.10.0"),
        (0x201DA, "3.8-3.15", "2.6.34"),
        (0x24201CA, "4.4", "4.4.0"),
        (0x26080C0, "4.4", "4.4.171"),
        # one per layout
        (0x3000D0, "3.8-3.15", "3.10.0"),
        (0x25000C0, "4.8-4.9", "4.8.0"),
        (0x2000000, "4.4", "4.4.0"),
        (0x14000C0, "4.14", "4.14.0"),
        (0x14201CA, "4.14", "4.10.0"),
        (0x6000C0, "4.18-5.0", "4.19.0"),
        (0x1100CCA, "5.14-5.17", "5.15.0"),
        (0xA20, "5.18-6.2", "5.4.0"),
        (0xCC0, "6.15+", "6.18.0"),
        (0x800, "6.15+", "6.12.0"),  # bare KSWAPD: GFP_NOWAIT before 6.8
        (0x0, "6.15+", "5.4.0"),
    ],
)
def test_era_guess_from_mask(mask: int, guess: str, actual: str) -> None:
    assert era_for(None, mask) == (guess, True)
    assert era_for("unknown-kernel", mask) == (guess, True)
    guessed = decode(mask)
    assert guessed.era_guessed
    assert guessed.names == decode(mask, actual).names


# ---------------------------------------------------------------------------------------
# has(), describe(), parse_printed() and errors.


def test_has_maps_reclaim_flags_across_the_4_4_split() -> None:
    old = decode(0x280DA, "3.10.0")
    assert old.has("__GFP_WAIT") and old.has("__GFP_DIRECT_RECLAIM")
    assert old.has("__GFP_KSWAPD_RECLAIM")  # woken unless __GFP_NO_KSWAPD
    assert old.has("GFP_HIGHUSER_MOVABLE") and old.has("__GFP_ZERO")
    assert not old.has("__GFP_ACCOUNT") and not old.has("__GFP_COMP")
    assert not decode(0x4352DA, "2.6.38").has("__GFP_KSWAPD_RECLAIM")
    new = decode(0xCC0, "6.1.0")
    assert new.has("__GFP_WAIT") and new.has("__GFP_FS") and new.has("__GFP_RECLAIM")
    assert not new.has("__GFP_COLD") and not new.has("__GFP_NO_KSWAPD")
    assert decode(0x400, "6.1.0").has("__GFP_NO_KSWAPD")
    with pytest.raises(GfpMaskError, match="__GFP_ZEOR"):
        new.has("__GFP_ZEOR")


@pytest.mark.parametrize(
    ("mask", "release", "lines"),
    [
        (
            0x140CCA,
            "6.18.44",
            ["can sleep / direct reclaim", "may do IO", "may call into FS",
             "user page (movable)", "high-order compound page"],
        ),
        (
            0x400DC0,
            "5.4.74",
            ["can sleep / direct reclaim", "may do IO", "may call into FS",
             "kernel allocation, memcg-accounted", "zeroed page"],
        ),
        (0xA20, "5.10.0", ["atomic: cannot sleep, may use reserves", "kernel allocation"]),
        (0x1C20CA, "5.10.0", ["atomic: cannot sleep", "transparent huge page",
                              "high-order compound page", "no emergency reserves",
                              "failure warning suppressed"]),
        (0x3000D0, "3.10.0", ["can sleep / direct reclaim", "may do IO", "may call into FS",
                              "kernel allocation, memcg-accounted"]),
        (0x1000CC0, "6.12.0", ["can sleep / direct reclaim", "may do IO", "may call into FS",
                               "kernel allocation", "bits with no name in 6.8-6.14: 0x1000000"]),
    ],
)  # fmt: skip
def test_describe(mask: int, release: str, lines: list[str]) -> None:
    assert describe(decode(mask, release)) == lines


def test_describe_says_when_the_era_is_a_guess() -> None:
    lines = describe(decode(0x280DA))
    assert lines[-1] == "bit meanings of kernel 3.8-3.15 (a guess: the kernel release is not known)"
    assert describe(decode(0, "5.4.0")) == [
        "no flags: page-fault OOM (before 5.16) or a manual one"
    ]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)",
         (0x140CCA, ("GFP_HIGHUSER_MOVABLE", "__GFP_COMP"))),
        ("0x280da", (0x280DA, None)),
        ("0x0()", (0, ())),
        ("0x0", (0, None)),
        ("gfp_mask=0x6000c0(GFP_KERNEL),", (0x6000C0, ("GFP_KERNEL",))),
        ("mode:0x1100cca(GFP_HIGHUSER|0x1000008)", (0x1100CCA, ("GFP_HIGHUSER", "0x1000008"))),
        (" 0X80D0 ", (0x80D0, None)),
    ],
)  # fmt: skip
def test_parse_printed(text: str, parsed: tuple[int, tuple[str, ...] | None]) -> None:
    assert parse_printed(text) == parsed


@pytest.mark.parametrize("text", ["", "0x", "80d0", "0xzz", "0x12(GFP_KERNEL", "GFP_KERNEL"])
def test_parse_printed_rejects(text: str) -> None:
    with pytest.raises(GfpMaskError):
        parse_printed(text)


def test_decode_accepts_printed_text_and_rejects_bad_input() -> None:
    assert decode("0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)", "6.18.44").names == (
        "GFP_HIGHUSER_MOVABLE",
        "__GFP_COMP",
    )
    assert decode(0xCC0, "2.6.32", era="6.15+").era == "6.15+"
    for bad in (-1, 1 << 32):
        with pytest.raises(GfpMaskError):
            decode(bad, "6.1")
    with pytest.raises(GfpMaskError, match="unknown GFP era"):
        decode(0xCC0, era="9.9")
    with pytest.raises(ValueError):  # GfpMaskError is a ValueError too
        decode("nonsense")
