"""One error type for everything a user can get wrong.

The CLI turns an :class:`EmbedevalError` into a single line on stderr and exit code 2, so the message
must say what was wrong and where (file, line, value) without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class EmbedevalError(Exception):
    """A problem with the user's input or setup, reported as ``file:line: message``."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.message
