"""What a record measures on the matrices themselves: Table-3 correlation, CKA, k-NN overlap, update
alignment, drift and benchmark scores -- overall and per frequency bucket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedeval.data.benchmarks import Benchmark
from embedeval.dynamics.buckets import Buckets
from embedeval.evaluate.geometry import anisotropy, effective_rank, knn_indices, linear_cka
from embedeval.evaluate.similarity import fold
from embedeval.evaluate.stats import spearman

NAN = float("nan")


@dataclass
class PairProbe:
    """Benchmark pairs as vocabulary rows, found once: every record scores the same pairs."""

    benchmarks: list[str]
    rows1: np.ndarray
    rows2: np.ndarray
    gold: np.ndarray
    bench: np.ndarray  # which benchmark each pair is from
    bucket: np.ndarray  # frequency bucket of the pair's rarer word
    pairs_total: list[int]

    @property
    def pairs_used(self) -> list[int]:
        return [int((self.bench == i).sum()) for i in range(len(self.benchmarks))]


def pair_probe(words: Sequence[str], buckets: Buckets, benchmarks: Sequence[Benchmark]) -> PairProbe:
    index: dict[str, int] = {}
    for row, word in enumerate(words):
        index.setdefault(fold(word), row)  # the most frequent spelling wins, as in the evaluator
    rows1, rows2, gold, bench = [], [], [], []
    for b, benchmark in enumerate(benchmarks):
        for w1, w2, score in zip(benchmark.words1, benchmark.words2, benchmark.scores):
            i, j = index.get(fold(w1)), index.get(fold(w2))
            if i is not None and j is not None:
                rows1.append(i)
                rows2.append(j)
                gold.append(score)
                bench.append(b)
    r1, r2 = np.array(rows1, dtype=np.int64), np.array(rows2, dtype=np.int64)
    rarer = np.minimum(buckets.index[r1], buckets.index[r2]) if len(r1) else np.zeros(0, dtype=np.int64)
    return PairProbe(
        [b.name for b in benchmarks], r1, r2, np.array(gold, dtype=np.float64), np.array(bench), rarer,
        [len(b) for b in benchmarks],
    )  # fmt: skip


def probe_cosines(matrix: np.ndarray, probe: PairProbe) -> np.ndarray:
    a, b = matrix[probe.rows1].astype(np.float64), matrix[probe.rows2].astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (a * b).sum(1) / norms, np.nan)


MIN_BUCKET_PAIRS = 10  # fewer pairs than this in a bucket: no correlation (it would be noise)


def _rho(x: np.ndarray, y: np.ndarray, min_n: int = 3) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < min_n or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return NAN
    return spearman(x[ok], y[ok])


def flat_cos(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine between two matrices read as long vectors (NaN when either is zero)."""
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else NAN


def knn_queries(buckets: Buckets, per_bucket: int, seed: int = 0) -> np.ndarray:
    """A fixed, seeded sample of query rows: up to ``per_bucket`` from every frequency bucket."""
    rng = np.random.default_rng(seed)
    picks = []
    for b in range(len(buckets)):
        rows = np.flatnonzero(buckets.index == b)
        picks.append(rng.choice(rows, size=min(per_bucket, len(rows)), replace=False) if len(rows) else rows)
    return np.sort(np.concatenate(picks)).astype(np.int64)


def _knn(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray | None:
    if not np.isfinite(matrix).all() or (np.linalg.norm(matrix, axis=1) == 0).any() or len(matrix) <= k:
        return None  # V starts at zero in SGNS: no neighbours yet
    return knn_indices(matrix, k, queries)


def _overlap(a: np.ndarray | None, b: np.ndarray | None, k: int) -> np.ndarray:
    if a is None or b is None:
        return np.full(0 if a is None and b is None else len(a if a is not None else b), np.nan)
    return (a[:, :, None] == b[:, None, :]).sum(axis=(1, 2)) / k  # a row's neighbours are distinct: |N_a & N_b|


def compare_states(
    mats: dict[str, np.ndarray],
    previous: dict[str, np.ndarray],
    initial: dict[str, np.ndarray],
    buckets: Buckets,
    probe: PairProbe,
    queries: np.ndarray,
    k: int = 10,
    geometry: bool = True,
) -> dict[str, Any]:
    """Everything a record holds about the matrices. ``mats`` has S, U, V (pair) or any subset (one run)."""
    names = list(mats)
    cos = {m: probe_cosines(mats[m], probe) for m in names}
    others = [m for m in ("U", "V") if m in mats]
    pairs = [("S", o) for o in others] if "S" in mats else []
    if "U" in mats and "V" in mats:
        pairs.append(("U", "V"))
    record: dict[str, Any] = {
        "scores": {
            bench: {m: _rho(probe.gold[probe.bench == i], cos[m][probe.bench == i]) for m in names}
            for i, bench in enumerate(probe.benchmarks)
        },
        "drift": {m: float(np.linalg.norm(mats[m] - initial[m])) for m in names},
    }
    if pairs:
        record["corr"] = {f"{a}~{b}": _rho(cos[a], cos[b]) for a, b in pairs}
    if previous and "S" in mats:
        d = {m: mats[m] - previous[m] for m in names}
        record["align"] = {f"dS~d{o}": flat_cos(d["S"], d[o]) for o in others}
    knn: dict[str, np.ndarray | None] = {}
    if geometry:
        # does a matrix degenerate into a narrow cone (Gao et al. 2019)? mean cosine of random row pairs, effective rank
        record["shape"] = {
            m: {
                "anisotropy": anisotropy(mats[m], pairs=2_000)["mean_cosine"],
                "effective_rank": effective_rank(mats[m]),
            }
            for m in names
        }
    if geometry and pairs:
        record["cka"] = {f"{a}~{b}": linear_cka(mats[a], mats[b]) for a, b in pairs}
        knn = {m: _knn(mats[m], queries, k) for m in names}
        record["knn"] = {f"{a}~{b}": float(np.nanmean(o)) if np.isfinite(o).any() else NAN
                         for a, b in pairs for o in [_overlap(knn[a], knn[b], k)]}  # fmt: skip
    per_bucket = []
    for b in range(len(buckets)):
        rows = np.flatnonzero(buckets.index == b)
        entry: dict[str, Any] = {"bucket": buckets.labels[b], "words": len(rows)}
        entry["drift_rms"] = {
            m: float(np.sqrt(np.mean(np.sum((mats[m][rows] - initial[m][rows]) ** 2, axis=1)))) if len(rows) else NAN
            for m in names
        }
        in_bucket = probe.bucket == b
        entry["pairs"] = int(in_bucket.sum())
        if pairs:
            entry["corr"] = {f"{x}~{y}": _rho(cos[x][in_bucket], cos[y][in_bucket], MIN_BUCKET_PAIRS) for x, y in pairs}
        if previous and "S" in mats:
            entry["align"] = {f"dS~d{o}": flat_cos(d["S"][rows], d[o][rows]) for o in others}
        if geometry and pairs:
            entry["cka"] = {f"{x}~{y}": linear_cka(mats[x][rows], mats[y][rows]) if len(rows) > 2 else NAN
                            for x, y in pairs}  # fmt: skip
            q = np.isin(queries, rows)
            entry["knn"] = {}
            for x, y in pairs:
                o = _overlap(knn[x], knn[y], k)
                entry["knn"][f"{x}~{y}"] = (
                    float(np.mean(o[q])) if len(o) and q.any() and np.isfinite(o[q]).all() else NAN
                )
        per_bucket.append(entry)
    record["buckets"] = per_bucket
    return record
