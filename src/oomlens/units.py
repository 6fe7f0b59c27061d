"""Unit conversions: explicit functions, never silent multiplications."""

from __future__ import annotations

# The kernel prints an unlimited memcg limit as PAGE_COUNTER_MAX in kB, e.g.
# 9007199254740988kB (page_counter, 3.19+) or 18014398509481983kB (res_counter, <= 3.18).
UNLIMITED_KB = 1 << 50


def pages_to_kb(pages: int, page_size_kb: int) -> int:
    """Pages → kB for a page size in kB (4 on most kernels, 16 or 64 on some arm64/ppc64)."""
    return pages * page_size_kb


def is_unlimited(limit_kb: int | None) -> bool:
    """True for the kernel's "no limit" values."""
    return limit_kb is not None and limit_kb >= UNLIMITED_KB


def human_kb(kb: int | float | None) -> str:
    """1536 → "1.5 MiB"; None → "?"."""
    if kb is None:
        return "?"
    if is_unlimited(int(kb)):
        return "unlimited"
    value = float(kb)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            if unit == "KiB":
                return f"{int(value)} KiB"
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_seconds(seconds: float) -> str:
    """0.004 → "4 ms", 5700 → "95 min", 3 days → "3.0 days"."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
