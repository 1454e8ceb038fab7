"""Neural alignment (virtual-rodent protocol) on the planted animal: the planted drives themselves predict
the neurons near the noise ceiling and beat kinematics (paired CI > 0), every twin layer gets a row with
its ceiling and CI, and flattening trials keeps every bin's counts."""

from __future__ import annotations

import numpy as np

from neurosafe.embodied import flatten_trials, neural_alignment


def test_alignment_table_and_planted_truth(animal, trials, twin_fit):
    behaviour, _, _ = trials
    sub = behaviour.subset(range(6))
    rec = animal.record(sub, repeats=4, seed=2)
    truth = animal.drives(sub)
    al = neural_alignment(twin_fit.twin, sub, rec, sites=("latent", "encoder"), n_boot=100,
                          extra_features={"planted drives": truth})
    assert list(al.scores) == ["latent", "encoder", "planted drives", "kinematics"]
    for s in al.scores.values():
        assert s.ci[0] <= s.value <= s.ci[1]
        assert s.ceiling is not None and 0 < s.ceiling < 1
    gt = al.scores["planted drives"]
    assert gt.ceiled_value > 0.9  # the generating variables predict the neurons up to their noise
    diff = al.differences["planted drives"]
    assert diff.ci[0] > 0
    rows = {r["features"]: r for r in al.table()}
    assert rows["kinematics"]["minus_kinematics"] is None and rows["latent"]["n_features"] == 16
    # issue acceptance: the twin's latent layer predicts the planted neurons better than kinematics
    assert al.differences["latent"].ci[0] > 0


def test_flatten_trials_keeps_counts(animal, trials):
    behaviour, _, _ = trials
    sub = behaviour.subset([0, 1])
    rec = animal.record(sub, repeats=2, seed=0)
    flat = flatten_trials(rec)
    assert flat.sizes["stimulus"] == 2 * sub.n_steps
    np.testing.assert_array_equal(flat.values[sub.n_steps + 5], rec.responses.values[1, :, :, 5])
    assert (flat["trial"].values[: sub.n_steps] == "trial000").all()
