"""The one evaluation pipeline: ``embedeval eval``, ``embedeval compare``, ``ee.score`` and ``ee.compare`` all call it,
so the same inputs and settings give the same numbers whichever way they came in (``ee.evaluate`` is its word-pair
step, for Embedding objects already in memory).

1. :func:`read_inputs`: the benchmarks and analogy sets (from the data directory), then every input through the
   reader registry (:mod:`embedeval.embeddings.readers`), over the words the benchmarks need, under the pieces
   policy, with a model's own vocabulary when analogies search it;
2. :func:`score`: word-pair scores on identical pairs with intervals and tests, then every task the inputs call for
   (analogies, when the benchmarks name analogy sets) or the settings ask for (:mod:`embedeval.tasks`: geometry,
   token analysis, quantisation, plugins).

The front ends only parse options and print; :class:`Results` is plain data (``to_dict`` is ``eval --json``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedeval.errors import EmbedevalError

PIECES = ("single", "first", "last", "mean")


@dataclass
class Settings:
    """Every setting of an evaluation, with the CLI's defaults. ``pieces="average"`` is accepted as ``mean``."""

    benchmarks: list[str] | None = None  # names or files; None: the default set that can be found
    data_dir: str | None = None  # None: $EMBEDEVAL_DATA
    oov: str = "drop"
    n_bootstrap: int = 1000
    seed: int = 0
    alpha: float = 0.05
    intersect: bool = True
    fold_case: bool = True
    lenient: bool = False
    pieces: str = "single"
    fmt: str | None = None
    cache: bool | None = None
    add_sum: bool = False
    tasks: tuple[str, ...] = ()  # registered tasks to run (geometry, tokens ...)
    analogy_vocab: int = 300_000
    analogy_method: str = "add"
    revision: str | None = None  # of Hugging Face model ids read from the local cache
    geometry_rows: int | None = 20_000  # a word embedding's first rows measured by the geometry task
    geometry_sample: int | None = None  # a token matrix's rows: all (None) or a seeded sample of this many
    task_options: dict[str, Any] = field(default_factory=dict)  # each task's own settings, by task name
    default_tasks: tuple[str, ...] = ()  # of ``tasks``, those run by default (compare's), not asked for by name

    def __post_init__(self) -> None:
        from embedeval.evaluate.similarity import OOV_POLICIES

        if self.pieces == "average":
            self.pieces = "mean"
        if self.pieces not in PIECES:
            raise EmbedevalError(f"pieces {self.pieces!r}: must be one of {', '.join(PIECES)} (or average)")
        if self.oov not in OOV_POLICIES:
            raise EmbedevalError(f"oov {self.oov!r}: must be one of {', '.join(OOV_POLICIES)}")
        if self.analogy_method not in ("add", "mul"):
            raise EmbedevalError(f"analogy_method {self.analogy_method!r}: must be add or mul")
        for name, value, low, high in (("n_bootstrap", self.n_bootstrap, 0, 20_000), ("seed", self.seed, 0, 2**32 - 1),
                                       ("analogy_vocab", self.analogy_vocab, 1, 10**9)):  # fmt: skip
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise EmbedevalError(f"{name} {value!r}: must be a whole number from {low} to {high:,}")
        if not (isinstance(self.alpha, (int, float)) and 0 < self.alpha <= 0.5):
            raise EmbedevalError(f"alpha {self.alpha!r}: must be in (0, 0.5]")
        for name in ("geometry_rows", "geometry_sample"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 2):
                raise EmbedevalError(f"{name} {value!r}: must be a whole number of at least 2 (or None: all rows)")
        if isinstance(self.tasks, str):
            self.tasks = (self.tasks,)  # tasks="geometry" means that one task, not its letters
        if isinstance(self.benchmarks, (str, Path)):
            self.benchmarks = [str(self.benchmarks)]
        self.tasks = tuple(dict.fromkeys(self.tasks))
        from embedeval.tasks import get_task

        for name in self.tasks:
            get_task(name)  # an unknown task is refused before any input is read

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Inputs:
    """What was read: the sources (embeddings, runs, tracks, files, model cards), the benchmarks and the notes on
    benchmarks left out."""

    sources: Any  # embedeval.report.sources.Sources
    benchmarks: list[Any]
    analogy_sets: list[Any]
    notes: list[str]


def benchmark_words(benchmarks: list[Any], analogy_sets: list[Any]) -> list[str]:
    """Every word the benchmarks and analogy questions name, in a stable order."""
    words = sorted({w for b in benchmarks for w in (*b.words1, *b.words2)})
    return words + sorted({w for a in analogy_sets for q in a.questions for w in q} - set(words))


def read_inputs(paths: list[str | Path], settings: Settings, need_similarity: bool = False) -> Inputs:
    """The benchmarks first (a missing one is refused before any model is read), then every input."""
    from embedeval.data.registry import choose_benchmarks, is_analogy, load_analogy_set, load_benchmarks
    from embedeval.report.sources import collect

    names, notes = choose_benchmarks(list(settings.benchmarks) if settings.benchmarks else None, settings.data_dir)
    analogy_sets = [load_analogy_set(n, settings.data_dir) for n in names if is_analogy(n)]
    names = [n for n in names if not is_analogy(n)]
    if need_similarity and not names:
        raise EmbedevalError("at least one word-similarity benchmark is needed beside the analogy sets")
    benches = load_benchmarks(names, settings.data_dir, settings.lenient) if names else []
    sources = collect(paths, settings.fmt, add_sum=settings.add_sum, words=benchmark_words(benches, analogy_sets),
                      pieces=settings.pieces, vocabulary=bool(analogy_sets), revision=settings.revision,
                      cache=settings.cache)  # fmt: skip
    unused = _unused_settings(settings, sources, analogy_sets) if paths else []  # no paths: the benchmarks only
    return Inputs(sources, benches, analogy_sets, notes + unused)


def _unused_settings(settings: Settings, sources: Any, analogy_sets: list[Any]) -> list[str]:
    """Settings given that no input uses: said, since the user asked for something that did not happen."""
    unused = []
    if settings.revision is not None and not any("hub_id" in card for card in sources.models):
        unused.append(f"--revision {settings.revision} was not used: it applies to Hugging Face model ids read from "
                      "the local cache, and no input is one")  # fmt: skip
    subword = sources.models or any(r.trainer == "nmt" for r in sources.runs)
    if settings.pieces != "single" and not subword:
        unused.append(f"--pieces {settings.pieces} was not used: it applies to subword models (pretrained models, GGUF "
                      "files, translation runs), and no input is one")  # fmt: skip
    defaults = Settings.__dataclass_fields__
    if not analogy_sets and (settings.analogy_vocab != defaults["analogy_vocab"].default or
                             settings.analogy_method != defaults["analogy_method"].default):  # fmt: skip
        unused.append("--analogy-vocab and --analogy-method were not used: they apply to analogy sets (-b "
                      "google-analogy, -b msr-analogy), and none was asked for")  # fmt: skip
    return unused


@dataclass
class Results:
    """Everything an evaluation measured, as plain data (``to_dict``: ``eval --json``)."""

    inputs: Inputs
    settings: Settings
    similarity: Any = None  # embedeval.evaluate.similarity.Evaluation
    tasks: dict[str, Any] = field(default_factory=dict)  # task name -> its rows (plain data)
    notes: list[str] = field(default_factory=list)  # what the user should know (a task asked for found nothing)

    @property
    def analogies(self) -> dict[str, list[dict[str, Any]]] | None:
        """The analogy task's rows (``analogies`` and ``analogy_comparisons``), or None when no set was asked for."""
        return self.tasks.get("analogies")

    @property
    def embeddings(self) -> list[Any]:
        return self.inputs.sources.embeddings

    def result(self, embedding: str, benchmark: str) -> Any:
        """One embedding's score on one benchmark (as :meth:`Evaluation.result`)."""
        if self.similarity is None:
            raise EmbedevalError("no word-similarity benchmark was scored")
        return self.similarity.result(embedding, benchmark)

    def to_dict(self) -> dict[str, Any]:
        from embedeval.tasks import json_fields

        data: dict[str, Any] = self.similarity.to_dict() if self.similarity is not None else {}
        data.update(json_fields(self.tasks))
        if self.inputs.sources.models:
            data["pretrained"] = self.inputs.sources.models  # each model's card: format, vocabulary, tying, pieces
        return data

    def to_pandas(self) -> Any:
        """The word-pair scores as a pandas DataFrame, one row per embedding and benchmark (pandas is not a
        dependency of embedeval: install it to use this)."""
        try:
            import pandas as pd
        except ImportError:
            raise EmbedevalError("to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame([dataclasses.asdict(r) for r in (self.similarity.results if self.similarity else [])])


def score(
    inputs: Inputs | list[str | Path], settings: Settings | None = None, say: Callable[[str], None] | None = None
) -> Results:
    """Score the inputs (read here when given as paths) on their benchmarks and run the tasks asked for."""
    from embedeval.evaluate.similarity import evaluate
    from embedeval.tasks import TaskContext, to_run

    settings = settings or Settings()
    say = say or (lambda text: None)
    if not isinstance(inputs, Inputs):
        inputs = read_inputs(list(inputs), settings)
    embs = inputs.sources.embeddings
    if not embs:
        raise EmbedevalError("nothing to score: no input gave an embedding")
    results = Results(inputs, settings)
    if inputs.benchmarks:
        say(f"scoring {len(embs)} embedding(s) on {len(inputs.benchmarks)} benchmark(s)")
        results.similarity = evaluate(embs, inputs.benchmarks, oov=settings.oov, intersect=settings.intersect,
                                      n_bootstrap=settings.n_bootstrap, seed=settings.seed,
                                      fold_case=settings.fold_case)  # fmt: skip
    from embedeval.plugins import is_plugin, plain

    for task in to_run(settings.tasks, inputs):
        ctx = TaskContext(inputs.sources, settings, results.similarity, say,
                          dict(settings.task_options.get(task.name, {})), inputs)  # fmt: skip
        rows = task.call("run", ctx)
        if is_plugin(task.run):  # a plugin's rows: checked, and made plain for results.json
            if not isinstance(rows, (list, dict)):
                raise EmbedevalError(f"the task {task.name!r} of a plugin ({task.run}) returned a "
                                     f"{type(rows).__name__}: a task returns its rows, a list or a dict")  # fmt: skip
            rows = plain(rows, f"the plugin task {task.name!r} ({task.run}): its rows")
        results.tasks[task.name] = rows
        if task.name in settings.tasks and task.name not in settings.default_tasks and not rows:
            results.notes.append(f"the {task.name} task found nothing to measure: "
                                 + (task.nothing or f"no input is of the kind it reads ({task.about})"))  # fmt: skip
    return results
