"""The built-in default of ``embedeval compare``: everything the tool does, on data that ships with it.

Two tracked pairs on the Lee news corpus (~60k tokens, inside the gensim package): torch SGNS untied vs tied,
and an LSTM LM (``demo`` config) untied vs weight-tied, with the dynamics recorded. Their run folders land in
``REPORT_DIR/runs`` so the report can be rebuilt or extended with ``embedeval compare REPORT_DIR/runs/*``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_LM_CONFIG = "demo"


def _state(track: Path, resume: bool) -> dict[str, bool] | None:
    """How to run one pair: None when ``resume`` finds it finished, else the tracker's overwrite / resume flags."""
    from embedeval.layout import SUMMARY, TRACK

    if resume and (track / SUMMARY).is_file():
        return None
    if resume and (track / TRACK).is_file():
        return {"overwrite": False, "resume": True}
    return {"overwrite": True, "resume": False}


def run_default(
    out: Path,
    threads: int = 2,
    seed: int = 1,
    progress: Callable[[str, dict[str, Any]], None] | None = None,
    resume: bool = False,
) -> list[Path]:
    """Train and track both pairs into ``out``; the track directories, ready for :func:`collect`. With ``resume``, a
    finished pair is kept and an interrupted one continues from its checkpoints."""
    from embedeval.data.corpus import resolve_corpus
    from embedeval.dynamics.tracker import TrackConfig, track
    from embedeval.train.lm import load_lm_data
    from embedeval.train.lm_config import make_config
    from embedeval.train.skipgram import SkipGramConfig

    corpus = resolve_corpus("builtin")
    argv = ["embedeval", "compare", "(built-in default)"]
    sgns_out, lm_out = out / "sgns-lee", out / "lstm-lee"

    sg_cfg = SkipGramConfig(backend="torch", dim=64, min_count=2, epochs=10, seed=seed, workers=threads)
    how = _state(sgns_out, resume)
    if how is not None:
        track(
            dataclasses.replace(sg_cfg, tie=False), dataclasses.replace(sg_cfg, tie=True), corpus, sgns_out,
            TrackConfig(), **how,
            progress=(lambda r: progress("sgns", r)) if progress else None, argv=argv,
        )  # fmt: skip

    how = _state(lm_out, resume)
    if how is not None:
        data = load_lm_data(corpus)
        untied = make_config(DEFAULT_LM_CONFIG, "untied", seed=seed, threads=threads)
        tied = make_config(DEFAULT_LM_CONFIG, "wt", seed=seed, threads=threads)
        track(
            untied, tied, data, lm_out, TrackConfig(), **how,
            progress=(lambda r: progress("lm", r)) if progress else None, corpus=corpus.describe(), argv=argv,
        )  # fmt: skip
    return [sgns_out, lm_out]
