"""Helpers shared by the speed benchmarks: a synthetic large embedding that covers the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from embedeval.data.registry import load_benchmarks


def synthetic_vocabulary(size: int, seed: int = 0) -> list[str]:
    """Every bundled benchmark word (some upper-cased, as real vocabularies have) plus filler words."""
    words = sorted({w for b in load_benchmarks() for w in b.words1 + b.words2})
    rng = np.random.default_rng(seed)
    words += [w.capitalize() for w in words if rng.random() < 0.2]
    words = list(dict.fromkeys(words))
    words += [f"w{i:07d}" for i in range(size - len(words))]
    order = rng.permutation(len(words))
    return [words[i] for i in order][:size]


def synthetic_matrix(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)


def write_word2vec_text(path: Path, words: list[str], vectors: np.ndarray, chunk: int = 20000) -> None:
    """Fast writer for the benchmark file (6 decimals, like the C tool)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{len(words)} {vectors.shape[1]}\n")
        for start in range(0, len(words), chunk):
            block = vectors[start : start + chunk]
            lines = [w + " " + " ".join(f"{x:.6f}" for x in row) for w, row in zip(words[start : start + chunk], block)]
            handle.write("\n".join(lines) + "\n")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result
