"""The shape of an embedding, on matrices whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from embedeval.embeddings import Embedding
from embedeval.evaluate.geometry import anisotropy, effective_rank, first_pc_share, geometry, isotropy


def gaussian(n: int = 20_000, d: int = 50, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def test_an_isotropic_gaussian_is_isotropic():
    x = gaussian()
    a = anisotropy(x)
    assert abs(a["mean_cosine"]) < 0.01 and a["ci_low"] < 0 < a["ci_high"]
    assert isotropy(x) > 0.9  # Z(c) = sum exp(c.w) is about n e^{1/2} in every direction
    assert effective_rank(x) > 0.95 * 50
    assert first_pc_share(x) == pytest.approx(1 / 50, rel=0.25)


def test_a_shared_offset_of_known_size_sets_the_mean_cosine():
    """Rows g + m with g ~ N(0, I_d) and |m|^2 = d: cos(w_i, w_j) ~ |m|^2 / (|m|^2 + d) = 0.5."""
    d = 50
    offset = np.full(d, 1.0)  # |m|^2 = d
    x = gaussian(d=d) + offset
    a = anisotropy(x)
    assert a["mean_cosine"] == pytest.approx(0.5, abs=0.02)
    assert a["ci_low"] < a["mean_cosine"] < a["ci_high"]
    # along the offset Z(c) ~ n e^{|m| + 1/2}, elsewhere n e^{1/2}: I(W) ~ e^{-|m|}
    assert isotropy(x) == pytest.approx(np.exp(-np.sqrt(d)), rel=0.3)
    assert first_pc_share(x) == pytest.approx(1 / 50, rel=0.25)  # centring removes the offset


def test_a_rank_k_matrix_has_effective_rank_k():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(60, 5)))  # five orthonormal directions in 60 dimensions
    x = np.vstack([q.T * 3.0] * 200)  # each direction equally often, equal singular values
    assert effective_rank(x) == pytest.approx(5.0, rel=1e-6)
    assert effective_rank(np.zeros((4, 3))) == 0.0


def test_geometry_of_an_embedding_reads_norms_against_row_rank():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 20)) * np.linspace(3, 1, 500)[:, None]  # frequent (early) rows longer
    g = geometry(Embedding([f"w{i}" for i in range(500)], x, name="e"))
    assert g["norm_vs_rank_spearman"] < -0.8 and g["rows"] == 500 and g["dim"] == 20
    assert set(g) >= {"anisotropy", "isotropy", "effective_rank", "first_pc_share", "mean_norm"}
    assert geometry(Embedding([f"w{i}" for i in range(500)], x, name="e")) == g  # seeded: same numbers


def test_the_streamed_token_matrix_measures_equal_the_in_memory_ones():
    """matrix_geometry reads a token matrix block by block: its effective rank and PC1 share equal the SVD-based ones,
    its mean cosine is the exact mean over all pairs, and its I(W) takes both signs of each direction."""
    from scipy.special import logsumexp

    from embedeval.embeddings.matrix import ArrayMatrix
    from embedeval.evaluate.geometry import effective_rank, first_pc_share, matrix_geometry

    rng = np.random.default_rng(3)
    x = (rng.normal(size=(700, 12)) + 0.2).astype(np.float32)
    matrix = ArrayMatrix(x)
    matrix.blocks = lambda block_rows=None, limit=None: ArrayMatrix.blocks(matrix, 64, limit)  # many small blocks
    got = matrix_geometry(matrix, "x")
    assert got["rows"] == 700 and got["over"] == "all 700 token rows"
    assert got["effective_rank"] == pytest.approx(effective_rank(x), rel=1e-7)  # per-block Gram in float32
    assert got["first_pc_share"] == pytest.approx(first_pc_share(x), rel=1e-6)
    unit = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    cos = unit @ unit.T
    assert got["anisotropy"]["mean_cosine"] == pytest.approx((cos.sum() - 700) / (700 * 699), abs=1e-9)
    _, _, vt = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    log_z = logsumexp(np.hstack([x @ vt.T, -(x @ vt.T)]), axis=0)
    assert got["isotropy"] == pytest.approx(np.exp(log_z.min() - log_z.max()), rel=1e-4)
    sampled = matrix_geometry(matrix, "x", sample=300, seed=1)
    assert sampled["rows"] == 300 and "sample" in sampled["over"] and sampled["anisotropy"]["ci_low"] is not None


def test_bfloat16_widening_is_exact_for_every_bit_pattern():
    from embedeval.embeddings.matrix import bf16_to_float32

    every = np.arange(2**16, dtype=np.uint16).reshape(256, 256)
    wide = bf16_to_float32(every)
    assert wide.dtype == np.float32 and wide.shape == (256, 256)
    assert np.array_equal(wide.view(np.uint32), every.astype(np.uint32) << 16)  # NaN payloads and signs included
    assert bf16_to_float32(every[3, 7]).shape == () and bf16_to_float32(every[:, ::2]).shape == (256, 128)
