"""`oomlens serve`: the report page as a local web app, and its JSON API (standard library).

GET /                     the page (same HTML, CSS and JS as --format html, fed by the API)
POST /api/analyze         body = a log (text or bytes) → the JSON document
GET /api/events[?filters] the history store's events; GET /api/events/{id}: one event
GET /api/openapi.json     the OpenAPI 3 description; GET /api/schema.json: the document schema

It binds 127.0.0.1 by default and, when bound to a loopback address, answers only requests
whose Host is that address (a web page cannot reach it through DNS rebinding). Uploads are
capped (`max_upload`, HTTP 413) and parsed from a temporary directory; nothing is stored.
"""

from __future__ import annotations

import ipaddress
import json
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from oomlens import __version__
from oomlens.errors import OomlensError
from oomlens.render.htmlpage import Page, build_page
from oomlens.web_api import ApiError, History, analyze_upload, openapi, source_name

DEFAULT_PORT = 8321
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
DRAIN_MAX = 8 * 1024 * 1024  # read and drop this much of a refused body so the 413 arrives
PARALLEL_ANALYSES = 2
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# path → the methods it answers
ROUTES = {
    "/": ("GET",),
    "/index.html": ("GET",),
    "/api/analyze": ("POST",),
    "/api/events": ("GET",),
    "/api/openapi.json": ("GET",),
    "/api/schema.json": ("GET",),
}


def parse_size(text: str) -> int:
    """ "50M" / "512k" / "1G" / "1000" → bytes (binary units); ValueError when not a size."""
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in units else ""
    number = float(t[: len(t) - len(unit)])
    if number <= 0:
        raise ValueError(f"not a positive size: {text!r}")
    return int(number * units[unit])


class Server(ThreadingHTTPServer):
    """The HTTP server with what its handlers share: page, history, limits."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        db: Path | None = None,
        max_upload: int = DEFAULT_MAX_UPLOAD,
        log: TextIO | None = sys.stderr,
    ) -> None:
        super().__init__(address, Handler)
        self.max_upload = max_upload
        self.history = History(db)
        self.log = log
        self.analyses = threading.BoundedSemaphore(PARALLEL_ANALYSES)
        self.page: Page = build_page(
            None,
            config={
                "mode": "app",
                "max_upload": max_upload,
                "history": True,
            },
        )
        self.allowed_hosts = _allowed_hosts(address[0], self.server_address[1])

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


class Handler(BaseHTTPRequestHandler):
    """One request: route by path and method; every answer carries the security headers."""

    server: Server
    server_version = f"oomlens/{__version__}"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds a client may stay silent: a stalled upload does not hold a thread

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def handle_expect_100(self) -> bool:
        # `curl --data-binary @big.log` asks first: refuse a too-large body before it is sent
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.server.max_upload:
            self._too_large(int(length), drain=False)
            return False
        return super().handle_expect_100()

    def _dispatch(self, method: str) -> None:
        try:
            if not self._host_allowed():
                raise ApiError(403, "this server only answers to its own address (Host header)")
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
            methods = ROUTES.get(path)
            if methods is None and path.startswith("/api/events/"):
                methods = ("GET",)
            if methods is None:
                raise ApiError(404, f"no such page: {path} (see /api/openapi.json)")
            if method not in methods:
                self._json(
                    405, {"error": f"{method} is not allowed here"}, Allow=", ".join(methods)
                )
                return
            self._route(method, path, query)
        except ApiError as err:
            self._json(err.status, {"error": str(err)})
        except Exception:  # a bug: answer 500, keep serving, show the traceback on the console
            if self.server.log is not None:
                traceback.print_exc(file=self.server.log)
            self.close_connection = True
            self._json(500, {"error": "internal error (see the server's console)"})

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        server = self.server
        if path in ("/", "/index.html"):
            body = server.page.html.encode("utf-8")
            csp = server.page.csp + "; frame-ancestors 'none'"
            self._send(200, body, "text/html; charset=utf-8", csp=csp)
        elif path == "/api/openapi.json":
            self._json(200, openapi(__version__, server.max_upload))
        elif path == "/api/schema.json":
            schema = resources.files("oomlens") / "schema" / "report.schema.json"
            self._send(200, schema.read_bytes(), "application/json")
        elif path == "/api/analyze":
            self._analyze(query)
        elif path == "/api/events":
            self._json(200, server.history.list_events(query))
        else:
            self._json(200, server.history.get_event(path.removeprefix("/api/events/")))

    def _analyze(self, query: dict[str, list[str]]) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise ApiError(411, "send the log with a Content-Length (chunked bodies are refused)")
        raw = self.headers.get("Content-Length")
        if raw is None:
            self.close_connection = True
            raise ApiError(411, "send the log with a Content-Length header")
        if not raw.strip().isdigit():
            self.close_connection = True
            raise ApiError(400, f"bad Content-Length: {raw!r}")
        length = int(raw)
        if length > self.server.max_upload:
            self._too_large(length, drain=True)
            return
        if length == 0:
            raise ApiError(400, "the upload is empty: send the log text as the request body")
        name = source_name((query.get("name") or [""])[-1])
        with self.server.analyses:
            try:
                doc = analyze_upload(self.rfile, length, name=name)
            except (ApiError, OomlensError):
                self.close_connection = True  # part of the body may still be unread
                raise
        self._json(200, doc)

    def _too_large(self, length: int, *, drain: bool) -> None:
        limit = self.server.max_upload
        self.close_connection = True
        self._json(
            413,
            {
                "error": f"the upload is {_mib(length)}: this server takes at most {_mib(limit)} "
                "(start oomlens serve with a larger --max-upload)",
                "max_upload": limit,
            },
        )
        if drain:
            # closing with unread data makes the kernel send a reset, and the client may lose
            # the 413 it was sent: read (and drop) a bounded part of the body first
            try:
                self.connection.settimeout(2)
                left = min(length, DRAIN_MAX)
                while left > 0:
                    chunk = self.rfile.read(min(65536, left))
                    if not chunk:
                        break
                    left -= len(chunk)
            except OSError:
                pass

    def _host_allowed(self) -> bool:
        allowed = self.server.allowed_hosts
        return allowed is None or self.headers.get("Host", "").lower() in allowed

    def _json(self, status: int, value: Any, **headers: str) -> None:
        body = json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", **headers)

    def _send(
        self, status: int, body: bytes, ctype: str, *, csp: str = API_CSP, **headers: str
    ) -> None:
        if status >= 400:
            self.close_connection = True  # a request body may be left unread: start afresh
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", csp)
        for key, value in {**SECURITY_HEADERS, **headers}.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log.write(f"{self.address_string()} {format % args}\n")


def make_server(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    db: Path | None = None,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    log: TextIO | None = sys.stderr,
) -> Server:
    """A bound server (port 0: any free port; see `server.url`); call serve_forever()."""
    try:
        return Server((host, port), db=db, max_upload=max_upload, log=log)
    except OSError as err:
        hint = "pick another --port" if err.errno == 98 else "check --host"
        raise OomlensError(f"cannot listen on {host}:{port}: {err.strerror} ({hint})") from err


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    db: Path | None = None,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    out: TextIO = sys.stderr,
) -> int:
    """Serve until Ctrl-C; returns 0. Raises OomlensError when the address cannot be bound."""
    server = make_server(host, port, db=db, max_upload=max_upload, log=out)
    history = f"history: {server.history.db}"
    print(f"oomlens: serving on {server.url} ({history}; Ctrl-C to stop)", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    """The Host headers a loopback-bound server answers to; None (any) otherwise."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        return None
    names = {"localhost", "127.0.0.1", "[::1]", f"[{host}]" if ":" in host else host.lower()}
    with_port = frozenset(f"{n}:{port}" for n in names)
    return with_port | frozenset(names) if port == 80 else with_port


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"
