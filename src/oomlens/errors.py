"""One root exception; the command line turns it into one line on stderr and an exit code."""

from __future__ import annotations

from typing import Any


class OomlensError(Exception):
    """Root of every error oomlens raises on purpose. `str()` is the message for the user."""

    exit_code = 2


class SourceError(OomlensError):
    """An input could not be read: missing, unreadable, not a log.

    `events` holds what was found before the damage when a source broke part-way.
    """

    events: tuple[Any, ...] = ()


class ParseError(OomlensError):
    """A line could not be parsed and `--strict` asked for that to be an error."""

    def __init__(self, message: str, *, path: str, line_no: int) -> None:
        super().__init__(f"{path}:{line_no}: {message}")
        self.path = path
        self.line_no = line_no
