import json

import numpy as np
import pytest

from neurosafe.core.errors import DataValidationError
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.twin import TwinError
from neurosafe.twin.evaluate import evaluate_predictions, evaluate_twin


@pytest.fixture(scope="module")
def truth():
    brain = SyntheticBrain(n_neurons=30, area="V1", seed=1, image_size=16, n_calibration=300)
    stim = natural_patches(400, 16, seed=2)
    return brain, stim, brain.record(stim, repeats=10, seed=3)


def test_the_true_mean_response_reaches_the_ceiling(truth):
    """Planted ground truth: the brain's noise-free response is a perfect model of the mean."""
    brain, stim, rec = truth
    ev = evaluate_twin(brain, stim, rec, n_boot=100)
    assert abs(ev.feve.value - 1) < 0.05
    assert abs(ev.fraction_of_ceiling.value - 1) < 0.05
    assert ev.feve.ci[0] <= ev.feve.value <= ev.feve.ci[1]
    # scaling the prediction keeps its correlation but is no longer the mean: FEVE must drop
    doubled = evaluate_predictions(brain.respond(stim) * 2, rec, n_boot=0)
    np.testing.assert_allclose(doubled.correlation.per_unit.values, ev.correlation.per_unit.values, atol=1e-9)
    assert doubled.feve.value < 0.5


def test_correlations_match_numpy(truth):
    brain, stim, rec = truth
    rec = rec.copy()
    rec[:40, :, 7:] = np.nan  # missing repeats
    pred = brain.respond(stim) + np.random.default_rng(0).normal(0, 0.05, (400, 30))
    ev = evaluate_predictions(pred, rec, n_boot=0)
    y, x = rec.values, pred.values
    for n in range(30):
        avg = np.nanmean(y[:, n], axis=1)
        assert ev.correlation.per_unit.values[n] == pytest.approx(np.corrcoef(x[:, n], avg)[0, 1], abs=1e-9)
        ok = np.isfinite(y[:, n])
        single = np.corrcoef(np.broadcast_to(x[:, n, None], ok.shape)[ok], y[:, n][ok])[0, 1]
        assert ev.single_trial_correlation.per_unit.values[n] == pytest.approx(single, abs=1e-9)
    np.testing.assert_allclose(
        ev.fraction_of_ceiling.per_unit.values, ev.correlation.per_unit.values / ev.ceiling.per_unit.values
    )
    # the one aggregate ceiling: sqrt of the median split-half reliability over ALL neurons (none dropped)
    from neurosafe.metrics import split_half_reliability

    rel = split_half_reliability(rec, n_boot=0).per_unit.values
    agg = np.sqrt(max(np.median(rel), 0))
    assert ev.ceiling.value == pytest.approx(agg)
    assert ev.correlation.ceiled_value == pytest.approx(ev.correlation.value / agg)
    assert ev.fraction_of_ceiling.value == pytest.approx(np.nanmedian(ev.correlation.per_unit.values) / agg)


def test_to_dict_is_json_with_medians_and_per_neuron_values(truth):
    brain, stim, rec = truth
    out = evaluate_twin(brain, stim, rec, n_boot=10).to_dict()
    json.dumps(out)
    for key in ("feve", "fraction_of_ceiling", "correlation", "single_trial_correlation", "ceiling"):
        assert isinstance(out[key], float)
    assert len(out["per_neuron"]) == 30
    assert set(out["per_neuron"]["v1_0000"]) == {
        "feve",
        "fraction_of_ceiling",
        "correlation",
        "single_trial_correlation",
        "ceiling",
    }


def test_bad_inputs(truth):
    brain, stim, rec = truth
    # no repeats: not an error any more, a ceiling-free evaluation that says so
    free = evaluate_twin(brain, stim, rec.mean("repeat"), n_boot=0)
    assert free.ceiling_free and free.feve is None and free.fraction_of_ceiling is None
    with pytest.raises(TwinError, match="lacks 5 neuron ids"):
        evaluate_predictions(brain.respond(stim).isel(neuron=slice(5, None)), rec)
    bad = brain.respond(stim).copy()
    bad[0, 0] = np.inf
    with pytest.raises((TwinError, DataValidationError), match="inf"):
        evaluate_predictions(bad, rec)
    with pytest.raises(TwinError, match="StimulusSet"):
        evaluate_twin(brain, stim.images, rec)
    with pytest.raises(TwinError, match="undefined for every neuron"):
        evaluate_predictions(brain.respond(stim) * 0, rec)
