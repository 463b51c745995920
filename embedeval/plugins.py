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


def resolve(target: str) -> Any:
    """The object a registry entry names as "module:name" (its module imported now, not when registered)."""
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


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


class Registry:
    """Named specs of one kind (readers, tasks), with the entry point group that adds an installed package's: the
    one place that registers, scopes a registration to a test, and lists them."""

    def __init__(self, group: str, kind: type, what: str):
        self.group, self.kind, self.what = group, kind, what
        self._specs: dict[str, Any] = {}

    def register(self, spec: Any) -> Any:
        if spec.name in self._specs and self._specs[spec.name] != spec:
            raise ValueError(f"a {self.what} named {spec.name!r} is registered already")
        self._specs[spec.name] = spec
        return spec

    def registered(self, spec: Any) -> Any:
        """A spec registered for a ``with`` block only (tests)."""
        import contextlib

        @contextlib.contextmanager
        def scope():
            self.register(spec)
            try:
                yield spec
            finally:
                self._specs.pop(spec.name, None)

        return scope()

    def all(self) -> list[Any]:
        """Every spec, the installed plugins' included (their group loaded on first use)."""
        load_group(self.group, self.register, self.kind)
        return list(self._specs.values())
