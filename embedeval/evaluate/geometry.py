"""The geometry of embeddings: embedding-vs-embedding measures over a shared vocabulary (linear CKA, mean k-NN
overlap) and the shape of one embedding (anisotropy, isotropy, effective rank, first-PC share, norms).

The benchmark-pair correlation of P&W Table 3 lives in :mod:`embedeval.evaluate.similarity`; these look at the
whole space instead of the benchmark pairs.
"""

from __future__ import annotations

from typing import Any

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


# --- the shape of one embedding (docs/methods.md, section 12) ----------------------------------------------------


def anisotropy(x: np.ndarray, pairs: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Mean cosine of random pairs of distinct rows (Ethayarajh 2019), from a seeded sample, with a normal 95%
    interval: 0 for directions spread evenly, near 1 for a narrow cone (Gao et al. 2019)."""
    n = len(x)
    if n < 2:
        raise EmbedevalError("anisotropy needs at least two rows")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=pairs)
    j = (i + rng.integers(1, n, size=pairs)) % n  # never the row itself
    unit = _unit(x)
    cos = np.einsum("ij,ij->i", unit[i], unit[j])
    half = 1.96 * float(cos.std(ddof=1)) / np.sqrt(pairs)
    return {"mean_cosine": float(cos.mean()), "ci_low": float(cos.mean()) - half, "ci_high": float(cos.mean()) + half}


def isotropy(x: np.ndarray) -> float:
    """Mu & Viswanath (2018): I(W) = min over the principal directions c of Z(c) / max Z(c), with the partition
    function Z(c) = sum_w exp(c . w) over the (uncentred) rows; 1 for an isotropic embedding. Computed in log space:
    exp(c . w) overflows for large vectors."""
    from scipy.special import logsumexp

    x = np.asarray(x, dtype=np.float64)
    _, _, directions = np.linalg.svd(x, full_matrices=False)  # eigenvectors of W^T W
    log_z = logsumexp(x @ directions.T, axis=0)
    return float(np.exp(log_z.min() - log_z.max()))


def effective_rank(x: np.ndarray) -> float:
    """Roy & Vetterli (2007): exp of the entropy of the normalised singular values; k for k equal ones."""
    s = np.linalg.svd(np.asarray(x, dtype=np.float64), compute_uv=False)
    if not s.size or s.max() == 0:
        return 0.0
    s = s[s > s.max() * 1e-12]
    p = s / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def first_pc_share(x: np.ndarray) -> float:
    """The share of the (centred) variance along the first principal component."""
    centred = np.asarray(x, dtype=np.float64) - np.asarray(x, dtype=np.float64).mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False) ** 2
    return float(s[0] / s.sum()) if s.sum() > 0 else float("nan")


def geometry(emb: Embedding, pairs: int = 10_000, seed: int = 0, max_rows: int | None = 50_000) -> dict[str, Any]:
    """Every shape measure of one embedding, over its first ``max_rows`` rows (the most frequent words of a
    frequency-ordered file or run): anisotropy with its interval, isotropy I(W), effective rank, the first PC's
    variance share, the mean norm, and Spearman's rho between a row's norm and its rank (its frequency rank where
    rows are in frequency order, as in word2vec files and embedeval runs)."""
    from scipy import stats

    x = np.asarray(emb.vectors[:max_rows] if max_rows else emb.vectors, dtype=np.float64)
    if len(x) < 2:
        raise EmbedevalError(f"{emb.name}: geometry needs at least two words, the embedding has {len(x)}")
    norms = np.linalg.norm(x, axis=1)
    rank_rho = stats.spearmanr(norms, np.arange(len(norms))).statistic if len(norms) > 2 and np.ptp(norms) else None
    return {
        "embedding": emb.name,
        "rows": len(x),
        "dim": x.shape[1],
        "anisotropy": anisotropy(x, pairs, seed),
        "isotropy": isotropy(x),
        "effective_rank": effective_rank(x),
        "first_pc_share": first_pc_share(x),
        "mean_norm": float(norms.mean()),
        "norm_vs_rank_spearman": None if rank_rho is None else float(rank_rho),
    }


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


# --- the whole token matrix of a pretrained model, streamed (docs/methods.md, section 12) ---------------------------


def matrix_geometry(matrix: Any, name: str, sample: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Every shape measure over all rows of a token matrix (a :class:`embedeval.embeddings.matrix.TokenMatrix`), in
    two streamed passes of float32 blocks with float64 sums, never holding the matrix in float32:

    1. row norms, the sum of the rows, the sum of the unit rows and the Gram matrix W^T W (d x d);
    2. the partition function Z(c) = sum_w exp(c . w) for every eigenvector c of W^T W and its opposite -c (an
       eigenvector's sign is arbitrary, and Z(c) != Z(-c) for uncentred rows), by a running log-sum-exp: I(W) is
       min Z / max Z over those 2d directions.

    The mean cosine is exact over all pairs of distinct non-zero rows: (|sum of unit rows|^2 - m) / (m (m - 1)).
    Effective rank and I(W) use the uncentred rows and the PC1 share the centred ones, as :func:`geometry` does.
    ``sample``: measure a seeded sample of that many rows instead (the mean cosine then has its 95% interval over
    random pairs of the sample, as for word embeddings)."""
    import torch
    from scipy import stats

    n, d = matrix.shape
    if n < 2:
        raise EmbedevalError(f"{name}: geometry needs at least two rows, the matrix has {n}")
    if sample is not None and sample < n:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
        block = max(1, (64 << 20) // (4 * d))
        source = [(i, matrix.rows(rows[i : i + block])) for i in range(0, len(rows), block)]
        n_used = len(rows)
    else:
        source, n_used, rows = None, n, None

    def blocks():
        return iter(source) if source is not None else matrix.blocks()

    from scipy.linalg import blas

    # syrk computes one triangle (half the flops) into a reused column-major float32 buffer; its transpose is a
    # row-major view, added to the float64 sum without a strided copy (8 s less at 128,256 x 4,096)
    gram = np.zeros((d, d), dtype=np.float64)  # the lower triangle, in row-major terms
    product = np.zeros((d, d), dtype=np.float32, order="F")
    total = np.zeros(d, dtype=np.float64)
    unit_total = np.zeros(d, dtype=np.float64)
    norms = np.empty(n_used, dtype=np.float64)
    for start, block in blocks():
        if not np.isfinite(block).all():
            bad = start + int(np.argwhere(~np.isfinite(block).all(axis=1))[0][0])
            raise EmbedevalError(f"{name}: row {bad} holds NaN or infinite values; its geometry is undefined")
        product = blas.ssyrk(1.0, np.ascontiguousarray(block).T, trans=0, beta=0.0, c=product, overwrite_c=1)
        np.add(gram, product.T, out=gram)  # block^T block, float32 products, float64 sums
        total += block.sum(axis=0, dtype=np.float64)
        block_norms = np.sqrt(np.einsum("ij,ij->i", block, block, dtype=np.float64))  # no float64 copy of the block
        norms[start : start + len(block)] = block_norms
        unit_total += np.einsum("i,ij->j", 1.0 / np.where(block_norms > 0, block_norms, 1.0), block, dtype=np.float64)
    nonzero = int((norms > 0).sum())
    if nonzero < 2:
        raise EmbedevalError(f"{name}: fewer than two non-zero rows; its geometry is undefined")
    mean_cos = (float(unit_total @ unit_total) - nonzero) / (nonzero * (nonzero - 1))
    from scipy.linalg import eigh

    del product
    gram = np.tril(gram) + np.tril(gram, -1).T
    eig, vectors = eigh(gram, driver="evd")  # ascending; the squared singular values of W and its directions
    singular = np.sqrt(np.clip(eig[::-1], 0, None))
    mean = total / n_used
    centred = gram / n_used - np.outer(mean, mean)
    # the PC1 share needs the covariance's largest eigenvalue and its trace only: Lanczos (from a fixed start, so
    # the same on every run) instead of a second full eigendecomposition, 4x faster at d = 4,096
    from scipy.sparse.linalg import eigsh

    pc1 = (
        float(eigsh(centred, k=1, which="LA", v0=np.random.default_rng(0).standard_normal(d), tol=0)[0][0])
        if d > 1
        else float(centred[0, 0])
    )
    spread = float(np.trace(centred))
    directions = torch.from_numpy(vectors.astype(np.float32))
    peak = torch.full((2 * d,), -float("inf"), dtype=torch.float64)
    summed = torch.zeros(2 * d, dtype=torch.float64)
    for _, block in blocks():  # running log-sum-exp of X c over the rows, for every direction c and its opposite
        proj = torch.from_numpy(np.ascontiguousarray(block)) @ directions
        # an eigenvector's sign is arbitrary: Z(c) and Z(-c) both count. Each term exp(x - max) lies in (0, 1]; the
        # terms are taken in float32, in place, summed over the block's rows in float32 (a cascade sum of at most a
        # few thousand terms) and across blocks in float64: a quarter of the time of float64 terms, log Z within 1e-6
        top = torch.maximum(peak, torch.cat([torch.amax(proj, dim=0), -torch.amin(proj, dim=0)]).double())
        shift = top.float()  # exact: every max is a float32 value
        below = torch.neg(proj).sub_(shift[d:]).exp_().sum(dim=0).double()
        above = proj.sub_(shift[:d]).exp_().sum(dim=0).double()
        summed = summed * torch.exp(peak - top) + torch.cat([above, below])
        peak = top
    log_z = (peak + torch.log(summed)).numpy()
    s = singular[singular > singular.max() * 1e-12] if singular.max() > 0 else singular[:0]
    p = s / s.sum() if s.size else s
    rank_rho = stats.spearmanr(norms, np.arange(n_used)).statistic if np.ptp(norms) else None
    out: dict[str, Any] = {
        "embedding": name,
        "rows": n_used,
        "dim": d,
        "over": f"a seeded sample of {n_used:,} of the {n:,} token rows (seed {seed})"
        if rows is not None
        else f"all {n:,} token rows",
        "anisotropy": {"mean_cosine": mean_cos, "ci_low": None, "ci_high": None, "exact": True},
        "isotropy": float(np.exp(log_z.min() - log_z.max())),
        "effective_rank": float(np.exp(-(p * np.log(p)).sum())) if p.size else 0.0,
        "first_pc_share": pc1 / spread if spread > 0 else float("nan"),
        "mean_norm": float(norms.mean()),
        "norm_vs_rank_spearman": None if rank_rho is None else float(rank_rho),
    }
    if rows is not None:  # the sample's mean cosine: an interval over random pairs, as for word embeddings
        sampled = matrix.rows(rows[: min(len(rows), 20_000)])
        out["anisotropy"] = {**anisotropy(sampled, seed=seed), "exact": False}
    return out
