"""One error type for everything a user can get wrong.

The CLI turns an :class:`EmbedevalError` into a single line on stderr and exit code 2, so the message
must say what was wrong and where (file, line, value) without a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

# C0 and C1 control characters (ESC, BEL, CR ...): never sent raw to a terminal, where "ESC[2J" in a file name
# would clear the screen. Tab and newline stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), safe for a terminal."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: object) -> str:
    """``text`` with every control character escaped, newline and tab too: for names and paths, which a table
    cell or a ``file:line:`` prefix shows on one line."""
    return _ANY_CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def markup_safe(text: object) -> str:
    """``text`` for a rich markup string: control characters escaped, ``[`` not read as a style tag."""
    from rich.markup import escape

    return escape(printable(text))


def mathtext_safe(text: object) -> str:
    """``text`` for a matplotlib label: ``$`` does not start math mode."""
    return printable(text).replace("$", r"\$")


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
            where = one_line(self.path) + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.message
