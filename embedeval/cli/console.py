"""The two rich consoles every command prints through (results on stdout, messages on stderr)."""

from __future__ import annotations

import sys

from rich.console import Console

# Piped output has no terminal width: rich would wrap at 80 columns, splitting tables and paths. In a pipe or a log,
# give tables room and never wrap a line of text (soft_wrap); a terminal keeps its own width.
# emoji=False: names a user gives (a split "ptb:train:", a file "a:smile:b") must print as they are, not as emoji
console = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=not sys.stdout.isatty(), emoji=False)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200, soft_wrap=not sys.stderr.isatty(),
                      emoji=False)  # fmt: skip
