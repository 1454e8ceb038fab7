"""Planted superposition: Elhage et al.'s toy model superposes sparse features (and not dense ones); on a brain with
mixed selectivity, a dictionary recovers the planted latents better than single neurons (paired CI)."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.interp import InterpError
from neurosafe.interp.superposition import (
    TOY_SAE,
    MixedSelectivityBrain,
    dictionary_vs_neurons,
    latent_recovery,
    mean_max_cosine,
    toy_superposition,
)


def test_trained_toy_model_represents_more_features_than_dims_only_when_sparse():
    """Elhage et al. 2022, Fig. 2/3: with equal importance, dense features get at most d dimensions; sparse ones
    are packed in superposition (many more than d features with a large norm)."""
    sparse = toy_superposition(20, 5, p=0.05, n_samples=10, mixing="trained", train_steps=1500, seed=0).directions
    dense = toy_superposition(20, 5, p=1.0, n_samples=10, mixing="trained", train_steps=1500, seed=0).directions
    assert (np.linalg.norm(dense, axis=1) > 0.5).sum() <= 5
    assert (np.linalg.norm(sparse, axis=1) > 0.5).sum() >= 9


def test_mean_max_cosine_and_latent_recovery_closed_forms():
    true = np.eye(4)
    learned = np.array([[1.0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, -2]])
    np.testing.assert_allclose(mean_max_cosine(learned, true, per_feature=True), [1, 2**-0.5, 2**-0.5, 1])
    z = np.random.default_rng(0).standard_normal((100, 2))
    act = np.column_stack([3 * z[:, 0] + 1, np.ones(100), -z[:, 1]])
    np.testing.assert_allclose(latent_recovery(act, z), [1, 1])
    with pytest.raises(InterpError):
        mean_max_cosine(np.ones((2, 3)), np.ones((2, 4)))


def test_dictionary_recovers_mixed_selectivity_latents_better_than_neurons():
    brain = MixedSelectivityBrain(n_latents=12, n_neurons=40, p=0.1, mix=3, seed=0)
    res = dictionary_vs_neurons(brain, n_stimuli=1500, repeats=4, method="topk", config=TOY_SAE, seed=0, n_boot=500)
    assert res["difference"].ci[0] > 0, res["difference"]
    assert res["dictionary"].value > 0.8
    assert brain.ground_truth["mixing"].shape == (40, 12)
    assert ((brain.mixing > 0).sum(1) == 3).all()


def test_recovery_curve_keeps_each_dictionary_apart(tmp_path):
    from neurosafe.core.seeds import spawn_seeds
    from neurosafe.interp.dictionary import learn_dictionary
    from neurosafe.interp.figures import plot_recovery_curve
    from neurosafe.interp.superposition import recovery_curve

    curve = recovery_curve((0.05,), ("ica", "topk"), n_seeds=2, n_samples=2048, n_boot=50,
                           config=TOY_SAE.model_copy(update={"epochs": 2}), seed=7)
    want = []
    for sd in spawn_seeds(7, 2, "recovery curve"):
        data = toy_superposition(20, 8, 0.05, 2048, seed=sd)
        want.append(mean_max_cosine(learn_dictionary(data.x, "ica", 8, seed=sd).atoms, data.directions))
    np.testing.assert_allclose(curve["per_seed"].sel(dictionary="ica").values[0], want)
    assert not np.allclose(curve["per_seed"].sel(dictionary="topk").values, want)
    assert curve["ci_low"].sel(dictionary="ica").item() <= np.mean(want) <= curve["ci_high"].sel(dictionary="ica")
    assert plot_recovery_curve(curve, tmp_path / "curve.png").exists()
