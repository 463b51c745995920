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


def is_plugin(target: str) -> bool:
    """Whether a registry entry's "module:name" is an installed package's, not embedeval's own."""
    return not target.startswith("embedeval.")


def call(kind: str, name: str, hook: str, target: str, *args: Any) -> Any:
    """Call a registry entry's hook. A plugin's own exception becomes one line naming the plugin (its author's bug,
    not the user's input; ``EMBEDEVAL_DEBUG=1`` keeps the traceback); embedeval's own hooks are called as they are."""
    import os

    from embedeval.errors import EmbedevalError

    if not is_plugin(target) or os.environ.get("EMBEDEVAL_DEBUG"):
        return resolve(target)(*args)
    try:
        return resolve(target)(*args)
    except EmbedevalError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever a plugin raises
        raise EmbedevalError(f"the plugin {kind} {name!r} failed in its {hook} hook ({target}): {type(err).__name__}: "
                             f"{err} (a bug of that plugin; EMBEDEVAL_DEBUG=1 shows its traceback)") from None  # fmt: skip


def plain(value: Any, where: str) -> Any:
    """``value`` as JSON data (NumPy scalars and arrays become numbers and lists), or one line naming what is not."""
    import math

    import numpy as np

    from embedeval.errors import EmbedevalError

    if isinstance(value, dict):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return plain(value.tolist(), where)
    if isinstance(value, np.generic):
        return plain(value.item(), where)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # results.json holds no NaN: an undefined value is null, as everywhere else
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise EmbedevalError(f"{where} holds a {type(value).__name__}: a task's rows are plain data (numbers, strings, "
                         "lists and dicts)")  # fmt: skip


class PluginWarning(UserWarning):
    """A plugin that could not be loaded (the command goes on without it); the command line prints it in one line."""


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
            warnings.warn(PluginWarning(f"embedeval plugin {point.name!r} ({point.value}) was not loaded: {err}"),
                          stacklevel=2)  # fmt: skip


def reset(group: str) -> None:
    """Forget that ``group`` was loaded (tests that install a plugin during the process)."""
    _loaded.discard(group)


class Registry:
    """Named specs of one kind (readers, tasks), with the entry point group that adds an installed package's: the
    one place that registers, scopes a registration to a test, and lists them."""

    def __init__(self, group: str, kind: type, what: str, check: Callable[[Any, list[Any]], None] | None = None):
        self.group, self.kind, self.what, self.check = group, kind, what, check
        self._specs: dict[str, Any] = {}

    def register(self, spec: Any) -> Any:
        if spec.name in self._specs and self._specs[spec.name] != spec:
            raise ValueError(f"a {self.what} named {spec.name!r} is registered already")
        if self.check is not None:
            self.check(spec, [s for s in self._specs.values() if s.name != spec.name])
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
