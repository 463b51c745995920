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
