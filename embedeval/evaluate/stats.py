"""Statistics shared by every module (docs/methods.md): Spearman CIs, dependent-correlation tests, Holm.

The bootstrap never sorts a resample: a resample is a vector of multiplicities over the original
pairs, so its average ranks follow from cumulative counts over the values sorted once. That makes a
1000-resample CI on 3000 pairs cost a few matrix operations instead of 2000 sorts.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy import stats


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (average ranks for ties); NaN when either side is constant or n < 2."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.pearsonr(x, y).statistic)


def fisher_ci(rho: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Fisher-z interval for Spearman's rho with the Bonett & Wright (2000) variance (1 + rho^2/2)/(n - 3)."""
    if n <= 3 or not np.isfinite(rho):
        return float("nan"), float("nan")
    rho = float(np.clip(rho, -0.999999999, 0.999999999))
    z = np.arctanh(rho)
    se = np.sqrt((1.0 + rho * rho / 2.0) / (n - 3))
    crit = stats.norm.ppf(0.5 + confidence / 2.0)
    return float(np.tanh(z - crit * se)), float(np.tanh(z + crit * se))


def resample_seed(seed: int, label: str) -> np.random.Generator:
    """A generator that depends only on the seed and a label (e.g. the benchmark name)."""
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def resample_counts(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) multiplicities of each pair in each bootstrap resample."""
    draws = rng.integers(0, n, size=(n_boot, n))
    flat = draws + (np.arange(n_boot) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


def _resampled_ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average ranks, centred at 0, of every original item inside each resample (rows of counts)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    group_sorted = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, values.size]))
    group = np.empty(values.size, dtype=np.int64)
    group[order] = group_sorted
    group_counts = np.add.reduceat(counts[:, order], starts, axis=1)
    cumulative = np.cumsum(group_counts, axis=1)
    group_rank = cumulative - (group_counts - 1.0) / 2.0
    n = counts.shape[1]
    return group_rank[:, group] - (n + 1.0) / 2.0


def bootstrap_spearman(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Spearman's rho of every resample given by ``counts`` (NaN where a resample is constant)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    rx, ry = _resampled_ranks(x, counts), _resampled_ranks(y, counts)
    sxy = (counts * rx * ry).sum(axis=1)
    sxx = (counts * rx * rx).sum(axis=1)
    syy = (counts * ry * ry).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sxy / np.sqrt(sxx * syy)


def percentile_ci(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return float(low), float(high)


@dataclass
class DependentTest:
    """Two correlations with the same gold scores: Williams' t and a paired bootstrap of the difference."""

    rho_a: float
    rho_b: float
    rho_ab: float
    n: int
    williams_t: float
    williams_df: int
    williams_p: float
    delta: float
    delta_low: float
    delta_high: float
    bootstrap_p: float


def williams_t(r12: float, r13: float, r23: float, n: int) -> tuple[float, float]:
    """Williams' t (Steiger 1980, eq. 3) for H0: r12 = r13 where variables 2 and 3 are correlated (r23).

    Returns (t, two-sided p) with n - 3 degrees of freedom.
    """
    if n <= 3:
        return float("nan"), float("nan")
    det = 1.0 - r12 * r12 - r13 * r13 - r23 * r23 + 2.0 * r12 * r13 * r23
    rbar = (r12 + r13) / 2.0
    denom = 2.0 * (n - 1.0) / (n - 3.0) * det + rbar * rbar * (1.0 - r23) ** 3
    if denom <= 0:
        return float("nan"), float("nan")
    t = (r12 - r13) * np.sqrt((n - 1.0) * (1.0 + r23) / denom)
    p = 2.0 * stats.t.sf(abs(t), n - 3)
    return float(t), float(p)


def compare_dependent(
    gold: np.ndarray, a: np.ndarray, b: np.ndarray, counts: np.ndarray | None, confidence: float = 0.95
) -> DependentTest:
    """Is rho(gold, a) different from rho(gold, b)? Williams' t on ranks plus a paired bootstrap."""
    rho_a, rho_b, rho_ab = spearman(gold, a), spearman(gold, b), spearman(a, b)
    n = int(np.asarray(gold).size)
    t, p = williams_t(rho_a, rho_b, rho_ab, n)
    delta = rho_a - rho_b
    low = high = boot_p = float("nan")
    if counts is not None and counts.shape[0] > 0:
        diffs = bootstrap_spearman(gold, a, counts) - bootstrap_spearman(gold, b, counts)
        diffs = diffs[np.isfinite(diffs)]
        if diffs.size:
            low, high = percentile_ci(diffs, confidence)
            # two-sided: how often the resampled difference falls on the other side of zero
            tail = min((diffs <= 0).sum(), (diffs >= 0).sum())
            boot_p = float(min(1.0, 2.0 * (tail + 1) / (diffs.size + 1)))
    return DependentTest(rho_a, rho_b, rho_ab, n, t, n - 3, p, delta, low, high, boot_p)


def holm(pvalues: list[float] | np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(pvalues, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    m = valid.size
    if m == 0:
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


@dataclass
class SeedTest:
    """B minus A over the seeds both finished (the claims rule, docs/methods.md section 10)."""

    n: int
    mean: float | None  # mean of the per-seed differences
    sd: float | None
    t: float | None
    p: float | None  # paired t, two-sided, n - 1 degrees of freedom
    ci95: tuple[float, float] | None
    ci90: tuple[float, float] | None  # TOST at 5%: equivalence when it lies inside (-margin, +margin)
    margin: float | None
    equivalent: bool | None


def paired_seed_test(a: dict[int, float], b: dict[int, float], margin: float | None = None) -> SeedTest:
    """Paired t-test of ``b - a`` over the seeds present in both, its 95% interval, and an equivalence test (two
    one-sided tests = the 90% interval inside +-``margin``). With fewer than two seeds nothing is tested."""
    seeds = sorted(set(a) & set(b))
    d = np.array([b[s] - a[s] for s in seeds], dtype=np.float64)
    n = len(d)
    if n == 0:
        return SeedTest(0, None, None, None, None, None, None, margin, None)
    mean = float(d.mean())
    if n < 2:
        return SeedTest(n, mean, None, None, None, None, None, margin, None)
    sd = float(d.std(ddof=1))
    se = sd / np.sqrt(n)

    def ci(level: float) -> tuple[float, float]:
        half = float(stats.t.ppf(0.5 + level / 2, n - 1) * se)
        return mean - half, mean + half

    if se == 0:
        t, p = (float("inf") if mean else 0.0), (0.0 if mean else 1.0)
    else:
        t = mean / se
        p = float(2 * stats.t.sf(abs(t), n - 1))
    ci90 = ci(0.90)
    equivalent = None if margin is None else bool(-margin < ci90[0] and ci90[1] < margin)
    return SeedTest(n, mean, sd, float(t), p, ci(0.95), ci90, margin, equivalent)
