"""The two rich consoles every command prints through (results on stdout, messages on stderr)."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape

# A closed standard output (`embedeval ... >&-`) is None in Python: print into nothing instead of crashing; an output
# asked for on "-" then says it is closed (files._write_stdout). A terminal that cannot encode a character (an ASCII
# locale, PYTHONIOENCODING=ascii) gets a replacement, not an exception.
for _name in ("stdout", "stderr"):
    _stream = getattr(sys, _name)
    if _stream is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
    elif hasattr(_stream, "reconfigure"):
        try:
            _stream.reconfigure(errors="backslashreplace")
        except (ValueError, OSError):
            pass

# Piped output has no terminal width: rich would wrap at 80 columns, splitting tables and paths. In a pipe or a log,
# give tables room and never wrap a line of text (soft_wrap); a terminal keeps its own width.
# emoji=False: names a user gives (a split "ptb:train:", a file "a:smile:b") must print as they are, not as emoji
console = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=not sys.stdout.isatty(), emoji=False)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200, soft_wrap=not sys.stderr.isatty(),
                      emoji=False)  # fmt: skip


def _one_line_plugin_warnings() -> None:
    """A plugin that failed to load is one line on stderr, not Python's warning with a source line."""
    import warnings

    from embedeval.plugins import PluginWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001 - warnings' own signature
        if issubclass(category, PluginWarning):
            err_console.print(f"[yellow]warning[/]: {escape(str(message))}", highlight=False, soft_wrap=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


_one_line_plugin_warnings()  # before any command module lists the registries (and loads the plugins)
