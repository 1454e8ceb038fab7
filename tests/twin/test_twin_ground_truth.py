"""Ground truth: a twin fitted to a noisy synthetic V1 recording recovers the population's responses and
its receptive-field positions (the brain's planted rf_x, rf_y)."""

import numpy as np
import pytest

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.metrics import split_half_reliability
from neurosafe.twin import TwinConfig, TwinTrainConfig, fit_twin
from neurosafe.twin.evaluate import evaluate_twin


@pytest.mark.slow
def test_twin_recovers_synthetic_v1():
    brain = SyntheticBrain(n_neurons=100, area="V1", seed=0)
    stim = natural_patches(5000, 32, seed=1)  # 4,500 train + 500 validation
    rec = brain.record(stim, repeats=2, seed=2)
    reliability = split_half_reliability(rec, n_splits=20, n_boot=0).value
    assert 0.4 <= reliability <= 0.6  # a typical recording: median split-half r about 0.5
    test = natural_patches(500, 32, seed=3)
    test_rec = brain.record(test, repeats=20, seed=4)

    twin = fit_twin(stim, rec, TwinConfig(train=TwinTrainConfig(epochs=20, progress=False)), seed=0)
    score = evaluate_twin(twin, test, test_rec, n_boot=100)
    assert score.feve.value >= 0.8, score.feve
    assert score.fraction_of_ceiling.value >= 0.85

    pos = twin.readout_positions()
    truth = brain.ground_truth
    error = np.hypot(
        pos.sel(axis="x").values - truth.rf_x.values, pos.sel(axis="y").values - truth.rf_y.values
    )
    print(
        f"\nsynthetic V1: split-half {reliability:.3f}, test FEVE {score.feve.value:.3f} {score.feve.ci}, "
        f"fraction of ceiling {score.fraction_of_ceiling.value:.3f}, median RF position error "
        f"{np.median(error):.2f} px, epochs {len(twin.history)}"
    )
    assert np.median(error) <= 2.0, np.median(error)
