import numpy as np
import pandas as pd
import pytest

from neurosafe.core.seeds import child_seed, make_rng
from neurosafe.data.stimuli import natural_patches
from neurosafe.objectives.engine import features_of
from neurosafe.objectives.recovery import (
    ObjectiveBrain,
    RecoveryError,
    RecoveryResult,
    apply_rule,
    plot_confusion,
    plot_identifiability,
    recovery_experiment,
    select_rule,
    with_rules,
)


def test_brain_rates_and_poisson_noise(tiny_nets):
    brain = ObjectiveBrain(tiny_nets["a"], "alpha", n_neurons=20, site="relu3", mean_rate=6.0, seed=0,
                           image_size=16)
    stimuli = natural_patches(30, 16, seed=9)
    expected = brain.expected(stimuli)
    rec = brain.record(stimuli, repeats=400, seed=1)
    assert rec.dims == ("stimulus", "neuron", "repeat") and rec.shape == (30, 20, 400)
    np.testing.assert_allclose(rec.mean("repeat").values, expected, atol=5 * np.sqrt(expected.max() / 400) + 1e-9)
    np.testing.assert_allclose(rec.var("repeat").values, expected, rtol=0.35, atol=0.2)  # Poisson: var = mean
    with pytest.raises(RecoveryError, match="responsive units"):
        ObjectiveBrain(tiny_nets["a"], "alpha", n_neurons=10_000, image_size=16)
    many = ObjectiveBrain(tiny_nets["a"], "alpha", n_neurons=100, site="relu3", image_size=16, allow_repeats=True)
    assert len(set(many.units)) < 100 and many.record(stimuli[:5], 2).sizes["neuron"] == 100  # ids stay unique


def test_recovery_of_brains_that_are_the_candidates(tiny_nets, tmp_path):
    candidates = {"a0": ("alpha", tiny_nets["a"]), "b0": ("beta", tiny_nets["b"]), "c0": ("gamma", tiny_nets["c"])}
    brains = [("alpha", tiny_nets["a"]), ("beta", tiny_nets["b"]), ("gamma", tiny_nets["c"])]
    result = recovery_experiment(candidates, brains, n_stimuli=(60, 120), n_neurons=(24,), repeats=3,
                                 metrics=("ridge",), image_size=16, seed=0, noise="gaussian", noise_sd=0.5)
    acc = result.accuracy("consensus", n_boot=200)
    assert list(acc.n_stimuli) == [60, 120] and (acc.accuracy == 1.0).all() and (acc.chance == 1 / 3).all()
    conf = result.confusion(120, 24)
    assert np.array_equal(conf.values, np.eye(3, dtype=int))
    assert plot_confusion(result, 120, 24, tmp_path / "c.png").exists()
    assert plot_identifiability(result, tmp_path / "i.png").exists()
    assert result.to_dict()["confusion"]["n_stimuli"] == 120
    # every network's score at every site is kept, one site committed per network, metric and cell: the
    # committed value is the best site's on the selection half, so it need not be the best test value
    per = result.scores.groupby(["brain", "n_stimuli", "network", "metric"])
    assert (per.site.nunique() == 3).all() and (per.committed.sum() == 1).all()
    # the pattern rule fitted on these brains themselves: with itself in the centroids each brain is its own
    # nearest; left out, its objective (one brain each) has no centroid and is never picked
    picks = apply_rule(result.scores, "pattern:ridge", result.objectives, result.scores)
    assert len(picks) == 6 and picks.correct.all()
    left_out = apply_rule(result.scores, "pattern:ridge", result.objectives, result.scores, leave_out_self=True)
    assert not left_out.correct.any()
    with pytest.raises(RecoveryError, match="no candidate has"):
        recovery_experiment(candidates, [("delta", tiny_nets["a"])], image_size=16)


def test_brain_records_the_first_layer_then_tops_up_from_the_next(tiny_nets):
    stimuli = natural_patches(40, 16, seed=3)
    calib = natural_patches(256, 16, seed=child_seed(2, "calibration"))
    feats = features_of(tiny_nets["b"], calib, ["relu3", "relu2"], 4)
    responsive = {s: np.flatnonzero(feats[s].values.std(axis=0) > 0) for s in ("relu3", "relu2")}
    n3 = len(responsive["relu3"])
    brain = ObjectiveBrain(tiny_nets["b"], "beta", n_neurons=n3 + 10, site=("relu3", "relu2"), pool=4, seed=2,
                           image_size=16)
    assert len(set(brain.units)) == n3 + 10  # no unit twice
    rec = brain.record(stimuli, repeats=2, seed=0)
    ids = rec["neuron_id"].values.astype(str)
    # every responsive relu3 unit, and only 10 relu2 units, all responsive
    assert sorted(int(i.split("_")[-1]) for i in ids if i.startswith("relu3")) == list(responsive["relu3"])
    relu2 = [int(i.split("_")[-1]) - feats["relu3"].shape[1] for i in ids if i.startswith("relu2")]
    assert len(relu2) == 10 and set(relu2) <= set(responsive["relu2"])
    # the rates are exactly those units of the layers, read independently
    now = features_of(tiny_nets["b"], stimuli, ["relu3", "relu2"], 4)
    table = np.hstack([now["relu3"].values, now["relu2"].values])
    np.testing.assert_allclose(brain.expected(stimuli), table[:, brain.units] * brain.scale, rtol=1e-6)
    few = ObjectiveBrain(tiny_nets["b"], "beta", n_neurons=n3 - 1, site=("relu3", "relu2"), pool=4, seed=2,
                         image_size=16)
    assert set(few.unit_sites[few.units]) == {"relu3"}
    with pytest.raises(RecoveryError, match="responsive units"):
        ObjectiveBrain(tiny_nets["b"], "beta", n_neurons=5000, site=("relu3", "relu2"), image_size=16)


def _planted_scores(n_brains: int, seed: int) -> pd.DataFrame:
    """Scores where each brain's own objective is boosted, on top of a strong objective-wide bias (the
    objective 'a' scores high on everything): the mean rule mostly picks 'a', a profile rule does not."""
    rng = make_rng(seed, "planted scores")
    bias = {"a": 1.0, "b": 0.0, "c": 0.0}
    rows = []
    for brain in range(n_brains):
        true = "abc"[brain % 3]
        for metric in ("m1", "m2"):
            for o in "abc":
                for k in range(2):
                    value = bias[o] + 0.6 * (o == true) + 0.05 * rng.standard_normal()
                    rows.append({"brain": brain, "true": true, "n_stimuli": 50, "n_neurons": 10,
                                 "network": f"{o}{k}", "objective": o, "metric": metric, "value": value,
                                 "higher_is_better": True})
    return pd.DataFrame(rows)


def test_decision_rules_against_hand_computed_picks():
    dev, test = _planted_scores(9, 0), _planted_scores(12, 1)
    mean = apply_rule(test, "mean:m1", "abc")
    # reference: argmax over objectives of the mean of its networks' m1 scores, written out
    for brain, group in test[test.metric == "m1"].groupby("brain"):
        expect = group.groupby("objective").value.mean().idxmax()
        assert mean.set_index("brain").loc[brain, "picked"] == expect
    assert set(mean.picked) == {"a"}  # the bias wins: a and b/c brains all called 'a'
    prof = apply_rule(test, "profile:m1+m2", "abc", development=dev)
    assert prof.correct.all()  # centroids learned on development brains undo the bias
    rule, table = select_rule(RecoveryResult(mean.assign(correct=False), ("a", "b", "c"), {}, dev),
                              ["mean:m1", "max:m1+m2", "profile:m1+m2"], 50, 10)
    assert rule == "profile:m1+m2" and table.set_index("rule").loc["mean:m1", "accuracy"] == pytest.approx(1 / 3)
    added = with_rules(RecoveryResult(mean, ("a", "b", "c"), {}, test), ["profile:m1+m2"],
                       RecoveryResult(mean, ("a", "b", "c"), {}, dev))
    assert added.accuracy("profile:m1+m2").accuracy.iloc[0] == 1.0
    with pytest.raises(RecoveryError, match="development"):
        apply_rule(test, "profile:m1", "abc")
    with pytest.raises(RecoveryError, match="unknown decision rule"):
        apply_rule(test, "median:m1", "abc")
    with pytest.raises(RecoveryError, match="not among those scored"):
        apply_rule(test, "mean:m3", "abc")


def _pattern_scores(n_per: int, seed: int) -> pd.DataFrame:
    """Scores where each true objective leaves a signature on WHICH networks and sites score well, with a
    zero mean over each candidate objective's networks and sites: the objective means carry nothing."""
    sig_rng, rng = make_rng(0, "signatures"), make_rng(seed, "pattern noise")
    nets = [(f"{o}{k}", o) for o in "abc" for k in range(2)]
    signature = {}
    for true in "abc":
        s = sig_rng.standard_normal((len(nets), 2))
        for o in "abc":
            rows_o = [i for i, (_, oo) in enumerate(nets) if oo == o]
            s[rows_o] -= s[rows_o].mean()
        signature[true] = s
    rows = []
    for brain in range(3 * n_per):
        true = "abc"[brain % 3]
        value = signature[true] + 0.3 * rng.standard_normal((len(nets), 2))
        for i, (net, o) in enumerate(nets):
            for j, site in enumerate(("s1", "s2")):
                rows.append({"brain": brain, "true": true, "n_stimuli": 50, "n_neurons": 10, "network": net,
                             "objective": o, "metric": "m1", "site": site, "value": value[i, j],
                             "committed": j == int(np.argmax(value[i])), "higher_is_better": True})
    return pd.DataFrame(rows)


def test_pattern_rule_is_a_nearest_centroid_on_every_network_and_site():
    dev, test = _pattern_scores(8, 1), _pattern_scores(6, 2)
    picks = apply_rule(test, "pattern:m1", "abc", development=dev)
    # reference written out: each brain's 12 values z-scored, correlated with each objective's mean dev pattern
    def patterns(sc):
        wide = sc.pivot_table(index=["brain", "true"], columns=["network", "site"], values="value")
        x = wide.to_numpy()
        return (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True), wide.index.get_level_values("true")
    xd, yd = patterns(dev)
    xt, _ = patterns(test)
    cents = {o: xd[np.asarray(yd) == o].mean(0) for o in "abc"}
    expect = [max("abc", key=lambda o, r=r: np.corrcoef(r, cents[o])[0, 1]) for r in xt]
    assert list(picks.sort_values("brain").picked) == expect
    assert picks.correct.mean() >= 0.9  # the planted signature is found
    with pytest.raises(RecoveryError, match="every site"):
        apply_rule(test.drop(columns="committed"), "pattern:m1", "abc", development=dev)
