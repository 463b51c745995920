"""Start a run from the library: prepare its folder, train (or resume) and export, for any registered family.

``ee.train(cfg, data, out)`` is what ``embedeval train lm|nmt|skipgram`` does once it has read its inputs: the same
folder (``config.json`` with the corpus and its checksums, the vocabulary or subword models, checkpoints, metrics,
embeddings, ``summary.json``), so a run started from a notebook can be resumed, compared and reproduced like any
other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from embedeval import trainers
from embedeval.rundir import RunDir


@contextlib.contextmanager
def prepared_run(
    cfg: Any,
    out: str | Path,
    *,
    corpus: Any = None,
    resume: bool = False,
    overwrite: bool = False,
    argv: list[str] | None = None,
) -> Iterator[RunDir]:
    """The run folder ``out`` ready to train ``cfg`` in: claimed (a new one: refused inside the corpus, replacing
    only a run embedeval wrote), its settings written (``config.json`` with the corpus and its checksums) or, to
    resume, checked against the run's own (settings and text) before anything else happens. A failure inside leaves
    no half-made run behind. What ``embedeval train ...`` and :func:`train` both do first."""
    spec = trainers.for_config(cfg)
    described = corpus.describe() if corpus is not None else {}
    if resume:
        run = RunDir.open(out)
    else:
        run = RunDir.create(out, overwrite, inputs=corpus.paths() if corpus is not None else ())
    with run:
        if resume:
            may_change = getattr(cfg, "RESUME_MAY_CHANGE", ("threads", "device", "epochs"))
            run.check_resume_config(cfg, may_change, unused=getattr(cfg, "unused_fields", lambda: ())())
            if described:
                run.check_resume_corpus(described)
        else:
            run.write_config(cfg, spec.name, described, argv or ["embedeval.train from Python (no command line)"])
        yield run


def train(
    cfg: Any,
    data: Any,
    out: str | Path,
    *,
    corpus: Any = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    hooks: Any = None,
    argv: list[str] | None = None,
) -> dict[str, Any]:
    """Train ``cfg`` (an LM, translation or skip-gram config) on ``data`` into the run folder ``out``; return the
    run's summary. ``corpus`` (a :class:`embedeval.data.corpus.Corpus`) records where the text came from and guards
    it: ``--out`` may not be inside it, and a resume refuses other text. ``resume`` continues from the checkpoint,
    refusing settings other than the run's own; ``overwrite`` replaces a run folder embedeval wrote."""
    driver = trainers.for_config(cfg).driver_function()
    with prepared_run(cfg, out, corpus=corpus, resume=resume, overwrite=overwrite, argv=argv) as run:
        return driver(cfg, data, run, resume=resume, progress=progress, hooks=hooks)


__all__ = ["prepared_run", "train"]
