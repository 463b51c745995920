"""The two rich consoles every command prints through (results on stdout, messages on stderr)."""

from __future__ import annotations

import sys

from rich.console import Console

# Piped output has no terminal width; 80 columns would wrap every table, so give it room.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
