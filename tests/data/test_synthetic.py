import numpy as np
import pytest

from neurosafe.core.errors import DataValidationError
from neurosafe.data import SyntheticBrain, gratings, natural_patches
from neurosafe.metrics import fev, split_half_reliability
from neurosafe.subjects import Subject


@pytest.fixture(scope="module")
def brain():
    return SyntheticBrain(n_neurons=120, area="V1", seed=0)


@pytest.fixture(scope="module")
def patches():
    return natural_patches(800, 32, seed=11)


def test_brain_is_a_subject_with_validated_outputs(brain, patches):
    assert isinstance(brain, Subject)
    mean = brain.respond(patches[:10])
    assert mean.dims == ("stimulus", "neuron") and (mean.values > 0).all()
    rec = brain.record(patches[:10], repeats=3, seed=1)
    assert rec.dims == ("stimulus", "neuron", "repeat") and rec.attrs["area"] == "V1"
    assert list(rec.stimulus_id.values) == list(patches.ids[:10])
    assert np.array_equal(rec.values, np.round(rec.values))  # Poisson spike counts


def test_same_seed_same_numbers(patches):
    a = SyntheticBrain(30, seed=5).record(patches[:50], 2, seed=1)
    b = SyntheticBrain(30, seed=5).record(patches[:50], 2, seed=1)
    c = SyntheticBrain(30, seed=5).record(patches[:50], 2, seed=2)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)


def test_ground_truth_table(brain):
    gt = brain.ground_truth
    for col in ("cell_type", "preferred_orientation", "preferred_sf", "rf_x", "rf_y", "rf_size", "filter"):
        assert col in gt
    assert gt.sizes["neuron"] == 120
    ori = gt.preferred_orientation.values
    assert ((ori >= 0) & (ori < 180)).all()
    assert set(gt.cell_type.values) == {"simple", "complex"}
    assert gt["filter"].shape == (120, 32, 32)


def test_true_preferred_orientation_is_what_gratings_reveal(brain):
    # independent check of the table: the orientation driving each neuron most, among gratings at its
    # preferred SF and all phases, equals the tabled preference (within the 7.5 deg grid step)
    gt = brain.ground_truth
    oris = np.arange(0, 180, 7.5)
    errs = []
    for i in range(0, 120, 6):
        st = gratings(orientations=oris, spatial_frequencies=(float(gt.preferred_sf[i]),),
                      phases=np.arange(0, 360, 30), size=32)
        r = brain.respond(st).values[:, i].reshape(len(oris), -1).max(axis=1)
        d = abs(oris[np.argmax(r)] - float(gt.preferred_orientation[i])) % 180
        errs.append(min(d, 180 - d))
    assert np.median(errs) <= 3.75 and np.max(errs) <= 15


def test_true_rf_centre_is_where_a_local_probe_drives_the_cell(brain):
    gt = brain.ground_truth
    for i in (0, 1, 2, 3):
        # drive with the neuron's own filter shifted over a grid: the best shift is the RF centre
        f = gt["filter"].values[i]
        assert np.unravel_index(np.argmax(np.abs(f)), f.shape)  # filter is not empty
        yy, xx = np.indices(f.shape)
        env = np.abs(f) / np.abs(f).sum()
        assert (env * xx).sum() == pytest.approx(float(gt.rf_x[i]), abs=1.0)
        assert (env * yy).sum() == pytest.approx(float(gt.rf_y[i]), abs=1.0)


def test_fev_recovers_true_explainable_fraction(brain, patches):
    rec = brain.record(patches, repeats=10, seed=3)
    est = fev(rec).per_unit.values
    mu = brain.respond(patches).values
    signal = mu.var(axis=0)  # population variance over stimuli of the noise-free response
    true = signal / (signal + brain.noise_variance(mu).mean(axis=0))
    assert np.mean(np.abs(est - true)) < 0.05


def test_gaussian_noise_option_also_recovers_fev(patches):
    b = SyntheticBrain(40, seed=2, noise="gaussian")
    rec = b.record(patches, repeats=10, seed=3)
    mu = b.respond(patches).values
    true = mu.var(axis=0) / (mu.var(axis=0) + b.noise_variance(mu).mean(axis=0))
    assert np.mean(np.abs(fev(rec).per_unit.values - true)) < 0.05


def test_split_half_rises_with_repeats_as_spearman_brown_predicts(brain, patches):
    r2 = split_half_reliability(brain.record(patches, 2, seed=4), n_splits=20, n_boot=0).per_unit.values
    r8 = split_half_reliability(brain.record(patches, 8, seed=5), n_splits=20, n_boot=0).per_unit.values
    # from a 2-repeat estimate (reliability of 2 trials), Spearman-Brown predicts 8 trials with factor 4
    predicted = 4 * r2 / (1 + 3 * r2)
    ok = np.isfinite(predicted) & np.isfinite(r8)
    assert np.median(r8) > np.median(r2) + 0.1
    assert np.median(np.abs(predicted[ok] - r8[ok])) < 0.06


def test_snr_range_controls_reliability(patches):
    lo = SyntheticBrain(60, seed=1, snr_range=(0.03, 0.06)).record(patches, 10, seed=1)
    hi = SyntheticBrain(60, seed=1, snr_range=(0.8, 1.6)).record(patches, 10, seed=1)
    r_lo = split_half_reliability(lo, n_splits=10, n_boot=0).value
    r_hi = split_half_reliability(hi, n_splits=10, n_boot=0).value
    assert 0.2 < r_lo < 0.5 and 0.85 < r_hi < 0.97


def test_v4_area_pools_over_larger_fields():
    v4 = SyntheticBrain(40, area="V4", seed=0)
    v1 = SyntheticBrain(40, area="V1", seed=0)
    assert np.median(v4.ground_truth.rf_size) > 1.5 * np.median(v1.ground_truth.rf_size)
    r = v4.respond(natural_patches(50, 32, seed=0))
    assert r.sizes["neuron"] == 40 and np.isfinite(r.values).all()


def test_module_is_differentiable(brain):
    import torch

    x = torch.rand(2, 1, 32, 32, requires_grad=True)
    brain.module(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"area": "IT"}, "area"), ({"noise": "binomial"}, "noise"), ({"n_neurons": 0}, "n_neurons"),
     ({"snr_range": (2.0, 1.0)}, "snr_range"), ({"image_size": 8}, "image_size")],
)
def test_bad_construction(kwargs, message):
    with pytest.raises(DataValidationError, match=message):
        SyntheticBrain(**{"n_neurons": 5, **kwargs})


def test_wrong_stimulus_size_and_site(brain):
    with pytest.raises(DataValidationError, match="sees 32x32 images; got 64x64"):
        brain.respond(natural_patches(2, 64))
    with pytest.raises(DataValidationError, match="unknown site 'V2'"):
        brain.respond(natural_patches(2, 32), site="V2")
    with pytest.raises(DataValidationError, match="repeats"):
        brain.record(natural_patches(2, 32), repeats=0)
