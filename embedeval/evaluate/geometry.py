"""Embedding-vs-embedding measures over a shared vocabulary: linear CKA and mean k-NN overlap.

The benchmark-pair correlation of P&W Table 3 lives in :mod:`embedeval.evaluate.similarity`; these two
look at the whole space instead of the benchmark pairs.
"""

from __future__ import annotations

import numpy as np

from embedeval.embeddings.embedding import Embedding
from embedeval.errors import EmbedevalError


def shared_words(a: Embedding, b: Embedding, max_words: int | None = None) -> list[str]:
    """Words in both, in ``a``'s order (frequency order for trained embeddings), at most ``max_words``."""
    words = [w for w in a.words if w in b.key_to_index]
    if not words:
        raise EmbedevalError(f"{a.name} and {b.name} share no words")
    return words[:max_words] if max_words else words


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA (Kornblith et al. 2019) between two representations of the same rows."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    cross = np.linalg.norm(x.T @ y, "fro") ** 2
    denom = np.linalg.norm(x.T @ x, "fro") * np.linalg.norm(y.T @ y, "fro")
    return float(cross / denom) if denom > 0 else float("nan")


def knn_indices(x: np.ndarray, k: int, queries: np.ndarray | None = None, block: int = 2048) -> np.ndarray:
    """The k nearest rows (cosine) of each query row, excluding the row itself, nearest first.

    Cosine similarities of unit rows by matrix product and ``torch.topk`` per block of queries: the dynamics
    tracker asks this at every record, and scikit-learn's brute-force ``NearestNeighbors`` (the same
    arithmetic, then a full ``argpartition``) took 2-4x longer (benchmarks/bench_knn.py). A zero row stays
    zero (similarity 0 to everything), as scikit-learn's cosine treats it."""
    import torch

    unit = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(unit, axis=1, keepdims=True)
    unit = torch.from_numpy(unit / np.where(norms > 0, norms, 1.0))
    rows = np.arange(len(x)) if queries is None else np.asarray(queries, dtype=np.int64)
    out = np.empty((len(rows), k), dtype=np.int64)
    for start in range(0, len(rows), block):
        chunk = torch.from_numpy(rows[start : start + block])
        sims = unit[chunk] @ unit.T
        sims[torch.arange(len(chunk)), chunk] = -float("inf")  # not its own neighbour
        out[start : start + len(chunk)] = torch.topk(sims, k, dim=1).indices.numpy()
    return out


def knn_overlap(x: np.ndarray, y: np.ndarray, k: int = 10, queries: np.ndarray | None = None) -> float:
    """Mean |N_x(w) ∩ N_y(w)| / k over the query rows (all rows by default)."""
    nx, ny = knn_indices(x, k, queries), knn_indices(y, k, queries)
    shared = (nx[:, :, None] == ny[:, None, :]).sum(axis=(1, 2))  # a row's neighbours are distinct: |N_x & N_y|
    return float(np.mean(shared) / k)


def compare_geometry(
    a: Embedding, b: Embedding, k: int = 10, max_words: int = 10000, queries: int = 2000
) -> dict[str, float | int]:
    """CKA and k-NN overlap of ``a`` and ``b`` on their (most frequent) shared words."""
    words = shared_words(a, b, max_words)
    x = a.vectors[[a.key_to_index[w] for w in words]]
    y = b.vectors[[b.key_to_index[w] for w in words]]
    query_rows = np.arange(min(queries, len(words)))
    return {
        "words": len(words),
        "cka": linear_cka(x, y),
        "knn_overlap": knn_overlap(x, y, k, query_rows) if len(words) > k + 1 else float("nan"),
        "k": k,
    }
