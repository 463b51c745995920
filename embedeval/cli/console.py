"""The two rich consoles every command prints through (results on stdout, messages on stderr)."""

from __future__ import annotations

import sys

from rich.console import Console

# Piped output has no terminal width: rich would wrap at 80 columns, splitting tables and paths. In a pipe or a log,
# give tables room and never wrap a line of text (soft_wrap); a terminal keeps its own width.
console = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200, soft_wrap=not sys.stderr.isatty())
