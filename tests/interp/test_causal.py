"""Causal interventions on a network with a planted circuit: patching finds the planted path (CI excludes 0) and
not a random path of the same size (CI covers 0); mediation splits the effect as built; stimulation's
dose-response matches the closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurosafe.interp import InterpError
from neurosafe.interp.causal import (
    PlantedCircuit,
    mediation,
    patch,
    patching_effect,
    planted_pairs,
    random_units,
    stimulate,
)
from neurosafe.interp.dictionary import Dictionary


def _covers_zero(score) -> bool:
    return score.ci[0] <= 0 <= score.ci[1]


@pytest.mark.parametrize("site", ["act1", "act2"])
def test_patching_finds_the_planted_path_and_not_a_random_one(site):
    net = PlantedCircuit(seed=0)
    base, source = planted_pairs(200, seed=0)
    path = net.path[site]
    found = patching_effect(net, site, base, source, units=path, seed=0, n_boot=500)
    control = random_units(net.widths[site], len(path), exclude=path, seed=1)
    rand = patching_effect(net, site, base, source, units=control, seed=0, n_boot=500)
    assert found.ci[0] > 0, found
    assert _covers_zero(rand), rand
    # the random path does change the readout on single pairs (the leak), only not on average
    per_pair = patch(net, site, base, source, units=control) - net(torch.as_tensor(base))[:, 0].detach().numpy()
    assert np.abs(per_pair).max() > 0.05


def test_mediation_of_the_planted_path():
    net = PlantedCircuit(seed=0)
    base, source = planted_pairs(200, seed=2)
    med = mediation(net, "act1", base, source, units=net.path["act1"], seed=0, n_boot=500)
    assert med["total"].ci[0] > 0 and med["indirect"].ci[0] > 0
    assert _covers_zero(med["direct"]), med["direct"]
    # the planted path is the variable's only route: total = indirect + the other pixels' (zero-mean) change
    y_b, y_s = (net(torch.as_tensor(v))[:, 0].detach().numpy() for v in (base, source))
    assert med["total"].value == pytest.approx((y_s - y_b).mean())


def test_subspace_and_dictionary_patching_equal_unit_patching():
    net = PlantedCircuit(seed=0)
    base, source = planted_pairs(50, seed=3)
    units = net.path["act1"]
    by_units = patch(net, "act1", base, source, units=units)
    basis = np.eye(24)[:, units]
    np.testing.assert_allclose(patch(net, "act1", base, source, subspace=basis @ np.diag([1, 2, -1, 3])), by_units,
                               rtol=1e-5, atol=1e-5)
    identity = Dictionary(np.eye(24), lambda a: a, lambda f: f, "identity")
    np.testing.assert_allclose(patch(net, "act1", base, source, dictionary=identity, features=units), by_units,
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(InterpError, match="exactly one component"):
        patch(net, "act1", base, source, units=units, subspace=basis)
    with pytest.raises(InterpError, match="paired"):
        patch(net, "act1", base, source[:10], units=units)


def test_stimulation_dose_response_matches_the_closed_form():
    """Adding dose x (e_0 + e_1 + e_2)/sqrt(3) to act2 adds sqrt(3) x dose to output 0 (weights 1, linear)."""
    net = PlantedCircuit(seed=0)
    base, _ = planted_pairs(40, seed=4)
    curve = stimulate(net, "act2", None, base, doses=[0, 0.5, 1, 2], units=net.path["act2"], seed=0, n_boot=200)
    np.testing.assert_allclose(curve["effect"].values, np.sqrt(3) * curve["dose"].values, rtol=1e-5, atol=1e-5)
    control = stimulate(net, "act2", None, base, doses=[0, 1, 2], units=[3, 4, 5], seed=0, n_boot=200)
    assert np.abs(control["effect"].values).max() < 0.3 * 2 * np.sqrt(3)
