"""`watch --metrics`: Prometheus metrics of the events emitted and of the watcher's health.

`Metrics` serves them on HOST:PORT (`parse_address()` reads it) through the optional
`prometheus_client` package (`pip install 'oomlens[metrics]'`). `monotonic_uptime()` is the
clock of the kernel's log time stamps, which the watcher uses too.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from oomlens.errors import OomlensError


def monotonic_uptime() -> float:
    """CLOCK_MONOTONIC in seconds: the clock of the kernel's log time stamps."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class Metrics:
    """Prometheus metrics on `ADDRESS:PORT` (the optional `prometheus_client` package)."""

    HEALTH: ClassVar[dict[str, str]] = {
        "records": "kernel log records read",
        "gaps": "times records were lost before they could be read",
        "lost_records": "kernel log records lost before they could be read",
        "parse_failures": "records the parser failed on (a bug: please report it)",
        "hook_failures": "--exec hooks that failed, timed out or could not start",
        "duplicates": "events read again after a restart and not emitted again",
    }

    def __init__(self, address: str) -> None:
        try:
            import prometheus_client as pc  # type: ignore[import-not-found,unused-ignore]
        except ImportError as err:
            raise OomlensError(
                "--metrics needs the Prometheus client library: pip install 'oomlens[metrics]'"
            ) from err
        host, port = parse_address(address)
        self.registry = pc.CollectorRegistry()
        labels = ["scope", "memcg", "victim", "pattern"]
        self.kills = pc.Counter("oomlens_kills", "OOM kills seen", labels, registry=self.registry)
        self.last_kill = pc.Gauge(
            "oomlens_last_kill_timestamp_seconds",
            "Unix time of the last OOM kill",
            registry=self.registry,
        )
        self.anon_rss = pc.Gauge(
            "oomlens_last_victim_anon_rss_bytes",
            "anon-rss of the last victim",
            registry=self.registry,
        )
        self.anon_hist = pc.Histogram(
            "oomlens_victim_anon_rss_bytes",
            "anon-rss of OOM victims when they were killed",
            buckets=[float(1 << s) for s in range(20, 38, 2)],
            registry=self.registry,
        )
        self.health = {
            name: pc.Counter(f"oomlens_{name}", text, registry=self.registry)
            for name, text in self.HEALTH.items()
        }
        try:
            self.server, _ = pc.start_http_server(port, addr=host, registry=self.registry)
        except OSError as err:
            raise OomlensError(
                f"cannot serve metrics on {address}: {err.strerror} (pick another port)"
            ) from err

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def observe(self, doc: dict[str, Any]) -> None:
        """Count one emitted event."""
        victim = doc.get("victim") or {}
        findings = (doc.get("analysis") or {}).get("findings") or []
        self.kills.labels(
            scope=doc.get("scope") or "unknown",
            memcg=doc.get("memcg") or "",
            victim=victim.get("comm") or "",
            pattern=findings[0]["rule"] if findings else "none",
        ).inc()
        uptime = doc.get("uptime_s")
        lag = monotonic_uptime() - uptime if isinstance(uptime, (int, float)) else 0.0
        self.last_kill.set(time.time() - lag)
        anon_kb = victim.get("anon_rss_kb")
        if isinstance(anon_kb, int):
            self.anon_rss.set(anon_kb * 1024)
            self.anon_hist.observe(anon_kb * 1024)

    def count(self, name: str, n: int = 1) -> None:
        if name in self.health:
            self.health[name].inc(n)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def parse_address(address: str) -> tuple[str, int]:
    """ "127.0.0.1:9717", "[::1]:9717", ":9717" (→ 127.0.0.1) or "9717" → (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep:
        host, port = "", address
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdecimal() or not 0 <= int(port) < 65536:
        raise OomlensError(
            f"bad --metrics address {address!r}: expected HOST:PORT, e.g. 127.0.0.1:9717"
        )
    return host, int(port)
