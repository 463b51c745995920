"""The task registry's types and functions (the package ``embedeval.tasks`` registers the built-in tasks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from embedeval.errors import EmbedevalError
from embedeval.plugins import Registry, resolve


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
        return resolve(target)(*args)


_REGISTRY = Registry("embedeval.tasks", Task, "task")


def register_task(task: Task) -> Task:
    return _REGISTRY.register(task)


def registered(task: Task) -> Any:
    """A task registered for the ``with`` block only (tests)."""
    return _REGISTRY.registered(task)


def tasks() -> list[Task]:
    return _REGISTRY.all()


def get_task(name: str) -> Task:
    for task in tasks():
        if task.name == name:
            return task
    raise EmbedevalError(f"unknown task {name!r}; known tasks: {', '.join(t.name for t in tasks())}")
