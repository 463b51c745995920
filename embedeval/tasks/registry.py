"""The task registry's types and functions (the package ``embedeval.tasks`` registers the built-in tasks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from embedeval.errors import EmbedevalError
from embedeval.plugins import Registry, call, is_plugin


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
    inputs: Any = None  # the pipeline's :class:`embedeval.pipeline.Inputs` (the analogy sets among the benchmarks)


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
    run: str  # "module:function" (TaskContext) -> the rows: plain data (a list of dicts, or a dict of such lists)
    json_key: str  # the field of results.json that holds the rows (and the task's key in Results.tasks)
    csv_name: str = ""  # the file of a report folder that holds them ("" : none)
    csv_rows: str = ""  # "module:function" (rows) -> list[dict] (flat, for the CSV); default: the rows
    table: str = ""  # "module:function" (rows, console) -> None: the terminal table
    section: str = ""  # "module:function" (rows) -> Section | None
    in_compare: bool = False  # compare runs it unless told not to (--no-task NAME); eval only when asked
    wanted: str = ""  # "module:function" (Inputs) -> bool: run without being asked when the inputs call for it
    json_fields: str = ""  # "module:function" (rows) -> dict: results.json's fields (default {json_key: rows})
    nothing: str = ""  # said when the task was asked for and found nothing to measure in the inputs

    def call(self, hook: str, *args: Any) -> Any:
        target = getattr(self, hook)
        if not target:
            return None
        return call("task", self.name, hook, target, *args)


# results.json's own fields: a task's json_key may take none of them (it would replace the scores silently)
RESERVED_JSON_KEYS = frozenset({
    "results", "comparisons", "correlations", "oov_words", "settings", "version", "schema", "title", "created",
    "command", "demonstration", "summary", "findings", "warnings", "vocabulary", "benchmarks", "perplexity",
    "translation", "dynamics", "runs", "files", "pretrained", "tracks", "versions", "analogy_comparisons",
})  # fmt: skip


def _check(task: Task, others: list[Task]) -> None:
    if is_plugin(task.run) and task.json_key in RESERVED_JSON_KEYS:
        raise ValueError(f"its json_key {task.json_key!r} is one of results.json's own fields; choose another")
    clash = next((t for t in others if t.json_key == task.json_key), None)
    if clash is not None:
        raise ValueError(f"its json_key {task.json_key!r} is the task {clash.name!r}'s already")


_REGISTRY = Registry("embedeval.tasks", Task, "task", _check)


def register_task(task: Task) -> Task:
    return _REGISTRY.register(task)


def registered(task: Task) -> Any:
    """A task registered for the ``with`` block only (tests)."""
    return _REGISTRY.registered(task)


def tasks() -> list[Task]:
    return _REGISTRY.all()


def to_run(asked: tuple[str, ...] | list[str], inputs: Any) -> list[Task]:
    """The tasks the inputs call for (the analogy task when the benchmarks name analogy sets), then those asked
    for, each once."""
    called = [t for t in tasks() if t.wanted and t.name not in asked and t.call("wanted", inputs)]
    return called + [get_task(name) for name in asked]


def json_fields(found: dict[str, Any]) -> dict[str, Any]:
    """results.json's fields of the tasks that ran (task name -> rows)."""
    out: dict[str, Any] = {}
    for name, rows in found.items():
        task = get_task(name)
        out.update(task.call("json_fields", rows) if task.json_fields else {task.json_key: rows})
    return out


def get_task(name: str) -> Task:
    for task in tasks():
        if task.name == name:
            return task
    raise EmbedevalError(f"unknown task {name!r}; known tasks: {', '.join(t.name for t in tasks())}")
