"""The skip-gram configuration and the ranges of its settings (no torch import: the CLI reads them at start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from embedeval.errors import EmbedevalError
from embedeval.ranges import Range, check_ranges, positive_int

# gensim trains at most this many tokens of one sentence and drops the rest without a word; both backends cut
# longer lines into pieces of this length instead, so nothing is lost and the two see the same sentences.
MAX_SENTENCE = 10_000

SKIPGRAM_RANGES = {
    "dim": positive_int(100_000),
    "window": positive_int(1_000),
    "negative": positive_int(1_000),
    "min_count": positive_int(),
    "epochs": positive_int(100_000),
    "sample": Range(float, 0, 1),
    "alpha": Range(float, 0, 1, low_open=True),
    "min_alpha": Range(float, 0, 1),
    "seed": Range(int, 0, 2**32 - 1),
    "workers": positive_int(1_024),
    "parallel": positive_int(64),
    "train_fraction": Range(float, 0, 1, low_open=True),
    "batch_size": positive_int(10_000_000),
    "max_vocab": positive_int(),
}


@dataclass
class SkipGramConfig:
    dim: int = 100
    window: int = 5
    negative: int = 5
    min_count: int = 5
    epochs: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 0.0001
    seed: int = 1
    workers: int = 2
    backend: str = "gensim"  # gensim | torch
    model: str = "word2vec"  # word2vec | fasttext (gensim backend)
    tie: bool = False
    # torch backend: center words per update (each with its window's contexts and K shared negatives, HogBatch).
    # Small batches keep the gathered rows in cache (measured fastest at 128-256 on one thread, see
    # benchmarks/bench_skipgram.py) and stay close to word2vec's one-window-at-a-time updates.
    batch_size: int = 128
    # what --resume may change (embedeval.train.run.prepared_run): the thread count and more epochs
    RESUME_MAY_CHANGE: ClassVar[tuple[str, ...]] = ("workers", "epochs")
    max_vocab: int | None = None
    # torch backend: threads that each train one slice of every chunk of the corpus (200,000 tokens) on their own copy
    # of U and V, whose updates are summed into U and V at the chunk's end. 1: one stream of updates (word2vec's
    # order). Same seed, same numbers for a fixed value; it changes the numbers against 1 (updates within a chunk do
    # not see the other slices'), so it is part of the run's config, not a speed knob --resume may change.
    parallel: int = 1
    # the first fraction of the training tokens (a contiguous prefix); the vocabulary is the prefix's own
    train_fraction: float = 1.0

    @property
    def tied(self) -> bool:
        """U and V are one matrix (said as the language and translation configs say it)."""
        return self.tie

    def validate(self) -> None:
        check_ranges(self, SKIPGRAM_RANGES)
        if self.min_alpha > self.alpha:
            raise EmbedevalError(
                f"--min-alpha {self.min_alpha} is larger than --alpha {self.alpha}; the lr decays to it"
            )
        if self.backend not in ("gensim", "torch"):
            raise EmbedevalError(f"unknown backend {self.backend!r}; valid backends: gensim, torch")
        if self.tie and self.backend == "gensim":
            raise EmbedevalError("--tie needs --backend torch: gensim keeps U and V as separate arrays")
        if self.model == "fasttext" and self.backend != "gensim":
            raise EmbedevalError("--model fasttext needs --backend gensim")
        if self.parallel > 1 and self.backend != "torch":
            raise EmbedevalError("--parallel is the torch backend's: gensim's --workers already train in parallel")
        if self.negative < 1:
            raise EmbedevalError("negative must be at least 1 (SGNS; hierarchical softmax has no per-word V)")


__all__ = ["MAX_SENTENCE", "SKIPGRAM_RANGES", "SkipGramConfig"]


def validate(cfg: SkipGramConfig) -> None:
    """The registry's check of a stored config (``ee.load_model``): the ranges of every setting."""
    cfg.validate()
