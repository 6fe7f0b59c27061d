"""Who owns a memory cgroup: Kubernetes pod, Docker/Podman container, LXC, systemd unit.

`attribute(path)` reads a memcg path as printed by the kernel (`oom_memcg=`, `task_memcg=`,
`Task in X killed as a result of limit of Y`, `Memory cgroup stats for X`) and names its
owner and the knob that sets its memory limit; `advice()` turns that into one sentence with
the numbers of the log. Paths are split on "/" and read segment by segment (no regexes):

    /kubepods/burstable/pod<uid>/<id>                                  Kubernetes, cgroupfs driver
    /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/
        cri-containerd-<id>.scope (also docker-, crio-)                Kubernetes, systemd driver
    /docker/<id>, /system.slice/docker-<id>.scope                      Docker
    /machine.slice/libpod-<id>.scope, /libpod_parent/libpod-<id>       Podman
    /lxc/<name>, /lxc.payload.<name>                                   LXC (Proxmox, LXD, Incus)
    /system.slice/nginx.service, /user.slice/user-1000.slice/session-3.scope   systemd
    /docker/<id>/kubelet/kubepods/...                                  kind (Kubernetes in Docker)
"""

from __future__ import annotations

import string

from oomlens.model import Attribution
from oomlens.units import human_kb

__all__ = ["Attribution", "advice", "attribute"]

KNOBS = {
    "kubernetes-container": "resources.limits.memory of the container in the pod spec",
    "kubernetes-pod": (
        "resources.limits.memory of the pod's containers (the pod cgroup's limit is their sum)"
    ),
    "kubernetes-qos": (
        "the kubelet's node allocatable: --system-reserved / --kube-reserved and "
        "--eviction-hard=memory.available"
    ),
    "docker": "docker run --memory (with --memory-swap); Compose: mem_limit",
    "podman": "podman run --memory (with --memory-swap)",
    "containerd": "nerdctl run --memory (ctr run --memory-limit)",
    "cri-o": "the container's linux.resources.memory.limit in its OCI spec",
    "lxc": (
        "lxc.cgroup2.memory.max in the container config (Proxmox: pct set <id> --memory; "
        "LXD/Incus: limits.memory)"
    ),
    "systemd-service": "MemoryMax= (hard) / MemoryHigh= (throttle) on the unit",
    "systemd-scope": "MemoryMax= on the scope's slice (systemd-run --scope -p MemoryMax=)",
    "systemd-slice": "MemoryMax= / MemoryHigh= on the slice",
    "user-session": "MemoryMax= on the user's slice (systemctl set-property user-UID.slice)",
    "user-service": "MemoryMax= on the user unit (systemctl --user set-property)",
    "cgroup": "memory.max (cgroup v2) or memory.limit_in_bytes (v1) of the cgroup",
}
CONTAINER_KINDS = frozenset({"docker", "podman", "containerd", "cri-o", "lxc"})
QOS_CLASSES = ("burstable", "besteffort", "guaranteed")
# scope/segment prefixes of container runtimes → runtime name
RUNTIME_PREFIXES = (
    ("cri-containerd-", "containerd"),
    ("containerd-", "containerd"),
    ("nerdctl-", "containerd"),
    ("crio-conmon-", "cri-o"),
    ("crio-", "cri-o"),
    ("docker-", "docker"),
    ("libpod-conmon-", "podman"),
    ("libpod-", "podman"),
)
RUNTIME_LABEL = {
    "containerd": "containerd",
    "cri-o": "CRI-O",
    "docker": "Docker",
    "podman": "Podman",
}
RUNTIME_KIND = {
    "containerd": "containerd",
    "cri-o": "cri-o",
    "docker": "docker",
    "podman": "podman",
}
CONTAINERD_NAMESPACES = ("default", "k8s.io")


def attribute(path: str) -> Attribution | None:
    """The owner of memcg `path`; None for the root cgroup or an empty path."""
    segs = [s for s in path.strip().split("/") if s]
    if not segs:
        return None
    clean = "/" + "/".join(segs)
    return (
        _kubernetes(clean, segs)
        or _lxc(clean, segs)
        or _container(clean, segs)
        or _systemd(clean, segs)
        or _make(clean, "cgroup", clean)
    )


def advice(attr: Attribution | None, limit_kb: int | None) -> str:
    """One sentence: which knob to raise, above the limit the log shows (MiB)."""
    if attr is None:
        return "Raise the memory limit of the cgroup, or make its workload use less."
    above = f"above {_mib(limit_kb)} MiB" if limit_kb else "above its current limit"
    high = f", or set MemoryHigh= to about {_mib(limit_kb * 9 // 10)} MiB" if limit_kb else ""
    kind = attr.kind
    if kind == "kubernetes-container":
        now = f" (now {_mib(limit_kb)}Mi)" if limit_kb else ""
        return (
            f"Raise resources.limits.memory of container {_short(attr.container_id)} in pod "
            f"{attr.pod_uid}{now}, or make the container use less."
        )
    if kind == "kubernetes-pod":
        return (
            f"Raise resources.limits.memory of the containers of pod {attr.pod_uid}: the pod "
            f"cgroup's limit ({human_kb(limit_kb)}) is their sum; it must go {above}."
        )
    if kind == "kubernetes-qos":
        return (
            f"The node's budget for pods ran out ({attr.name}): reserve less with the kubelet's "
            "--system-reserved / --kube-reserved, or evict earlier with "
            "--eviction-hard=memory.available."
        )
    if kind in ("docker", "podman"):
        return (
            f"Raise the container's --memory {above} ({kind} update --memory <size> "
            f"{_short(attr.container_id)}), and --memory-swap with it."
        )
    if kind == "containerd":
        return (
            f"Raise the container's memory limit {above} (nerdctl update --memory <size> "
            f"{_short(attr.container_id)}; ctr run --memory-limit)."
        )
    if kind == "lxc":
        return (
            f"Give {attr.name} more memory, {above}: lxc.cgroup2.memory.max "
            "(Proxmox: pct set <id> --memory <MiB>; LXD/Incus: limits.memory)."
        )
    if kind.startswith(("systemd-", "user-")):
        return (
            f"Raise MemoryMax= of {attr.unit} {above} (systemctl set-property {attr.unit} "
            f"MemoryMax=<size>){high} to throttle before the kill."
        )
    v2high = f", or set memory.high to about {_mib(limit_kb * 9 // 10)} MiB" if limit_kb else ""
    return (
        f"Raise memory.max (v2) / memory.limit_in_bytes (v1) of {attr.path} {above}"
        f"{v2high} to throttle before the kill."
    )


# --- Kubernetes -------------------------------------------------------------------------


def _kubernetes(path: str, segs: list[str]) -> Attribution | None:
    root = next((i for i, s in enumerate(segs) if _is_kubepods_root(s)), None)
    if root is None:
        return None
    outer = _outer("/" + "/".join(segs[:root])) if root else None
    qos = pod = cid = runtime = None
    for seg in segs[root + 1 :]:
        base = seg.removesuffix(".slice").removesuffix(".scope")
        if pod is None and (q := _qos_of(base)) is not None:
            qos = q
        elif pod is None and (uid := _pod_uid(base)) is not None:
            pod = uid
        elif pod is not None and cid is None:
            runtime, cid = _container_id(base)
            if cid is None:
                break
        else:
            break
    if pod is None:
        name = f"kubepods {qos}" if qos else "kubepods (node allocatable)"
        return _make(path, "kubernetes-qos", name, qos=qos, outer=outer)
    qos = qos or "guaranteed"  # guaranteed pods sit directly under kubepods
    if cid is None:
        return _make(path, "kubernetes-pod", f"pod {pod}", pod_uid=pod, qos=qos, outer=outer)
    return _make(
        path,
        "kubernetes-container",
        f"container {_short(cid)} of pod {pod}",
        pod_uid=pod,
        qos=qos,
        container_id=cid,
        runtime=runtime,
        outer=outer,
    )


def _is_kubepods_root(seg: str) -> bool:
    # cgroupfs "kubepods"; systemd "kubepods.slice"; kind with systemd "kubelet-kubepods.slice"
    return seg in ("kubepods", "kubepods.slice", "kubelet-kubepods.slice")


def _qos_of(base: str) -> str | None:
    name = base.removeprefix("kubelet-").removeprefix("kubepods-")
    return name if name in QOS_CLASSES else None


def _pod_uid(base: str) -> str | None:
    # "pod<uid>" (cgroupfs) or "kubepods-burstable-pod<uid_with_underscores>" (systemd)
    name = base.removeprefix("kubelet-").removeprefix("kubepods-")
    for qos in QOS_CLASSES:
        name = name.removeprefix(qos + "-")
    if not name.startswith("pod"):
        return None
    uid = name[3:].replace("_", "-")
    digits = uid.replace("-", "")
    return uid if len(digits) == 32 and _is_hex(digits) else None


def _container_id(base: str) -> tuple[str | None, str | None]:
    for prefix, runtime in RUNTIME_PREFIXES:
        if base.startswith(prefix) and _is_id(base[len(prefix) :]):
            return runtime, base[len(prefix) :]
    if _is_id(base):
        return None, base  # cgroupfs: the bare id; the runtime is not in the path
    return None, None


# --- LXC, containers ----------------------------------------------------------------------


def _lxc(path: str, segs: list[str]) -> Attribution | None:
    if segs[0] == "lxc" and len(segs) >= 2:
        name, rest = segs[1], segs[2:]
    elif segs[0].startswith("lxc.payload."):
        name, rest = segs[0].removeprefix("lxc.payload."), segs[1:]
    else:
        return None
    label = f"LXC container {name}"
    outer = _make("/" + "/".join(segs[: len(segs) - len(rest)]), "lxc", label, runtime="lxc")
    if rest and rest[0] == "ns":  # Proxmox: the guest's own hierarchy starts below "ns"
        rest = rest[1:]
    inner = attribute("/" + "/".join(rest)) if rest else None
    if inner is None or inner.kind in ("systemd-slice", "cgroup"):
        return _make(path, "lxc", label, runtime="lxc")
    return _with_outer(path, inner, outer)


def _container(path: str, segs: list[str]) -> Attribution | None:
    if segs[0] == "docker" and len(segs) >= 2 and _is_id(segs[1]):
        return _make(
            path,
            "docker",
            f"Docker container {_short(segs[1])}",
            container_id=segs[1],
            runtime="docker",
        )
    if len(segs) == 2 and segs[0] in CONTAINERD_NAMESPACES and _is_long_hex(segs[1]):
        return _make(
            path,
            "containerd",
            f"containerd container {_short(segs[1])}",
            container_id=segs[1],
            runtime="containerd",
        )
    for seg in reversed(segs):
        runtime, cid = _container_id(seg.removesuffix(".scope"))
        if cid is not None and runtime is not None:
            kind = RUNTIME_KIND[runtime]
            label = f"{RUNTIME_LABEL[runtime]} container {_short(cid)}"
            return _make(path, kind, label, container_id=cid, runtime=runtime)
    return None


def _outer(path: str) -> Attribution | None:
    # "/docker/<id>/kubelet" (kind): the node container is "/docker/<id>"
    segs = [s for s in path.split("/") if s]
    while segs and segs[-1] in ("kubelet", "kubelet.slice"):
        segs.pop()
    attr = attribute("/" + "/".join(segs)) if segs else None
    return attr if attr is not None and attr.kind in CONTAINER_KINDS else None


# --- systemd --------------------------------------------------------------------------------


def _systemd(path: str, segs: list[str]) -> Attribution | None:
    units = [s for s in segs if s.endswith((".service", ".scope", ".slice"))]
    if not units:
        return None
    last = units[-1]
    user = next((s for s in segs if s.startswith("user-") and s.endswith(".slice")), None)
    uid_text = user.removeprefix("user-").removesuffix(".slice") if user else ""
    uid = int(uid_text) if uid_text.isdigit() else None
    manager = next((i for i, s in enumerate(segs) if s.startswith("user@")), None)
    if manager is not None and segs.index(last) > manager:  # systemd --user's own units
        return _make(path, "user-service", last, unit=last, user_uid=uid)
    if last.endswith(".service"):
        return _make(path, "systemd-service", last, unit=last, user_uid=uid)
    if last.startswith("session-") and last.endswith(".scope") and user is not None:
        # sessions come and go: the limit belongs on the user's slice
        return _make(path, "user-session", f"{last} of {user}", unit=user, user_uid=uid)
    if last.endswith(".scope"):
        return _make(path, "systemd-scope", last, unit=last, user_uid=uid)
    return _make(path, "systemd-slice", last, unit=last, user_uid=uid)


# --- small helpers --------------------------------------------------------------------------


def _make(
    path: str,
    kind: str,
    name: str,
    *,
    pod_uid: str | None = None,
    qos: str | None = None,
    container_id: str | None = None,
    runtime: str | None = None,
    unit: str | None = None,
    user_uid: int | None = None,
    outer: Attribution | None = None,
) -> Attribution:
    return Attribution(
        path=path,
        kind=kind,
        name=name,
        knob=KNOBS[kind],
        pod_uid=pod_uid,
        qos=qos,
        container_id=container_id,
        runtime=runtime,
        unit=unit,
        user_uid=user_uid,
        outer=outer,
    )


def _with_outer(path: str, inner: Attribution, outer: Attribution) -> Attribution:
    return Attribution(
        path=path,
        kind=inner.kind,
        name=f"{inner.name} in {outer.name}",
        knob=inner.knob,
        pod_uid=inner.pod_uid,
        qos=inner.qos,
        container_id=inner.container_id,
        runtime=inner.runtime,
        unit=inner.unit,
        user_uid=inner.user_uid,
        outer=outer,
    )


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in string.hexdigits for c in text)


def _is_long_hex(text: str) -> bool:
    return len(text) == 64 and _is_hex(text)


def _is_id(text: str) -> bool:
    # container ids are 64 hex digits; accept the 12-digit short form too
    return len(text) >= 12 and _is_hex(text)


def _short(cid: str | None) -> str:
    return (cid or "?")[:12]


def _mib(kb: int | None) -> str:
    if kb is None:
        return "?"
    mib = kb / 1024
    return f"{mib:.0f}" if mib >= 100 or mib == int(mib) else f"{mib:.1f}"
