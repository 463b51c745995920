import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sstats

from embedeval.evaluate import stats


def test_fisher_ci_matches_hand_computation():
    # rho = 0.5, n = 50: z = atanh(0.5) = 0.549306; se = sqrt((1 + 0.25/2) / 47) = 0.154713;
    # z -+ 1.959964 * se, back through tanh.
    low, high = stats.fisher_ci(0.5, 50)
    assert math.isclose(low, 0.2412245087, abs_tol=1e-9)
    assert math.isclose(high, 0.6923932730, abs_tol=1e-9)


def test_fisher_ci_is_undefined_for_tiny_samples():
    assert all(math.isnan(v) for v in stats.fisher_ci(0.5, 3))


def test_williams_t_matches_hand_computation():
    # r12 = .5, r13 = .3, r23 = .4, n = 100: |R| = 1 - .25 - .09 - .16 + 2(.5)(.3)(.4) = 0.62, rbar = .4
    # t = .2 * sqrt(99 * 1.4 / (2 * 99/97 * .62 + .16 * .6**3)) = 2.064994 with 97 df
    t, p = stats.williams_t(0.5, 0.3, 0.4, 100)
    assert math.isclose(t, 2.0649936492, abs_tol=1e-9)
    assert math.isclose(p, 2 * sstats.t.sf(2.0649936492, 97), rel_tol=1e-9)
    assert 0.04 < p < 0.043


def test_williams_t_is_zero_for_equal_correlations():
    t, p = stats.williams_t(0.4, 0.4, 0.7, 80)
    assert t == 0 and math.isclose(p, 1.0)


def test_holm_adjusts_like_the_textbook_example():
    # p = .01, .04, .03, .005 -> sorted .005 .01 .03 .04 * (4, 3, 2, 1) = .02 .03 .06 .04 -> monotone .02 .03 .06 .06
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])


def test_holm_keeps_nan_out_of_the_family():
    adjusted = stats.holm([0.01, float("nan"), 0.02])
    assert math.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], [0.02, 0.02])


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=5, max_value=60), st.integers(min_value=0, max_value=10_000))
def test_fast_bootstrap_equals_spearman_of_each_resample(n, seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=n), 1)  # rounding makes ties, the hard case for ranks
    y = np.round(x + rng.normal(size=n), 1)
    counts = stats.resample_counts(n, 20, np.random.default_rng(seed))
    fast = stats.bootstrap_spearman(x, y, counts)
    for row, value in zip(counts, fast):
        idx = np.repeat(np.arange(n), row.astype(int))
        if np.ptp(x[idx]) == 0 or np.ptp(y[idx]) == 0:
            assert not np.isfinite(value)
        else:
            assert math.isclose(value, sstats.spearmanr(x[idx], y[idx]).statistic, abs_tol=1e-12)


def test_bootstrap_is_seeded():
    a = stats.resample_counts(50, 10, stats.resample_seed(3, "simlex999"))
    b = stats.resample_counts(50, 10, stats.resample_seed(3, "simlex999"))
    c = stats.resample_counts(50, 10, stats.resample_seed(3, "men"))
    assert (a == b).all() and not (a == c).all()


def test_paired_bootstrap_detects_a_real_difference():
    rng = np.random.default_rng(0)
    gold = rng.normal(size=400)
    good = gold + 0.5 * rng.normal(size=400)
    bad = gold + 2.0 * rng.normal(size=400)
    counts = stats.resample_counts(400, 500, np.random.default_rng(1))
    test = stats.compare_dependent(gold, good, bad, counts)
    assert test.delta > 0 and test.delta_low > 0
    assert test.williams_p < 1e-6 and test.bootstrap_p < 0.01


def test_the_seed_test_is_scipys_paired_t_and_its_tost_follows_the_90_percent_interval():
    from scipy import stats as sps

    from embedeval.evaluate.stats import paired_seed_test

    a = {1: 110.7, 2: 110.6, 3: 109.9, 4: 111.0}
    b = {1: 109.0, 2: 109.1, 3: 109.8, 5: 100.0}  # seed 4 and 5 are in one side only: left out
    t = paired_seed_test(a, b, margin=2.0)
    ref = sps.ttest_rel([109.0, 109.1, 109.8], [110.7, 110.6, 109.9])
    assert t.n == 3 and t.mean == pytest.approx(-1.1) and t.p == pytest.approx(ref.pvalue)
    assert t.t == pytest.approx(ref.statistic)
    low, high = ref.confidence_interval(0.95)
    assert t.ci95 == pytest.approx((low, high))
    assert t.equivalent is (-2.0 < t.ci90[0] and t.ci90[1] < 2.0)
    assert paired_seed_test(a, b, margin=0.5).equivalent is False  # the interval reaches past -0.5
    one = paired_seed_test({1: 1.0}, {1: 3.0}, margin=1.0)
    assert one.n == 1 and one.mean == 2.0 and one.p is None and one.equivalent is None  # one seed: no test


def test_the_perplexity_interval_covers_the_perplexity_and_narrows_with_more_text():
    from embedeval.train.base import ppl_interval

    rng = np.random.default_rng(1)
    short = [(float(n), 100) for n in rng.normal(460, 40, size=20)]  # ~exp(4.6) = 100 per block
    long = short * 25
    point = math.exp(sum(b[0] for b in short) / sum(b[1] for b in short))
    low, high = ppl_interval(short)
    assert low < point < high
    low_long, high_long = ppl_interval(long)
    assert high_long - low_long < (high - low) / 3  # 25 times the text: about a fifth of the width
    assert ppl_interval(short[:4]) is None  # too few blocks to say anything
    assert ppl_interval(short) == ppl_interval(short)  # seeded
