"""Controversial stimuli (Golan et al. 2020): the synthetic brain's responses to them tell a twin from a wrong model
better than its responses to natural images (paired CI > 0); class-controversial images make two classifiers
disagree as asked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurosafe.interp import AscentConfig, InterpError
from neurosafe.interp.controversial import (
    controversial_classes,
    discrimination_experiment,
    model_discrimination,
    twin_and_wrong_model,
)


def test_controversial_stimuli_discriminate_twin_from_wrong_model_better_than_natural_images():
    brain, twin, wrong = twin_and_wrong_model(32, seed=0)
    res = discrimination_experiment(brain, twin, wrong, repeats=4, n_seeds=1, config=AscentConfig(steps=60),
                                    seed=0, n_natural_reference=300, n_boot=500)
    assert res["difference"].ci[0] > 0, res["difference"]
    ds = res["stimuli"]
    assert ds.sizes["neuron"] == 64 and set(ds["direction"].values) == {"A>B", "B>A"}
    # simple cells are the same in both models: no evidence either way on any stimulus set
    simple = brain.ground_truth["cell_type"].values == "simple"
    assert np.abs(res["controversial"].per_unit.values[simple]).max() < 0.05


def test_model_discrimination_poisson_llr_closed_form():
    import xarray as xr

    y = np.array([[[1.0, 3.0]], [[0.0, 2.0]]])  # (stimulus, neuron, repeat)
    rec = xr.DataArray(y, dims=("stimulus", "neuron", "repeat"),
                       coords={"stimulus_id": ("stimulus", ["a", "b"]), "neuron_id": ("neuron", ["n0"])})
    a, b = np.array([[2.0], [1.0]]), np.array([[1.0], [2.0]])
    want = np.mean([1 * np.log(2) - 1, 3 * np.log(2) - 1, 0 * np.log(0.5) + 1, 2 * np.log(0.5) + 1])
    score = model_discrimination(rec, a, b, n_boot=10)
    assert score.value == pytest.approx(want)
    with pytest.raises(InterpError, match="positive"):
        model_discrimination(rec, -a, b)


def test_class_controversial_images_split_two_classifiers():
    gen = torch.Generator().manual_seed(0)
    model_a = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    model_b = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    with torch.no_grad():
        for m in (model_a, model_b):
            m[1].weight.copy_(torch.randn(3, 64, generator=gen))
            m[1].bias.copy_(-0.5 * m[1].weight.sum(1))  # logits 0 at mean grey: the budget decides
    ds = controversial_classes(model_a, model_b, [(0, 1), (2, 0)], config=AscentConfig(steps=60),
                               image_shape=(1, 8, 8))
    x = torch.as_tensor(ds["image"].values)
    assert model_a(x).argmax(1).tolist() == [0, 2]
    assert model_b(x).argmax(1).tolist() == [1, 0]
