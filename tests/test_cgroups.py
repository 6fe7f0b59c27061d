"""Who owns a memory cgroup: every memcg path in tests/cases, plus the layouts they lack."""

from __future__ import annotations

import re

import pytest

from conftest import CASES
from oomlens.analyze.cgroups import KNOBS, Attribution, advice, attribute

POD = "62015ce8-a46f-4b0e-a5a1-3082235c62dd"
CID = "2cc85334e5030168b240f87215d26ecb97dd99c09237bd0a03d8957dafb33187"
POD_ = POD.replace("-", "_")  # the systemd driver's spelling
KIND_NODE = "428406e4f18a1cb65e9691d40b63f3d92c95c1b0d15b5c427bed470b6832cd6e"

# Every memcg path the kernel printed in tests/cases → (kind, pod uid, qos, container id,
# runtime, unit). A new case with a new path fails test_every_case_path_is_listed.
CASE_PATHS: dict[str, tuple[str, str | None, str | None, str | None, str | None, str | None]] = {
    f"/kubepods/burstable/pod{POD}": ("kubernetes-pod", POD, "burstable", None, None, None),
    f"/kubepods/burstable/pod{POD}/{CID}": (
        "kubernetes-container",
        POD,
        "burstable",
        CID,
        None,
        None,
    ),
    "/kubepods/burstable/podd11ab7b0-d6db-4a24-a7de-4a2faf1e6980/"
    "9f02d9fa0049eb2655fc83c765f142362b2cb403b57b70ba3185071015ca3b64": (
        "kubernetes-container",
        "d11ab7b0-d6db-4a24-a7de-4a2faf1e6980",
        "burstable",
        "9f02d9fa0049eb2655fc83c765f142362b2cb403b57b70ba3185071015ca3b64",
        None,
        None,
    ),
    "/kubepods/burstable/pode501ca8a-ec23-11e8-b17a-0a586444015a": (
        "kubernetes-pod",
        "e501ca8a-ec23-11e8-b17a-0a586444015a",
        "burstable",
        None,
        None,
        None,
    ),
    "/kubepods/burstable/pode501ca8a-ec23-11e8-b17a-0a586444015a/"
    "f24766bce80e0ce4f0ca2887da2be9d0d250448d7ef503d9f85bf5e549c757d5": (
        "kubernetes-container",
        "e501ca8a-ec23-11e8-b17a-0a586444015a",
        "burstable",
        "f24766bce80e0ce4f0ca2887da2be9d0d250448d7ef503d9f85bf5e549c757d5",
        None,
        None,
    ),
    "/kubepods/burstable/pod0c4e2576-ef09-11e8-b17a-0a586444015a/"
    "9df959ad4292532c5d551226063bd840b906cbf118983fffefa0e3ab90331dc2": (
        "kubernetes-container",
        "0c4e2576-ef09-11e8-b17a-0a586444015a",
        "burstable",
        "9df959ad4292532c5d551226063bd840b906cbf118983fffefa0e3ab90331dc2",
        None,
        None,
    ),
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod94eb36cd_29e1_478b_b365_4cb5dfc7d6fb.slice": (
        "kubernetes-pod",
        "94eb36cd-29e1-478b-b365-4cb5dfc7d6fb",
        "burstable",
        None,
        None,
        None,
    ),
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod94eb36cd_29e1_478b_b365_4cb5dfc7d6fb.slice/"
    "cri-containerd-46b3e0a4df44b752b841aecca454e6e78995d567912a84950390bae6f6777a63.scope": (
        "kubernetes-container",
        "94eb36cd-29e1-478b-b365-4cb5dfc7d6fb",
        "burstable",
        "46b3e0a4df44b752b841aecca454e6e78995d567912a84950390bae6f6777a63",
        "containerd",
        None,
    ),
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice": (
        "kubernetes-pod",
        "5931aa75-4603-4e65-b552-7c71cf55cfb5",
        "burstable",
        None,
        None,
        None,
    ),
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice/"
    "cri-containerd-25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca.scope": (
        "kubernetes-container",
        "5931aa75-4603-4e65-b552-7c71cf55cfb5",
        "burstable",
        "25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca",
        "containerd",
        None,
    ),
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-poddfc377c9_c533_4d51_af9e_6e0e0b3db83b.slice": (
        "kubernetes-pod",
        "dfc377c9-c533-4d51-af9e-6e0e0b3db83b",
        "burstable",
        None,
        None,
        None,
    ),
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-poddfc377c9_c533_4d51_af9e_6e0e0b3db83b.slice/"
    "cri-containerd-2260b35b008a15bd118e629c0c5d74e7f3a1fe18c724fbac61a54862fea196dc.scope": (
        "kubernetes-container",
        "dfc377c9-c533-4d51-af9e-6e0e0b3db83b",
        "burstable",
        "2260b35b008a15bd118e629c0c5d74e7f3a1fe18c724fbac61a54862fea196dc",
        "containerd",
        None,
    ),
    # kind: Kubernetes in a Docker container; guaranteed pods have no QoS segment
    f"/docker/{KIND_NODE}/kubelet/kubepods/pod1788d98a-0700-426a-8701-2312e4cc2163": (
        "kubernetes-pod",
        "1788d98a-0700-426a-8701-2312e4cc2163",
        "guaranteed",
        None,
        None,
        None,
    ),
    f"/docker/{KIND_NODE}/kubelet/kubepods/pod1788d98a-0700-426a-8701-2312e4cc2163/"
    "a07d3c191742700df28b349710c93b2014b255b22364decb09b53ca123fa8272": (
        "kubernetes-container",
        "1788d98a-0700-426a-8701-2312e4cc2163",
        "guaranteed",
        "a07d3c191742700df28b349710c93b2014b255b22364decb09b53ca123fa8272",
        None,
        None,
    ),
    "/docker/66ece93b397d49363ee39316bf5cc85c87f341cd0eee3950988cb1ff5d0c1717": (
        "docker",
        None,
        None,
        "66ece93b397d49363ee39316bf5cc85c87f341cd0eee3950988cb1ff5d0c1717",
        "docker",
        None,
    ),
    "/lxc/39004": ("lxc", None, None, None, "lxc", None),
    "/lxc/39004/ns/system.slice/"
    "docker-a59e4e7d3090c04c6ce5a4b7a8bc85228eb9b96ac00b1284643a8c7c11dda661.scope": (
        "docker",
        None,
        None,
        "a59e4e7d3090c04c6ce5a4b7a8bc85228eb9b96ac00b1284643a8c7c11dda661",
        "docker",
        None,
    ),
    "/system.slice/unattended-upgrades.service": (
        "systemd-service",
        None,
        None,
        None,
        None,
        "unattended-upgrades.service",
    ),
    "/system.slice/containerd.service": (
        "systemd-service",
        None,
        None,
        None,
        None,
        "containerd.service",
    ),
    "/system.slice/clamav-daemon.service": (
        "systemd-service",
        None,
        None,
        None,
        None,
        "clamav-daemon.service",
    ),
    "/user.slice/user-0.slice/session-3.scope": (
        "user-session",
        None,
        None,
        None,
        None,
        "user-0.slice",
    ),
    "/user.slice/user-504.slice/session-2.scope": (
        "user-session",
        None,
        None,
        None,
        None,
        "user-504.slice",
    ),
    "/user.slice/user-1000.slice/session-80.scope": (
        "user-session",
        None,
        None,
        None,
        None,
        "user-1000.slice",
    ),
    "/oomtest-a": ("cgroup", None, None, None, None, None),
    "/memcg-oom-20129-22681": ("cgroup", None, None, None, None, None),
    "/oomtest-c": ("cgroup", None, None, None, None, None),
    "/oomtest-e": ("cgroup", None, None, None, None, None),
    "/memory-limit": ("cgroup", None, None, None, None, None),
}

_PRINTED = re.compile(
    r"(?:oom_memcg=|task_memcg=|Task in |killed as a result of limit of |"
    r"Memory cgroup stats for |Tasks in )(/[^\s,:]*)"
)


def case_paths() -> set[str]:
    found: set[str] = set()
    for path in CASES.glob("*.log"):
        found.update(_PRINTED.findall(path.read_text(errors="replace")))
    return found - {"/"}


def facts(a: Attribution) -> tuple[str, str | None, str | None, str | None, str | None, str | None]:
    return (a.kind, a.pod_uid, a.qos, a.container_id, a.runtime, a.unit)


def test_every_case_path_is_listed() -> None:
    assert case_paths() <= set(CASE_PATHS), sorted(case_paths() - set(CASE_PATHS))


@pytest.mark.parametrize("path", sorted(CASE_PATHS))
def test_case_path(path: str) -> None:
    a = attribute(path)
    assert a is not None
    assert facts(a) == CASE_PATHS[path]
    assert a.path == path and a.knob == KNOBS[a.kind]


def test_nested_kind_names_the_node_container() -> None:
    a = attribute(f"/docker/{KIND_NODE}/kubelet/kubepods/pod1788d98a-0700-426a-8701-2312e4cc2163")
    assert a is not None and a.outer is not None
    assert (a.outer.kind, a.outer.container_id, a.outer.path) == (
        "docker",
        KIND_NODE,
        f"/docker/{KIND_NODE}",
    )


def test_docker_inside_proxmox_lxc() -> None:
    a = attribute(
        "/lxc/39004/ns/system.slice/"
        "docker-a59e4e7d3090c04c6ce5a4b7a8bc85228eb9b96ac00b1284643a8c7c11dda661.scope"
    )
    assert a is not None and a.outer is not None
    assert a.name == "Docker container a59e4e7d3090 in LXC container 39004"
    assert (a.outer.kind, a.outer.path) == ("lxc", "/lxc/39004")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # Kubernetes, systemd driver, other runtimes and QoS classes
        (
            f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD_}.slice/"
            f"crio-{CID}.scope",
            ("kubernetes-container", POD, "besteffort", CID, "cri-o", None),
        ),
        (
            f"/kubepods.slice/kubepods-pod{POD_}.slice/docker-{CID}.scope",
            ("kubernetes-container", POD, "guaranteed", CID, "docker", None),
        ),
        (
            f"/kubepods/pod{POD}/crio-{CID}",
            ("kubernetes-container", POD, "guaranteed", CID, "cri-o", None),
        ),
        (
            f"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
            f"kubelet-kubepods-burstable-pod{POD_}.slice/cri-containerd-{CID}.scope",
            ("kubernetes-container", POD, "burstable", CID, "containerd", None),
        ),
        ("/kubepods/besteffort", ("kubernetes-qos", None, "besteffort", None, None, None)),
        ("/kubepods.slice", ("kubernetes-qos", None, None, None, None, None)),
        # containers outside Kubernetes
        (f"/system.slice/docker-{CID}.scope", ("docker", None, None, CID, "docker", None)),
        (f"/machine.slice/libpod-{CID}.scope", ("podman", None, None, CID, "podman", None)),
        (f"/libpod_parent/libpod-{CID}", ("podman", None, None, CID, "podman", None)),
        (
            f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{CID}.scope",
            ("podman", None, None, CID, "podman", None),
        ),
        (f"/k8s.io/{CID}", ("containerd", None, None, CID, "containerd", None)),
        (f"/system.slice/nerdctl-{CID}.scope", ("containerd", None, None, CID, "containerd", None)),
        ("/lxc/web1", ("lxc", None, None, None, "lxc", None)),
        ("/lxc.payload.web1", ("lxc", None, None, None, "lxc", None)),
        # systemd
        (
            "/system.slice/nginx.service",
            ("systemd-service", None, None, None, None, "nginx.service"),
        ),
        (
            "/system.slice/docker.service",
            ("systemd-service", None, None, None, None, "docker.service"),
        ),
        ("/machine.slice", ("systemd-slice", None, None, None, None, "machine.slice")),
        ("/init.scope", ("systemd-scope", None, None, None, None, "init.scope")),
        (
            "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope",
            ("user-service", None, None, None, None, "app-firefox-1234.scope"),
        ),
    ],
)
def test_layouts_without_a_case(
    path: str, expected: tuple[str, str | None, str | None, str | None, str | None, str | None]
) -> None:
    a = attribute(path)
    assert a is not None and facts(a) == expected


def test_systemd_service_inside_lxd() -> None:
    a = attribute("/lxc.payload.web1/system.slice/nginx.service")
    assert a is not None and a.kind == "systemd-service" and a.outer is not None
    assert a.outer.name == "LXC container web1"


@pytest.mark.parametrize("path", ["", "/", "//"])
def test_root_and_empty_have_no_owner(path: str) -> None:
    assert attribute(path) is None


def test_user_session_uid() -> None:
    a = attribute("/user.slice/user-1000.slice/session-80.scope")
    assert a is not None and a.user_uid == 1000 and a.name == "session-80.scope of user-1000.slice"


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (f"/kubepods/burstable/pod{POD}/{CID}", ("resources.limits.memory", "1500Mi", CID[:12])),
        (f"/kubepods/burstable/pod{POD}", ("resources.limits.memory", "above 1500 MiB", POD)),
        (f"/docker/{CID}", ("docker update --memory", "above 1500 MiB", CID[:12])),
        (f"/machine.slice/libpod-{CID}.scope", ("podman update --memory",)),
        ("/lxc/39004", ("lxc.cgroup2.memory.max", "pct set", "above 1500 MiB")),
        (
            "/system.slice/nginx.service",
            ("MemoryMax= of nginx.service above 1500 MiB", "MemoryHigh= to about 1350 MiB"),
        ),
        ("/user.slice/user-1000.slice/session-3.scope", ("set-property user-1000.slice",)),
        ("/oomtest-a", ("memory.max", "memory.limit_in_bytes", "memory.high to about 1350 MiB")),
        ("/kubepods/besteffort", ("--system-reserved", "--eviction-hard")),
    ],
)
def test_advice_names_the_knob_with_the_log_numbers(path: str, words: tuple[str, ...]) -> None:
    text = advice(attribute(path), 1536000)
    for w in words:
        assert w in text, (w, text)


def test_advice_without_limit_or_owner() -> None:
    assert "above its current limit" in advice(attribute("/system.slice/x.service"), None)
    assert advice(None, None).startswith("Raise the memory limit")
