"""`oomlens serve` without a browser: the HTTP API, its limits and the history store."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CASES
from oomlens import store
from oomlens.analyze import diagnose
from oomlens.reader import read_source
from oomlens.render.jsondoc import to_document
from oomlens.sources import Source
from oomlens.web import Server, make_server, parse_size
from oomlens.web_api import ApiError, parse_since, source_name

CASE = CASES / "real-6.18-memcg-v1-single.log"
MULTI = CASES / "omexp-containerd2-4.18.log"


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def run(**kwargs: Any) -> Server:
        kwargs.setdefault("db", tmp_path / "none" / "history.db")
        server = make_server("127.0.0.1", 0, log=None, **kwargs)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield run
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(start: Any) -> Server:
    return start()  # type: ignore[no-any-return]


def request(
    server: Server,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def expected_document(path: Path, name: str = "upload") -> Any:
    events = read_source(Source(name=name, path=path))
    return json.loads(json.dumps(to_document(diagnose(events, sources=[name]))))


# ---------------------------------------------------------------------------------------
# the page and the OpenAPI document


def test_page_carries_its_policy_as_a_header(server: Server) -> None:
    status, headers, body = request(server, "GET", "/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"] == server.page.csp + "; frame-ancestors 'none'"
    assert "connect-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert b'id="oomlens-config">' in body and b'"mode":"app"' in body


def test_openapi_describes_the_api(server: Server) -> None:
    status, headers, body = request(server, "GET", "/api/openapi.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    assert doc["openapi"].startswith("3.")
    assert {"/api/analyze", "/api/events", "/api/events/{id}"} <= set(doc["paths"])
    assert "413" in doc["paths"]["/api/analyze"]["post"]["responses"]


def test_schema_is_served(server: Server) -> None:
    status, _, body = request(server, "GET", "/api/schema.json")
    assert status == 200 and json.loads(body)


# ---------------------------------------------------------------------------------------
# POST /api/analyze


def test_analyze_returns_the_json_document(server: Server) -> None:
    status, headers, body = request(server, "POST", "/api/analyze", CASE.read_bytes())
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body) == expected_document(CASE)


def test_analyze_names_the_upload_by_its_base_name_only(server: Server) -> None:
    path = "/api/analyze?name=../../etc/kern%3Cb%3E.log"
    status, _, body = request(server, "POST", path, MULTI.read_bytes())
    doc = json.loads(body)
    assert status == 200 and doc["sources"] == ["kern_b_.log"]
    assert len(doc["events"]) == 7


def test_analyze_reads_compressed_uploads(server: Server) -> None:
    status, _, body = request(server, "POST", "/api/analyze", gzip.compress(CASE.read_bytes()))
    assert status == 200 and json.loads(body) == expected_document(CASE)


def test_text_without_oom_gives_no_events(server: Server) -> None:
    status, _, body = request(server, "POST", "/api/analyze", b"hello\nworld\n")
    assert status == 200 and json.loads(body)["events"] == []


def test_binary_upload_is_refused(server: Server) -> None:
    status, _, body = request(server, "POST", "/api/analyze", b"x" + b"\0" * 4096)
    assert status == 422 and "binary" in json.loads(body)["error"]


def test_empty_upload_is_refused(server: Server) -> None:
    status, _, body = request(server, "POST", "/api/analyze", b"")
    assert status == 400 and "empty" in json.loads(body)["error"]


def test_upload_over_the_limit_is_413(start: Any) -> None:
    server = start(max_upload=1000)
    status, headers, body = request(server, "POST", "/api/analyze", CASE.read_bytes())
    assert status == 413
    assert "--max-upload" in json.loads(body)["error"]
    assert headers["connection"] == "close"


def test_expect_100_upload_over_the_limit_is_refused_before_the_body(start: Any) -> None:
    server = start(max_upload=1000)
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5) as sock:
        sock.sendall(
            b"POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 999999\r\n"
            b"Expect: 100-continue\r\n\r\n" % server.server_address[1]
        )
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_upload_without_length_is_411(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5) as sock:
        port = server.server_address[1]
        sock.sendall(b"POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)
        assert sock.recv(65536).startswith(b"HTTP/1.1 411 ")


def test_uploads_live_in_a_temporary_directory_only(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    status, _, _ = request(server, "POST", "/api/analyze?name=/etc/passwd", CASE.read_bytes())
    assert status == 200
    assert list(scratch.iterdir()) == []  # written there, and removed afterwards


# ---------------------------------------------------------------------------------------
# methods, paths, hosts


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/analyze", "POST"),
        ("DELETE", "/api/analyze", "POST"),
        ("POST", "/api/events", "GET"),
        ("PUT", "/", "GET"),
        ("POST", "/api/events/1", "GET"),
    ],
)
def test_wrong_method_is_405(server: Server, method: str, path: str, allow: str) -> None:
    status, headers, body = request(server, method, path, b"x" if method != "GET" else None)
    assert status == 405 and headers["allow"] == allow
    assert "not allowed" in json.loads(body)["error"]


@pytest.mark.parametrize("path", ["/nope", "/api", "/api/event", "/../etc/passwd", "/api/events/x"])
def test_unknown_path_is_404(server: Server, path: str) -> None:
    status, _, body = request(server, "GET", path)
    assert status == 404 and json.loads(body)["error"]


def test_foreign_host_header_is_refused(server: Server) -> None:
    status, _, _ = request(server, "GET", "/", headers={"Host": "attacker.example:80"})
    assert status == 403
    port = server.server_address[1]
    assert request(server, "GET", "/", headers={"Host": f"localhost:{port}"})[0] == 200


# ---------------------------------------------------------------------------------------
# the history store


@pytest.fixture
def filled_db(tmp_path: Path) -> Path:
    """A real history database holding the seven events of the multi-event case."""
    db = tmp_path / "history.db"
    with store.History(db) as history:
        for event in expected_document(MULTI)["events"]:
            history.add(event)
    return db


def test_events_filtered_through_the_store(start: Any, filled_db: Path) -> None:
    server = start(db=filled_db)
    status, _, body = request(server, "GET", "/api/events?host=some-kube-node1&limit=5")
    rows = json.loads(body)
    assert status == 200 and len(rows) == 5
    assert {r["host"] for r in rows} == {"some-kube-node1"}
    times = [r["time"] for r in rows]
    assert times == sorted(times, reverse=True)  # newest first
    status, _, body = request(server, "GET", "/api/events?host=elsewhere")
    assert status == 200 and json.loads(body) == []
    status, _, body = request(server, "GET", "/api/events?victim=framework&cgroup=/kubepods")
    assert status == 200 and len(json.loads(body)) == 7
    status, _, body = request(server, "GET", f"/api/events/{rows[0]['id']}")
    assert status == 200 and json.loads(body)["victim"]["pid"] == rows[0]["victim_pid"]
    assert request(server, "GET", "/api/events/99999")[0] == 404


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "since=yesterday", "colour=red"])
def test_bad_filters_are_400(start: Any, filled_db: Path, query: str) -> None:
    status, _, body = request(start(db=filled_db), "GET", f"/api/events?{query}")
    assert status == 400 and json.loads(body)["error"]


def test_missing_database_is_503(server: Server) -> None:
    status, _, body = request(server, "GET", "/api/events")
    assert status == 503 and "no history store" in json.loads(body)["error"]


# ---------------------------------------------------------------------------------------
# helpers


@pytest.mark.parametrize(
    ("text", "size"),
    [("50M", 50 * 1024**2), ("512k", 512 * 1024), ("1GiB", 1024**3), ("1000", 1000)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1M", "lots", "0"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    ("raw", "name"),
    [(None, "upload"), ("../../etc/passwd", "passwd"), ("C:\\x\\kern.log", "kern.log"),
     ("..", "upload"), ("<script>.log", "_script_.log")],
)  # fmt: skip
def test_source_name(raw: str | None, name: str) -> None:
    assert source_name(raw) == name


def test_parse_since() -> None:
    assert parse_since("1700000000") == 1700000000.0
    assert parse_since("2023-11-14T22:13:20Z") == 1700000000.0
    with pytest.raises(ApiError):
        parse_since("last tuesday")
