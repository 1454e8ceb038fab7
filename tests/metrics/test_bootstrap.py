"""The one bootstrap: intervals against scipy.stats.bootstrap, resamples as counts, paired-difference
coverage on a planted truth, bias correction on a planted truth, and point-inside-CI properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from neurosafe.core.errors import NeurosafeError
from neurosafe.metrics import Score, average_scores, mean_score, paired_difference
from neurosafe.metrics.bootstrap import (
    bias_corrected,
    bootstrap_ci,
    bootstrap_indices,
    bootstrap_weights,
    jackknife_values,
)


def test_percentile_and_bca_intervals_match_scipy():
    # a skewed statistic (mean of exponential data), where BCa and percentile intervals differ
    x = np.random.default_rng(0).exponential(size=40)
    n_boot = 20_000
    reps = x[bootstrap_indices(len(x), n_boot, 1)].mean(axis=1)
    jack = jackknife_values(lambda ix: x[ix].mean(), len(x))
    ours = {m: bootstrap_ci(reps[0], reps[1:], 0.95, m, jack) for m in ("percentile", "bca")}
    for method, name in (("percentile", "percentile"), ("bca", "BCa")):
        ref = stats.bootstrap((x,), np.mean, n_resamples=n_boot, method=name, rng=2).confidence_interval
        # Monte Carlo error of a 2.5% / 97.5% quantile of 20000 replicates: ~0.003 each; tolerance 0.015
        np.testing.assert_allclose(ours[method], (ref.low, ref.high), atol=0.015)
    assert abs(ours["bca"][0] - ours["percentile"][0]) > 0.02  # the test can tell the two apart


def test_weights_are_the_index_resamples_as_counts():
    idx = bootstrap_indices(37, 50, 3, "purpose")
    w = bootstrap_weights(37, 50, 3, "purpose")
    assert idx.shape == w.shape == (51, 37)
    np.testing.assert_array_equal(idx[0], np.arange(37))
    np.testing.assert_array_equal(w, [np.bincount(row, minlength=37) for row in idx])
    assert (w.sum(1) == 37).all()
    # same seed and n -> same resamples; another purpose or seed -> others
    np.testing.assert_array_equal(idx, bootstrap_indices(37, 50, 3, "purpose"))
    assert (idx[1:] != bootstrap_indices(37, 50, 3)[1:]).any()
    assert (idx[1:] != bootstrap_indices(37, 50, 4, "purpose")[1:]).any()


def test_paired_difference_refuses_unpaired_scores():
    x, y = np.random.default_rng(0).normal(size=(2, 60))
    a = mean_score(x, "a", seed=0, n_boot=100)
    assert a.n == 60 and a.method == "percentile" and a.replicates.shape == (100,)
    b = mean_score(y, "b", seed=0, n_boot=100)
    d = paired_difference(a, b)
    assert d.value == pytest.approx(x.mean() - y.mean())
    np.testing.assert_allclose(d.replicates, a.replicates - b.replicates)
    for other in (mean_score(y, "b", seed=1, n_boot=100),  # other resamples
                  mean_score(y[:50], "b", seed=0, n_boot=100),  # other units
                  mean_score(y, "b", seed=0, n_boot=99),
                  mean_score(y, "b", seed=0, n_boot=0),  # no replicates
                  ):
        with pytest.raises(NeurosafeError, match="replicates|resamples"):
            paired_difference(a, other)
    with pytest.raises(NeurosafeError, match="resamples"):  # seed None: random, unshared resamples
        paired_difference(mean_score(x, "a", seed=None, n_boot=10), mean_score(y, "b", seed=None, n_boot=10))


def test_paired_bootstrap_covers_the_true_difference_at_the_nominal_rate():
    """Planted truth: two correlated per-item measurements (rho 0.7) with mean difference 0.2; the paired
    95% CI must cover 0.2 in 0.95 +- 0.03 of 1000 simulated datasets (Monte Carlo sd of the rate ~0.007)."""
    rng = np.random.default_rng(11)
    n_sims, n_items, delta = 1000, 80, 0.2
    covered = 0
    unpaired_width, paired_width = [], []
    for sim in range(n_sims):
        common = rng.normal(size=n_items)
        a = delta + np.sqrt(0.7) * common + np.sqrt(0.3) * rng.normal(size=n_items)
        b = np.sqrt(0.7) * common + np.sqrt(0.3) * rng.normal(size=n_items)
        sa, sb = mean_score(a, "a", seed=sim, n_boot=400), mean_score(b, "b", seed=sim, n_boot=400)
        diff = paired_difference(sa, sb)
        covered += diff.ci[0] <= delta <= diff.ci[1]
        paired_width.append(diff.ci[1] - diff.ci[0])
        unpaired_width.append(np.hypot(*(s.ci[1] - s.ci[0] for s in (sa, sb))))
    assert abs(covered / n_sims - 0.95) <= 0.03
    # pairing removes the shared variance: sd of a - b is sqrt(0.6) vs sqrt(2) unpaired
    assert np.mean(paired_width) / np.mean(unpaired_width) == pytest.approx(np.sqrt(0.6 / 2), rel=0.1)


def test_bias_correction_covers_a_biased_statistic():
    """Planted truth: theta = |mu|^2 of a 20-dim mean estimated by |mean|^2, biased up by 20/n. The
    bias-corrected interval covers theta at about the nominal rate; the plain percentile interval does not."""
    rng = np.random.default_rng(5)
    n_sims, n, k, n_boot = 600, 50, 20, 400
    mu = np.full(k, 1 / np.sqrt(k))  # theta = 1
    hits = {"corrected": 0, "percentile": 0}
    closer = 0
    for sim in range(n_sims):
        x = mu + rng.normal(size=(n, k))
        reps = ((bootstrap_weights(n, n_boot, sim) @ x / n) ** 2).sum(1)
        est, ci = bias_corrected(reps[0], reps[1:])
        hits["corrected"] += ci[0] <= 1 <= ci[1]
        lo, hi = bootstrap_ci(reps[0], reps[1:])
        hits["percentile"] += lo <= 1 <= hi
        closer += abs(est - 1) < abs(reps[0] - 1)
    assert abs(hits["corrected"] / n_sims - 0.95) <= 0.03
    assert hits["percentile"] / n_sims < 0.5
    assert closer / n_sims > 0.6


def test_from_bootstrap_fills_the_fields_and_averages_stay_paired():
    x = np.random.default_rng(1).normal(size=(3, 40))
    scores = [mean_score(v, "m", seed=7, n_boot=200) for v in x]
    avg = average_scores(scores)
    assert avg.value == pytest.approx(x.mean())
    np.testing.assert_allclose(avg.replicates, np.mean([s.replicates for s in scores], axis=0))
    plain = Score.from_bootstrap([0.5], n=10)
    assert plain.ci is None and plain.replicates is None and plain.n == 10
    with pytest.raises(NeurosafeError, match="CI method"):
        Score.from_bootstrap([0.5, 0.4, 0.6], n=10, method="studentized")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=40), st.integers(0, 2**32 - 1))
def test_mean_score_point_lies_inside_its_ci(values, seed):
    score = mean_score(np.array(values), "m", seed=seed, n_boot=200)
    assert score.ci[0] <= score.value <= score.ci[1]


@settings(max_examples=100, deadline=None)
@given(st.floats(-10, 10), st.lists(st.floats(-10, 10), min_size=2, max_size=200))
def test_bias_corrected_estimate_lies_inside_its_ci(point, replicates):
    est, ci = bias_corrected(point, np.array(replicates))
    assert ci[0] <= est <= ci[1]
    corrected = Score.from_bootstrap([point, *replicates], n=5, method="bias_corrected")
    assert corrected.value == est and corrected.ci == ci
    assert corrected.plugin == point  # the uncorrected estimate and its raw replicates are kept for pairing
    assert np.array_equal(corrected.replicates, np.array(replicates, dtype=float))


def test_bias_corrected_scores_pair_and_average_on_their_plug_in_estimates():
    """Differences use the plug-in estimates and raw replicates (the biases cancel); averages are corrected
    again, which (the correction being linear) equals the mean of the corrected values."""
    rng = np.random.default_rng(3)
    point_a, point_b = 0.8, 0.7
    reps_a, reps_b = point_a - 0.05 + 0.02 * rng.standard_normal(200), point_b - 0.04 + 0.02 * rng.standard_normal(200)
    common = {"n": 50, "method": "bias_corrected", "provenance": {"seed": 0}}
    a = Score.from_bootstrap([point_a, *reps_a], **common)
    b = Score.from_bootstrap([point_b, *reps_b], **common)
    assert a.value == pytest.approx(point_a - (reps_a.mean() - point_a))
    d = paired_difference(a, b)
    assert d.value == pytest.approx(point_a - point_b)
    assert d.ci[0] <= d.value <= d.ci[1]
    assert d.ci == pytest.approx(tuple(np.quantile(reps_a - reps_b, [0.025, 0.975])))
    avg = average_scores([a, b])
    assert avg.value == pytest.approx((a.value + b.value) / 2)
    assert avg.plugin == pytest.approx((point_a + point_b) / 2)
    assert avg.ci[0] <= avg.value <= avg.ci[1]
