"""The task registry's types and functions (the package ``embedeval.tasks`` registers the built-in tasks)."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from embedeval.errors import EmbedevalError


@dataclass
class TaskContext:
    """What a task is given: the inputs as read (:class:`embedeval.report.sources.Sources`), the settings (the
    pipeline's :class:`embedeval.pipeline.Settings`), the word-pair scores when benchmarks were scored, and a
    function that reports progress in one line."""

    sources: Any
    settings: Any
    similarity: Any = None
    say: Callable[[str], None] = lambda text: None
    options: dict[str, Any] = field(default_factory=dict)  # the task's own settings (--corpus of the token task)


@dataclass
class Section:
    """A report section as plain data: the page escapes every string."""

    id: str
    title: str
    intro: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Task:
    name: str
    about: str  # one line for --help
    run: str  # "module:function" (TaskContext) -> list[dict]: the rows, plain data
    json_key: str  # the field of results.json that holds the rows
    csv_name: str = ""  # the file of a report folder that holds them ("" : none)
    csv_rows: str = ""  # "module:function" (rows) -> list[dict] (flat, for the CSV); default: the rows
    table: str = ""  # "module:function" (rows, console) -> None: the terminal table
    section: str = ""  # "module:function" (rows) -> Section | None
    in_compare: bool = False  # compare runs it unless told not to (--no-task NAME); eval only when asked

    def call(self, hook: str, *args: Any) -> Any:
        target = getattr(self, hook)
        if not target:
            return None
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)(*args)


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    if task.name in _TASKS and _TASKS[task.name] != task:
        raise ValueError(f"a task named {task.name!r} is registered already")
    _TASKS[task.name] = task
    return task


@contextlib.contextmanager
def registered(task: Task) -> Iterator[Task]:
    """A task registered for the ``with`` block only (tests)."""
    register_task(task)
    try:
        yield task
    finally:
        _TASKS.pop(task.name, None)


def tasks() -> list[Task]:
    from embedeval.plugins import load_group

    load_group("embedeval.tasks", register_task, Task)
    return list(_TASKS.values())


def get_task(name: str) -> Task:
    for task in tasks():
        if task.name == name:
            return task
    raise EmbedevalError(f"unknown task {name!r}; known tasks: {', '.join(t.name for t in tasks())}")
