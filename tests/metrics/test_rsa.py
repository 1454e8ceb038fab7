"""RDMs, RDM comparisons and noise ceilings against rsatoolbox and scipy run side by side; planted truths."""

import warnings

import numpy as np
import pytest
import xarray as xr
from rsatoolbox.data import Dataset
from rsatoolbox.data.noise import prec_from_residuals
from rsatoolbox.inference import boot_noise_ceiling
from rsatoolbox.rdm import RDMs, calc_rdm, compare
from scipy.spatial.distance import pdist, squareform

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.data import make_responses
from neurosafe.metrics import compare_rdms, rdm, rsa_noise_ceiling, rsa_score

PEER_METHOD = {"spearman": "spearman", "pearson": "corr", "kendall_tau_a": "tau-a", "cosine": "cosine",
               "whitened_pearson": "corr_cov"}


@pytest.fixture(scope="module")
def trials():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((14, 25, 1)) * 2
    return signal + rng.standard_normal((14, 25, 5))


@pytest.fixture(scope="module")
def rdm_sets():
    rng = np.random.default_rng(1)

    def sym(k, n=16):
        a = rng.random((k, n, n))
        a = a + a.transpose(0, 2, 1)
        for m in a:
            np.fill_diagonal(m, 0)
        return a

    a, b = sym(3), sym(6)
    b[0] = np.round(b[0] * 3)  # many ties
    b[1] = 5 * b[1]  # another scale
    return a, b


@pytest.mark.parametrize(("ours", "theirs"), [("correlation", "correlation"), ("euclidean", "euclidean")])
def test_rdm_equals_rsatoolbox(trials, ours, theirs):
    mean = trials.mean(axis=2)
    peer = calc_rdm(Dataset(mean), method=theirs).get_matrices()[0]
    np.testing.assert_allclose(rdm(make_responses(trials), ours).values, peer, atol=1e-10)


def test_cosine_rdm_equals_scipy(trials):
    mean = trials.mean(axis=2)
    np.testing.assert_allclose(rdm(mean, "cosine").values, squareform(pdist(mean, "cosine")), atol=1e-12)


def _long(trials):
    s, n, r = trials.shape
    return Dataset(trials.transpose(2, 0, 1).reshape(-1, n),
                   obs_descriptors={"stim": np.tile(np.arange(s), r), "rep": np.repeat(np.arange(r), s)})


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # inside rsatoolbox
@pytest.mark.parametrize("noise", [None, "diagonal", "precision"])
def test_crossnobis_equals_rsatoolbox(trials, noise):
    s, n, r = trials.shape
    residuals = (trials - trials.mean(axis=2, keepdims=True)).transpose(2, 0, 1).reshape(-1, n)
    if noise == "precision":
        ours_noise = peer_noise = prec_from_residuals(residuals, dof=s * (r - 1), method="shrinkage_diag")
    elif noise == "diagonal":
        ours_noise, peer_noise = "diagonal", prec_from_residuals(residuals, dof=s * (r - 1), method="diag")
    else:
        ours_noise = peer_noise = None
    peer = calc_rdm(_long(trials), method="crossnobis", descriptor="stim", cv_descriptor="rep",
                    noise=peer_noise).get_matrices()[0]
    ours = rdm(make_responses(trials), "crossnobis", noise=ours_noise).values
    np.testing.assert_allclose(ours, peer, atol=1e-10)


def test_crossnobis_is_unbiased_where_euclidean_is_not():
    """Pure noise: true distances are 0; crossnobis averages to ~0, squared Euclidean to 2 sigma^2 / repeats."""
    rng = np.random.default_rng(3)
    noise_only = make_responses(rng.standard_normal((30, 40, 4)))
    off = ~np.eye(30, dtype=bool)
    assert abs(rdm(noise_only, "crossnobis").values[off].mean()) < 0.02
    assert rdm(noise_only, "euclidean").values[off].mean() == pytest.approx(2 / 4, rel=0.1)


@pytest.mark.parametrize("method", list(PEER_METHOD))
def test_every_comparator_equals_rsatoolbox(rdm_sets, method):
    a, b = rdm_sets
    np.testing.assert_allclose(compare_rdms(a, b, method), compare(RDMs(a), RDMs(b), PEER_METHOD[method]),
                               atol=1e-6)


@pytest.mark.parametrize("method", list(PEER_METHOD))
def test_noise_ceiling_equals_rsatoolbox(rdm_sets, method):
    _, b = rdm_sets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rsatoolbox: "noise ceiling for tau based on averaged ranks"
        peer = boot_noise_ceiling(RDMs(b), method=PEER_METHOD[method])
    np.testing.assert_allclose(rsa_noise_ceiling(b, method), peer, atol=1e-6)


def test_grouped_noise_ceiling_equals_rsatoolbox(rdm_sets):
    _, b = rdm_sets
    subjects = np.array(["s1", "s1", "s2", "s2", "s3", "s3"])
    da = xr.DataArray(b, dims=("rdm", "stimulus_a", "stimulus_b"), coords={"subject": ("rdm", subjects)})
    peer = boot_noise_ceiling(RDMs(b, rdm_descriptors={"subject": subjects}), method="corr", rdm_descriptor="subject")
    np.testing.assert_allclose(rsa_noise_ceiling(da, "pearson", groups="subject"), peer, atol=1e-6)


def test_rsa_score_is_mean_similarity_with_noise_ceiling(rdm_sets):
    a, b = rdm_sets
    score = rsa_score(a[0], b, method="spearman", n_boot=50)
    per_ref = compare(RDMs(a[:1]), RDMs(b), "spearman")[0]
    np.testing.assert_allclose(score.per_unit.values, per_ref, atol=1e-10)
    assert score.value == pytest.approx(per_ref.mean())
    lower, upper = boot_noise_ceiling(RDMs(b), method="spearman")
    assert score.ceiling == pytest.approx(upper) and score.provenance["noise_ceiling_lower"] == pytest.approx(lower)
    assert score.ceiled_value == pytest.approx(score.value / upper)
    assert score.ci[0] < score.ci[1]


def test_planted_shared_geometry_is_found_and_bootstrap_covers_it():
    """Reference subjects and the model share one latent geometry (plus independent noise)."""
    rng = np.random.default_rng(5)
    latent = rng.standard_normal((40, 6))
    ids = [f"s{i:02d}" for i in range(40)]

    def noisy(sd):
        return make_responses(latent @ rng.standard_normal((6, 30)) + sd * rng.standard_normal((40, 30)), ids,
                              dims=("stimulus", "neuron"))

    subjects = xr.concat([rdm(noisy(1.0)) for _ in range(5)], dim="rdm")
    good = rsa_score(noisy(1.0), subjects, n_boot=100)
    unrelated = rsa_score(make_responses(rng.standard_normal((40, 30)), ids, dims=("stimulus", "neuron")), subjects,
                          n_boot=100)
    assert good.ci[0] > 0.3 and abs(unrelated.value) < 0.1
    assert good.ceiled_value == pytest.approx(1.0, abs=0.15)  # a new "subject" is as good as the ceiling


def test_rdms_are_aligned_by_stimulus_id(trials):
    responses = make_responses(trials)
    d = rdm(responses)
    flipped = d.isel(stimulus_a=slice(None, None, -1), stimulus_b=slice(None, None, -1))
    assert compare_rdms(d, flipped, "pearson") == pytest.approx(1.0)


def test_bad_inputs_raise_clear_errors(trials):
    responses = make_responses(trials)
    d = rdm(responses)
    other = d.assign_coords(stimulus_a=[f"x{i}" for i in range(14)], stimulus_b=[f"x{i}" for i in range(14)])
    with pytest.raises(DataValidationError, match="different stimulus ids"):
        compare_rdms(d, other)
    with pytest.raises(DataValidationError, match="different numbers of stimuli"):
        compare_rdms(d.values, d.values[:10, :10])
    nan = d.values.copy()
    nan[0, 1] = np.nan
    with pytest.raises(DataValidationError, match="NaN"):
        compare_rdms(nan, d.values)
    with pytest.raises(DataValidationError, match="square"):
        compare_rdms(np.zeros((4, 5)), np.zeros((4, 5)))
    with pytest.raises(NeurosafeError, match="method"):
        compare_rdms(d, d, "kendall")
    with pytest.raises(NeurosafeError, match="distance"):
        rdm(responses, "manhattan")
    with pytest.raises(DataValidationError, match="repeat"):
        rdm(responses.mean("repeat"), "crossnobis")
    holes = trials.copy()
    holes[2, :, 1] = np.nan
    with pytest.raises(DataValidationError, match="missing repeats"):
        rdm(make_responses(holes), "crossnobis")
    flat = trials.mean(axis=2)
    flat[4] = 1.0
    with pytest.raises(DataValidationError, match="constant"):
        rdm(flat, "correlation")
    with pytest.raises(DataValidationError, match="at least 2 subjects"):
        rsa_noise_ceiling(d)
    with pytest.raises(DataValidationError, match="constant RDM"):
        compare_rdms(np.ones((5, 5)) - np.eye(5), d.values[:5, :5], "pearson")
