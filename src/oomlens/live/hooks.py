"""`watch --exec`: run commands for each event, with the event JSON on stdin, in threads.

Each command runs under `/bin/sh -c` in its own process group, its output on stderr, with
OOMLENS_* variables describing the event in its environment; one still running after the
timeout is killed with its group. A failure is counted (`on_failure`) and reported through
`warn`, never raised: hooks never hold the watcher up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

HOOK_TIMEOUT_S = 30.0


class HookRunner:
    """Runs `--exec` commands for each event, with the event JSON on stdin, in threads."""

    def __init__(
        self,
        commands: Sequence[str],
        *,
        timeout: float = HOOK_TIMEOUT_S,
        workers: int = 4,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.commands = tuple(commands)
        self.timeout = timeout
        self.warn = warn or _stderr
        self.on_failure: Callable[[], None] = lambda: None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="oomlens-hook")

    def submit(self, doc: dict[str, Any]) -> None:
        """Queue every command for this event; returns at once."""
        data = (json.dumps(doc, sort_keys=True, ensure_ascii=False) + "\n").encode()
        env = _hook_env(doc)
        for command in self.commands:
            self._pool.submit(self._run, command, data, env)

    def close(self) -> None:
        """Wait for queued hooks (each bounded by the timeout)."""
        self._pool.shutdown(wait=True)

    def _run(self, command: str, data: bytes, env: dict[str, str]) -> None:
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", command],
                stdin=subprocess.PIPE,
                stdout=2,  # the watcher's stdout carries events: hook output goes to stderr
                env=env,
                start_new_session=True,  # its own process group: a timeout kills all of it
            )
        except OSError as err:
            self._failed(f"hook {command!r} could not start: {err.strerror}")
            return
        try:
            proc.communicate(data, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            self._failed(f"hook {command!r} timed out after {self.timeout:g}s and was killed")
            return
        if proc.returncode != 0:
            self._failed(f"hook {command!r} exited with status {proc.returncode}")

    def _failed(self, message: str) -> None:
        self.on_failure()
        self.warn(message)


def _hook_env(doc: dict[str, Any]) -> dict[str, str]:
    victim = doc.get("victim") or {}
    extra = {
        "OOMLENS_EVENT_ID": doc.get("id"),
        "OOMLENS_SEQ": doc.get("seq"),
        "OOMLENS_SCOPE": doc.get("scope"),
        "OOMLENS_MEMCG": doc.get("memcg"),
        "OOMLENS_VICTIM_PID": victim.get("pid"),
        "OOMLENS_VICTIM_COMM": victim.get("comm"),
    }
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


# the default `warn` of the hooks, and of the watcher (`live.watch`)
def _stderr(message: str) -> None:
    print(f"oomlens watch: {message}", file=sys.stderr, flush=True)
