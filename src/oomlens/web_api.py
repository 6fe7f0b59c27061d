"""What `oomlens serve` answers, apart from HTTP: analyse an upload, read the history, OpenAPI.

Pure functions and small classes that the request handler in `oomlens.web` calls; each failure
is an `ApiError` that carries its HTTP status and a message that says what to do next.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from oomlens import store
from oomlens.errors import OomlensError

CHUNK = 64 * 1024
LIST_LIMIT_MAX = 1000
EVENT_FILTERS = ("since", "host", "cgroup", "victim", "limit")


class ApiError(Exception):
    """A request that cannot be answered: `status` is the HTTP status, str() the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------
# POST /api/analyze


def source_name(raw: str | None) -> str:
    """The name an upload is shown under: the last path part, tame characters only."""
    if not raw:
        return "upload"
    base = re.split(r"[/\\]", raw)[-1]
    name = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:80]
    return name or "upload"


def analyze_upload(
    stream: IO[bytes] | io.BufferedIOBase, length: int, *, name: str = "upload"
) -> dict[str, Any]:
    """Read `length` bytes of a log from `stream` and return its JSON document.

    The bytes go to a file in a fresh temporary directory (removed afterwards) and through the
    normal reader, so compressed uploads work too; nothing from the request names that file.
    """
    from oomlens.analyze import diagnose
    from oomlens.reader import read_source
    from oomlens.render.jsondoc import to_document
    from oomlens.sources import Source

    with tempfile.TemporaryDirectory(prefix="oomlens-upload-") as tmp:
        path = Path(tmp) / "upload.log"
        with path.open("wb") as out:
            remaining = length
            while remaining > 0:
                chunk = stream.read(min(CHUNK, remaining))
                if not chunk:
                    raise ApiError(
                        400, f"the upload ended after {length - remaining} of {length} bytes"
                    )
                out.write(chunk)
                remaining -= len(chunk)
        try:
            events = read_source(Source(name=name, path=path))
        except OomlensError as err:
            raise ApiError(422, str(err).replace(str(path), name)) from err
    return to_document(diagnose(events, sources=[name]))


# ---------------------------------------------------------------------------------------
# GET /api/events, /api/events/{id}: the history store


class History:
    """The history store (`oomlens.store`) behind the API, opened per request."""

    def __init__(self, db: Path | None) -> None:
        self.db = db if db is not None else store.default_path()

    @contextlib.contextmanager
    def open(self) -> Iterator[store.History]:
        """The store, or ApiError 503 with the reason it cannot be used (e.g. not made yet)."""
        try:
            history = store.History(self.db, create=False)
        except OomlensError as err:
            raise ApiError(503, f"no history store: {err}") from err
        try:
            yield history
        finally:
            history.close()

    def list_events(self, query: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        """GET /api/events: the filters from the query string, validated; newest first."""
        unknown = sorted(set(query) - set(EVENT_FILTERS))
        if unknown:
            raise ApiError(
                400, f"unknown filter {unknown[0]!r} (known: {', '.join(EVENT_FILTERS)})"
            )
        one = {k: v[-1].strip() for k, v in query.items() if v and v[-1].strip()}
        limit = _limit(one.pop("limit", None))
        since = parse_since(one.pop("since")) if "since" in one else None
        with self.open() as history:
            rows = history.rows(store.Filters(since=since, **one), limit=limit)
        return [_plain(dataclasses.asdict(r)) for r in reversed(rows)]

    def get_event(self, raw_id: str) -> dict[str, Any]:
        """GET /api/events/{id}: the stored event document, or ApiError 404."""
        if not raw_id.isdigit() or len(raw_id) > 18:
            raise ApiError(404, f"no event {raw_id!r}: ids are whole numbers")
        with self.open() as history:
            doc = history.get(int(raw_id))
        if doc is None:
            raise ApiError(404, f"no event {raw_id} in the history")
        return doc


def parse_since(text: str) -> float:
    """`since` as Unix time: a number, or an ISO date/time (local time unless it has an offset,
    as the history reads the syslog stamps it stores)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ApiError(
            400, f"since={text!r} is not a time (use 2026-09-04, 2026-09-04T03:00 or Unix seconds)"
        ) from err
    return when.timestamp()


def _limit(text: str | None) -> int:
    if text is None:
        return 100
    if not text.isdigit() or not 1 <= int(text) <= LIST_LIMIT_MAX:
        raise ApiError(400, f"limit={text!r}: give a whole number from 1 to {LIST_LIMIT_MAX}")
    return int(text)


def _plain(row: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return dataclasses.asdict(row)
    return dict(row)


# ---------------------------------------------------------------------------------------
# GET /api/openapi.json


def _error_response(what: str) -> dict[str, Any]:
    return {
        "description": what,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi(version: str, max_upload: int) -> dict[str, Any]:
    """The OpenAPI 3 description of the API."""
    report = {"$ref": "#/components/schemas/Report"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "oomlens",
            "version": version,
            "description": "Turn Linux OOM-killer logs into answers. Local use: the server "
            "binds 127.0.0.1 by default and stores nothing it is sent.",
        },
        "paths": {
            "/api/analyze": {
                "post": {
                    "summary": "Analyse a kernel log",
                    "description": "The body is the log: text or bytes (plain, .gz, .xz, .bz2), "
                    f"at most {max_upload} bytes (oomlens serve --max-upload). A body without "
                    "an OOM report gives a document with no events.",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "query",
                            "required": False,
                            "description": "the name to show for the upload (e.g. its file name)",
                            "schema": {"type": "string", "maxLength": 200},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "text/plain": {"schema": {"type": "string"}},
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            },
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "the JSON document (as oomlens analyze --format json)",
                            "content": {"application/json": {"schema": report}},
                        },
                        "400": _error_response("empty or cut-off body"),
                        "411": _error_response("no Content-Length"),
                        "413": _error_response("the body is larger than --max-upload"),
                        "422": _error_response("not a text log (binary data)"),
                    },
                }
            },
            "/api/events": {
                "get": {
                    "summary": "Events in the history store, newest first",
                    "parameters": [
                        _query(
                            "since", "Unix seconds, or ISO time (local unless it has an offset)"
                        ),
                        _query("host", "host name"),
                        _query("cgroup", "this memory cgroup or below"),
                        _query("victim", "victim name, or pid when all digits"),
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "one row per event",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/EventRow"},
                                    }
                                }
                            },
                        },
                        "400": _error_response("bad filter"),
                        "503": _error_response("no history store"),
                    },
                }
            },
            "/api/events/{id}": {
                "get": {
                    "summary": "One stored event: its JSON document",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the event document (one item of Report.events)",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "404": _error_response("no such event"),
                        "503": _error_response("no history store"),
                    },
                }
            },
            "/api/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}
            },
            "/api/schema.json": {
                "get": {
                    "summary": "The JSON Schema of the report document",
                    "responses": {"200": {"description": "OK"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
                "Report": {
                    "type": "object",
                    "description": "schema 1: see GET /api/schema.json",
                    "properties": {
                        "schema": {"type": "integer"},
                        "sources": {"type": "array", "items": {"type": "string"}},
                        "events": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "EventRow": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "time": {"type": "string", "nullable": True},
                        "host": {"type": "string", "nullable": True},
                        "scope": {"type": "string", "nullable": True},
                        "memcg": {"type": "string", "nullable": True},
                        "victim_comm": {"type": "string", "nullable": True},
                        "victim_pid": {"type": "integer", "nullable": True},
                    },
                },
            }
        },
    }


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": "string"}}
