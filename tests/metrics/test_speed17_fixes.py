"""Exact ranks against scipy (ties included), whitened-Pearson RSA under bootstrap, the float32 ridge against
float64 and scikit-learn, and the shape distances' bias-corrected bootstrap (estimate inside its CI)."""

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr
from sklearn.linear_model import RidgeCV

from neurosafe.data import make_responses
from neurosafe.metrics import (
    LinearShapeMetric,
    RidgeCVMapping,
    compare_rdms,
    permutation_distance,
    rdm,
    ridge_predictivity,
    rsa_score,
    shape_distance,
    stimulus_folds,
)
from neurosafe.metrics.bootstrap import bootstrap_indices


def _rdm(x):
    return np.abs(x[:, None] - x[None, :]).sum(-1)


@pytest.mark.parametrize("case", ["continuous", "rounded", "few_levels", "constant_block", "tiny_and_huge"])
def test_spearman_of_rdms_equals_scipy_with_ties(case):
    rng = np.random.default_rng(len(case))
    n = 60
    a, b = _rdm(rng.standard_normal((n, 3))), _rdm(rng.standard_normal((n, 3)))
    if case == "rounded":
        a, b = np.round(a, 1), np.round(b)
    elif case == "few_levels":
        a, b = np.floor(a), np.minimum(np.floor(b), 2.0)
    elif case == "constant_block":
        a[:20, :20] = 1.0
        np.fill_diagonal(a, 0)
    elif case == "tiny_and_huge":
        a = a * 1e-200 + (a > np.median(a)) * 1e150
    iu = np.triu_indices(n, 1)
    assert compare_rdms(a, b, "spearman") == pytest.approx(spearmanr(a[iu], b[iu]).statistic, abs=1e-10)
    from neurosafe.metrics.rsa import _ranks  # the ranking itself, on the raw vectors
    np.testing.assert_array_equal(_ranks(a[iu][None])[0], rankdata(a[iu]))


def test_rdm_of_correlation_distance_is_exactly_symmetric():
    d = rdm(np.random.default_rng(0).standard_normal((50, 20))).values
    assert (d == d.T).all() and (np.diag(d) == 0).all()


def test_whitened_pearson_rsa_bootstraps_over_resampled_patterns():
    rng = np.random.default_rng(2)
    latent = rng.standard_normal((25, 4))
    model = make_responses(latent @ rng.standard_normal((4, 12)) + rng.standard_normal((25, 12)),
                           dims=("stimulus", "neuron"))
    ref = make_responses(latent @ rng.standard_normal((4, 15)) + rng.standard_normal((25, 15)),
                         dims=("stimulus", "neuron"))
    score = rsa_score(model, ref, method="whitened_pearson", n_boot=20, seed=4)
    dm, dr = rdm(model).values, rdm(ref).values
    expected = [compare_rdms(dm[np.ix_(i, i)], dr[np.ix_(i, i)], "whitened_pearson")
                for i in bootstrap_indices(25, 20, 4)[1:]]
    np.testing.assert_allclose(score.replicates, expected, rtol=1e-10)
    assert score.ci[0] < score.value < score.ci[1]


def test_float32_ridge_agrees_with_float64_and_scikit_learn():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((100, 250))
    y = x[:, :10] @ rng.standard_normal((10, 20)) * 0.3 + rng.standard_normal((100, 20))
    alphas = np.logspace(-1, 5, 10)
    responses = make_responses(y, dims=("stimulus", "neuron"))
    r32 = ridge_predictivity(x, responses, alphas=alphas, n_boot=0).per_unit.values
    r64 = ridge_predictivity(x, responses, alphas=alphas, n_boot=0, precision="float64").per_unit.values
    np.testing.assert_allclose(r32, r64, atol=1e-4)
    per_fold = []
    for test in stimulus_folds(100, 5, seed=0):
        train = np.setdiff1d(np.arange(100), test)
        pred = RidgeCV(alphas=alphas, alpha_per_target=True).fit(x[train], y[train]).predict(x[test])
        p, t = pred - pred.mean(0), y[test] - y[test].mean(0)
        per_fold.append((p * t).sum(0) / np.sqrt((p**2).sum(0) * (t**2).sum(0)))
    np.testing.assert_allclose(r64, np.mean(per_fold, axis=0), atol=1e-8)
    np.testing.assert_allclose(r32, np.mean(per_fold, axis=0), atol=1e-4)
    # an ill-conditioned spectrum falls back to float64 decompositions: the float32 mode then equals it
    xs = x * np.logspace(0, -5, 250)
    a32 = RidgeCVMapping(alphas, precision="float32").fit(xs, y)
    a64 = RidgeCVMapping(alphas).fit(xs, y)
    np.testing.assert_array_equal(a32.alpha_, a64.alpha_)
    np.testing.assert_allclose(a32.coef_, a64.coef_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("distance", [shape_distance, permutation_distance])
def test_shape_distances_bias_correction_keeps_the_estimate_inside_its_ci(distance):
    """In-sample distances are fitted to the noise, so resamples (fewer distinct stimuli) sit lower: the plug-in
    lay at or above its CI. The bias-corrected estimate lies inside it and nearer the large-sample distance."""
    rng = np.random.default_rng(7)
    mix = rng.standard_normal((8, 8))

    def sample(n):
        x = rng.standard_normal((n, 8))
        return x, x @ mix + 2.0 * rng.standard_normal((n, 8))

    x, y = sample(40)
    score = distance(x, y, n_boot=100, seed=0)
    assert score.ci[0] < score.value < score.ci[1]
    assert score.value > score.plugin  # corrected upwards, away from the overfitted in-sample value
    big_x, big_y = sample(4000)
    truth = float(distance(big_x, big_y, n_boot=0).value)  # fitting bias ~ nothing at 100x the stimuli
    assert abs(score.value - truth) < abs(score.plugin - truth)
    if distance is shape_distance:  # the same estimator as LinearShapeMetric in-sample
        assert score.plugin == pytest.approx(LinearShapeMetric().fit(x, y).score(x, y))


@pytest.mark.parametrize("values", [
    [0.0, -0.0, 0.0, 1e-320, 5e-324, -5e-324, 2.0],  # signed zeros tie; subnormals keep their order
    [-1e308, 1e308, 1.7e308, 0.0, 0.0, -0.0, 5.0],  # a range that overflows float64
    [1.0, 1.0 + 2**-52, 1.0 + 2**-51, 1.0, 3.0],  # neighbours one ulp apart share a key bin
    [0.5, 0.25, 0.5, 0.125, 4.0, 0.25],  # all positive: raw bit patterns as keys
    [1.0, 1.0, -0.0, 2.0, 0.0], [-0.0, -0.0, 0.0],  # min() returns +0.0 though -0.0 is present
])
def test_ranks_of_zeros_subnormals_and_extreme_ranges_equal_scipy(values):
    from neurosafe.metrics.rsa import _ranks
    v = np.array(values)
    np.testing.assert_array_equal(_ranks(v[None])[0], rankdata(v))


def test_rdm_of_plain_arrays_keeps_the_validation_of_dataarrays():
    from neurosafe.core.errors import DataValidationError
    x = np.random.default_rng(5).standard_normal((6, 4))
    np.testing.assert_array_equal(rdm(x).values, rdm(make_responses(x, dims=("stimulus", "neuron"))).values)
    assert list(rdm(x)["stimulus_a"].values) == [str(i) for i in range(6)]
    x[2, 1] = np.nan
    with pytest.raises(DataValidationError, match="no valid repeat"):
        rdm(x)
    x[2, 1] = np.inf
    with pytest.raises(DataValidationError, match="inf"):
        rdm(x)
    with pytest.raises(DataValidationError, match="dims"):
        rdm(np.ones((3, 4, 5)))
    with pytest.raises(DataValidationError, match="repeat"):
        rdm(np.ones((3, 4)), "crossnobis")
    with pytest.raises(DataValidationError, match="NaN or inf"):
        compare_rdms(np.full((4, 4), np.nan), np.ones((4, 4)))


def test_spearman_straight_from_rdm_stacks_equals_scipy_per_pair():
    """Ranks gathered from the RDMs' upper triangles, one scratch buffer reused across all RDMs of both stacks:
    negative entries, signed zeros, ties and a constant lower triangle (ignored) in the mix."""
    rng = np.random.default_rng(11)
    n = 40
    a = rng.standard_normal((2, n, n))
    b = np.round(rng.standard_normal((3, n, n)), 1)  # ties and zeros
    b[1] = -np.abs(b[1])  # all negative, -0.0 among them
    b[2][np.tril_indices(n)] = 7.0
    iu = np.triu_indices(n, 1)
    expected = np.array([[spearmanr(x[iu], y[iu]).statistic for y in b] for x in a])
    np.testing.assert_allclose(compare_rdms(a, b, "spearman"), expected, rtol=0, atol=1e-12)
    assert compare_rdms(a[0], b[2], "spearman") == pytest.approx(expected[0, 2], abs=1e-12)


def test_rdms_of_plain_arrays_do_not_share_attrs_or_values():
    x = np.random.default_rng(12).standard_normal((8, 5))
    first, second = rdm(x), rdm(x * 2 + 1)
    first.attrs["distance"] = "edited"
    first.values[0, 1] = 99.0
    assert second.attrs["distance"] == "correlation" and rdm(x).attrs["distance"] == "correlation"
    assert second.values[0, 1] != 99.0 and rdm(x).values[0, 1] != 99.0
    assert rdm(x, "euclidean").attrs["distance"] == "euclidean"
    assert list(second["stimulus_b"].values) == [str(i) for i in range(8)]


@pytest.mark.parametrize("tied", [0.0, 0.3, 0.45, 0.7, 0.999])
def test_spearman_with_any_share_of_ties_equals_scipy(tied):
    """b's ranks are met by gathering a's in b's sorted order, with the tied positions corrected (under half
    tied) or b's ranks written out (over half): both branches against scipy, and constant RDMs refused."""
    from neurosafe.core.errors import DataValidationError
    rng = np.random.default_rng(int(tied * 1000))
    n = 50
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    iu = np.triu_indices(n, 1)
    upper = b[iu]
    shared = rng.random(len(upper)) < tied
    shared[:2] = False  # never constant
    upper[shared] = 0.25  # one tied value
    b[iu] = upper
    assert compare_rdms(a, b, "spearman") == pytest.approx(spearmanr(a[iu], b[iu]).statistic, abs=1e-12)
    constant = np.ones((n, n))
    for pair in ((a, constant), (constant, a)):
        with pytest.raises(DataValidationError, match="constant RDM"):
            compare_rdms(*pair, "spearman")


def test_rdm_and_spearman_stay_exact_across_sizes_and_threads():
    """RDMs and their Spearman comparison use per-thread scratch buffers reused between calls: calls of
    growing and shrinking sizes, and calls from several threads at once, each match scipy and numpy."""
    from concurrent.futures import ThreadPoolExecutor

    def check(seed: int) -> None:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(5, 120))
        a, b = rng.standard_normal((n, 30)), rng.standard_normal((n, 30))
        ra, rb = rdm(a), rdm(b)
        np.testing.assert_allclose(ra.values, 1 - np.corrcoef(a), atol=1e-12)
        iu = np.triu_indices(n, k=1)
        want = spearmanr(ra.values[iu], rb.values[iu]).statistic
        assert abs(compare_rdms(ra, rb) - want) < 1e-12

    for seed in range(6):
        check(seed)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(check, range(100, 140)))
