"""One small function per kind of report line: text in, record out (or None)."""

from __future__ import annotations

import itertools

from oomlens.model import (
    TASK_COLUMNS,
    FreeArea,
    Hugepages,
    Kill,
    MemcgCounter,
    MemcgStats,
    NodeInfo,
    OomKillSummary,
    Reaped,
    Selection,
    SlabInfo,
    Task,
    Trigger,
    Zone,
)
from oomlens.parse import patterns as p


def trigger(text: str, line_no: int) -> Trigger | None:
    m = p.TRIGGER.match(text)
    if m is None:
        return None
    rest = m["rest"]
    gfp = p.TRIGGER_GFP.search(rest)
    flags: tuple[str, ...] | None = None
    if gfp is not None and gfp["flags"] is not None:
        flags = tuple(f for f in gfp["flags"].split("|") if f)
    order = p.TRIGGER_ORDER.search(rest)
    adj = p.TRIGGER_ADJ.search(rest)
    old_adj = p.TRIGGER_OLD_ADJ.search(rest)
    nodemask = p.TRIGGER_NODEMASK.search(rest)
    return Trigger(
        line_no=line_no,
        comm=m["comm"],
        pid=None,
        gfp_mask=gfp["mask"] if gfp else None,
        gfp_flags=flags,
        order=int(order["order"]) if order else None,
        oom_score_adj=int(adj["adj"]) if adj else None,
        oom_adj=int(old_adj["adj"]) if old_adj else None,
        nodemask=nodemask["nodemask"] if nodemask else None,
    )


def kb_fields(rest: str) -> tuple[dict[str, int], bool | None, int | None]:
    """`free:3504kB min:64kB ... pages_scanned:0 all_unreclaimable? yes` → kB map, flag, pages."""
    fields: dict[str, int] = {}
    pages_scanned: int | None = None
    for m in p.KB_FIELD.finditer(rest):
        if m["key"] == "pages_scanned" and m["unit"] is None:
            pages_scanned = int(m["val"])
        elif m["unit"] is not None:
            fields[m["key"]] = int(m["val"])
    # "shmem_thp: 0kB" (a space after the colon, <= 6.4): KB_FIELD needs no blank, so retry.
    for key, val in _spaced_kb(rest):
        fields.setdefault(key, val)
    unrec = p.UNRECLAIMABLE.search(rest)
    return fields, (unrec["v"] == "yes") if unrec else None, pages_scanned


def _spaced_kb(rest: str) -> list[tuple[str, int]]:
    out = []
    tokens = rest.split()
    for a, b in itertools.pairwise(tokens):
        if a.endswith(":") and b.endswith("kB") and b[:-2].isdigit():
            out.append((a[:-1], int(b[:-2])))
    return out


def node(text: str, line_no: int) -> NodeInfo | None:
    m = p.NODE_LINE.match(text)
    if m is None:
        return None
    fields, unrec, scanned = kb_fields(m["rest"])
    return NodeInfo(
        line_no=line_no,
        node=int(m["node"]),
        fields_kb=fields,
        all_unreclaimable=unrec,
        pages_scanned=scanned,
    )


def zone(text: str, line_no: int) -> Zone | None:
    m = p.ZONE_LINE.match(text)
    if m is None:
        return None
    fields, unrec, scanned = kb_fields(m["rest"])
    return Zone(
        line_no=line_no,
        node=int(m["node"]) if m["node"] is not None else None,
        name=m["zone"],
        fields_kb=fields,
        all_unreclaimable=unrec,
        pages_scanned=scanned,
    )


def buddy(text: str) -> tuple[int | None, str, tuple[FreeArea, ...], int | None] | None:
    """A buddy free list line → (node, zone, terms, total kB)."""
    m = p.BUDDY_LINE.match(text)
    if m is None:
        return None
    terms = tuple(
        FreeArea(size_kb=int(t["size"]), count=int(t["count"]), types=t["types"])
        for t in p.BUDDY_TERM.finditer(m["rest"])
    )
    total = p.BUDDY_TOTAL.search(m["rest"])
    return (
        int(m["node"]) if m["node"] is not None else None,
        m["zone"],
        terms,
        int(total["total"]) if total else None,
    )


def hugepages(text: str, line_no: int) -> Hugepages | None:
    m = p.HUGEPAGES.match(text)
    if m is None:
        return None
    return Hugepages(
        line_no=line_no,
        node=int(m["node"]),
        total=int(m["total"]),
        free=int(m["free"]),
        surp=int(m["surp"]),
        size_kb=int(m["size"]),
    )


def memcg_counter(text: str, line_no: int) -> MemcgCounter | None:
    m = p.MEMCG_COUNTER.match(text)
    if m is None:
        return None
    return MemcgCounter(
        line_no=line_no,
        name=m["name"],
        usage_kb=int(m["usage"]),
        limit_kb=int(m["limit"]),
        failcnt=int(m["failcnt"]) if m["failcnt"] is not None else None,
    )


def memcg_stats_head(text: str, line_no: int) -> MemcgStats | None:
    """`Memory cgroup stats for PATH:` with the one-line v1 counters when they follow."""
    m = p.MEMCG_STATS.match(text)
    if m is None:
        return None
    values = {s["key"]: int(s["val"]) for s in p.STAT_KB.finditer(m["rest"] or "")}
    unit = "kB" if values else "bytes"
    return MemcgStats(line_no=line_no, path=m["path"], unit=unit, values=values)


def task_columns(text: str) -> tuple[str, ...] | None:
    """The header's column names, `pid` first and `name` last."""
    m = p.TASKS_HEADER.match(text)
    if m is None:
        return None
    return ("pid", *m["cols"].split())


def task_row(text: str, line_no: int, columns: tuple[str, ...]) -> Task | None:
    """A task row, its numbers mapped by the header's column names; None when too short."""
    m = p.TASK_ROW.match(text)
    if m is None:
        return None
    numeric = [c for c in columns[1:] if c != "name"]
    parts = m["rest"].split(None, len(numeric))
    if len(parts) <= len(numeric):
        return None  # cut short (wrapped, or the name is missing)
    values: dict[str, int | None] = {}
    for col, raw in zip(numeric, parts, strict=False):  # parts has the name as well
        try:
            value: int | None = int(raw)
        except ValueError:
            return None
        field = TASK_COLUMNS.get(col)
        if field is not None:
            values[field] = value
    comm = parts[len(numeric)]
    return Task(
        line_no=line_no,
        pid=int(m["pid"]),
        uid=values.pop("uid", None),
        tgid=values.pop("tgid", None),
        total_vm_pages=values.pop("total_vm_pages", None),
        rss_pages=values.pop("rss_pages", None),
        comm=comm,
        **values,  # keys come from TASK_COLUMNS, all int | None
    )


def guess_columns(text: str) -> tuple[str, ...] | None:
    """Columns for rows whose header was cut away, from the number of fields (era layouts)."""
    m = p.TASK_ROW.match(text)
    if m is None:
        return None
    n = 0
    for tok in m["rest"].split():
        if tok.lstrip("-").isdigit():
            n += 1
        else:
            break
    layouts = {
        # ≈3.6-3.19
        7: "uid tgid total_vm rss nr_ptes swapents oom_score_adj",
        # ≈4.0-4.14 (nr_pmds), 2.6.36-3.5 (cpu oom_adj oom_score_adj) has 7 numbers too but
        # its 5th column (cpu) is small; 4.15-6.7 pgtables_bytes also 7.
        8: "uid tgid total_vm rss nr_ptes nr_pmds swapents oom_score_adj",
        # 6.8+
        10: "uid tgid total_vm rss rss_anon rss_file rss_shmem pgtables_bytes swapents "
        "oom_score_adj",
        6: "uid tgid total_vm rss cpu oom_adj",
    }
    cols = layouts.get(n)
    if cols is None:
        return None
    if n == 7:
        nums = [int(t) for t in m["rest"].split()[:7]]
        # pgtables_bytes is a multiple of the page size (4096): ≥ 4096 and divisible.
        if nums[4] >= 4096 and nums[4] % 4096 == 0:
            cols = "uid tgid total_vm rss pgtables_bytes swapents oom_score_adj"
    return ("pid", *cols.split(), "name")


def summary(text: str, line_no: int) -> OomKillSummary | None:
    m = p.OOM_KILL.match(text)
    if m is None:
        return None
    rest = m["rest"]
    tail = p.OOM_KILL_TAIL.search(rest)
    head = rest[: tail.start()] if tail else rest
    keys: dict[str, str] = {}
    flags: set[str] = set()
    for part in head.split(","):
        key, eq, val = part.partition("=")
        if eq:
            keys[key] = val
        else:
            flags.add(key)
    if tail is None:  # cut short (line limit): take what the prefix gives
        task = keys.pop("task", None)
        pid = keys.pop("pid", None)
        uid = keys.pop("uid", None)
    else:
        task, pid, uid = tail["task"], tail["pid"], tail["uid"]
    return OomKillSummary(
        line_no=line_no,
        constraint=keys.get("constraint"),
        nodemask=keys.get("nodemask"),
        cpuset=keys.get("cpuset"),
        mems_allowed=keys.get("mems_allowed"),
        global_oom="global_oom" in flags,
        oom_memcg=keys.get("oom_memcg"),
        task_memcg=keys.get("task_memcg"),
        task=task,
        pid=int(pid) if pid and pid.isdigit() else None,
        uid=int(uid) if uid and uid.isdigit() else None,
        fields={
            **keys,
            **({"task": task} if task is not None else {}),
            **({"pid": pid} if pid is not None else {}),
            **({"uid": uid} if uid is not None else {}),
        },
    )


def selection(text: str, line_no: int) -> Selection | None:
    m = p.SELECTION.match(text)
    if m is None:
        return None
    return Selection(
        line_no=line_no,
        prefix=m["prefix"],
        pid=int(m["pid"]),
        comm=m["comm"],
        score=int(m["score"]),
    )


def killed(text: str, line_no: int) -> Kill | None:
    m = p.KILLED.match(text)
    if m is None:
        return None
    values = {f["key"]: int(f["val"]) for f in p.KILL_FIELD.finditer(m["rest"])}
    uid = values.get("UID")
    if m["uid6"] is not None:  # RHEL 6: "Killed process 6608, UID 500, (top) ..."
        uid = int(m["uid6"])
    return Kill(
        line_no=line_no,
        prefix=m["prefix"],
        pid=int(m["pid"]),
        comm=m["comm"],
        uid=uid,
        total_vm_kb=values.get("total-vm", values.get("vsz")),
        anon_rss_kb=values.get("anon-rss"),
        file_rss_kb=values.get("file-rss"),
        shmem_rss_kb=values.get("shmem-rss"),
        pgtables_kb=values.get("pgtables"),
        oom_score_adj=values.get("oom_score_adj"),
    )


def sharing(text: str, line_no: int) -> Kill | None:
    m = p.SHARING.match(text)
    if m is None:
        return None
    return Kill(line_no=line_no, prefix=None, pid=int(m["pid"]), comm=m["comm"], sharing=True)


def reaped(text: str, line_no: int) -> Reaped | None:
    m = p.REAPED.match(text)
    if m is not None:
        return Reaped(
            line_no=line_no,
            pid=int(m["pid"]),
            comm=m["comm"],
            anon_rss_kb=int(m["anon"]),
            file_rss_kb=int(m["file"]),
            shmem_rss_kb=int(m["shmem"]) if m["shmem"] is not None else None,
            success=True,
        )
    m = p.REAP_FAILED.match(text)
    if m is not None:
        return Reaped(
            line_no=line_no,
            pid=int(m["pid"]),
            comm=m["comm"],
            anon_rss_kb=None,
            file_rss_kb=None,
            shmem_rss_kb=None,
            success=False,
        )
    return None


def slab_row(text: str, line_no: int) -> SlabInfo | None:
    m = p.SLAB_ROW.match(text)
    if m is None:
        return None
    return SlabInfo(
        line_no=line_no, name=m["name"], used_kb=int(m["used"]), total_kb=int(m["total"])
    )
