"""Plugins: an installed package adds a reader, a task or an architecture through a Python entry point.

Groups: ``embedeval.readers``, ``embedeval.tasks``, ``embedeval.architectures``. An entry point names either a spec
object (a ``Reader``, ``Task`` or ``ArchSpec``), which is registered, or a function of no arguments that registers
what it brings itself. Each group is loaded once per process, the first time its registry is asked, so a fresh
process (``embedeval --help``, ``load_model`` of a run trained with a plugin architecture) sees it. A plugin that
fails to load is skipped with a warning naming it: one broken package must not stop every command.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

GROUPS = ("embedeval.readers", "embedeval.tasks", "embedeval.architectures")
_loaded: set[str] = set()


def load_group(group: str, register: Callable[[Any], Any], kind: type) -> None:
    """Load every entry point of ``group`` once: a ``kind`` object is passed to ``register``, a callable is called."""
    if group in _loaded:
        return
    _loaded.add(group)
    from importlib.metadata import entry_points

    for point in entry_points(group=group):
        try:
            found = point.load()
            if isinstance(found, kind):
                register(found)
            elif callable(found):
                found()
            else:
                raise TypeError(f"names a {type(found).__name__}, not a {kind.__name__} or a function")
        except Exception as err:  # a plugin's own failure, whatever it is: reported, not raised
            warnings.warn(f"embedeval plugin {point.name!r} ({point.value}) was not loaded: {err}", stacklevel=2)


def reset(group: str) -> None:
    """Forget that ``group`` was loaded (tests that install a plugin during the process)."""
    _loaded.discard(group)
