"""Rule identification on a planted sweep: held-out architectures, well above chance with a CI."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.core.errors import NeurosafeError
from neurosafe.rules.identify import identify_rules, rule_features, split_networks
from tests.rules.conftest import HELD_OUT


def test_held_out_architecture_accuracy_well_above_chance(observables):
    res = identify_rules(observables, held_out=[HELD_OUT], n_boot=500)
    acc = res["accuracy"]
    assert res["n_test"] == 40 and res["chance"] == pytest.approx(0.2)
    # five rules: chance is 0.2; the whole 95% CI must lie well above it
    print(acc)
    assert acc.ci[0] > 0.45, acc
    assert res["confusion"].sum() == 40 and np.trace(res["confusion"]) == round(acc.value * 40)


def test_shuffled_labels_fall_to_chance(observables):
    """The same pipeline with the rule labels permuted across networks carries no information."""
    shuffled = observables.assign_coords(
        rule=("network", np.random.default_rng(0).permutation(observables.rule.values)))
    acc = identify_rules(shuffled, held_out=[HELD_OUT], n_boot=500)["accuracy"]
    assert acc.ci[0] < 0.35


def test_feature_selection_and_errors(observables):
    n = observables.sizes["network"]
    assert rule_features(observables, features="weights").shape == (n, 1 * 4 * 3 * 7)
    assert rule_features(observables, features="activity", times=[0, 3]).shape == (n, 2 * 2 * 3 * 7)
    with pytest.raises(NeurosafeError, match="not simulated"):
        rule_features(observables, units=7)
    with pytest.raises(NeurosafeError, match="feature set"):
        rule_features(observables, features="spikes")
    with pytest.raises(NeurosafeError, match="held-out"):
        split_networks(observables, ["cnn-d9-w9"])
