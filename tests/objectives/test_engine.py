import numpy as np
import pytest
import xarray as xr
from scipy.stats import friedmanchisquare

from neurosafe.core.seeds import make_rng
from neurosafe.data.recording import make_responses
from neurosafe.data.stimuli import natural_patches
from neurosafe.metrics.rsa import rdm
from neurosafe.objectives.engine import ComparisonError, compare_objectives, features_of, kendalls_w


def test_kendalls_w_matches_friedman():
    scores = make_rng(0, "w").normal(size=(4, 6))  # 4 raters x 6 items, no ties
    chi2 = friedmanchisquare(*scores.T).statistic  # items as groups, raters as blocks
    assert kendalls_w(scores) == pytest.approx(chi2 / (4 * (6 - 1)))
    assert kendalls_w(np.tile(np.arange(5.0), (3, 1))) == pytest.approx(1.0)
    assert kendalls_w(np.array([[1.0, 2.0], [2.0, 1.0]])) == pytest.approx(0.0)


@pytest.fixture(scope="module")
def planted(tiny_nets):
    """Poisson recording of 40 units of network "a" (relu2): its objective is the answer."""
    stimuli = natural_patches(80, 16, seed=5)
    rates = features_of(tiny_nets["a"], stimuli, ["relu2"])["relu2"].values
    keep = rates.std(axis=0) > 0
    rates = 4 * rates[:, keep] / rates[:, keep].mean(axis=0)
    counts = make_rng(0, "noise").poisson(np.repeat(rates[..., None], 4, axis=2)).astype(float)
    return stimuli, make_responses(counts, stimuli.ids)


def test_engine_finds_the_planted_objective_with_every_metric(tiny_nets, planted):
    stimuli, responses = planted
    candidates = {"a0": ("alpha", tiny_nets["a"]), "b0": ("beta", tiny_nets["b"]), "c0": ("beta", tiny_nets["c"])}
    result = compare_objectives(candidates, stimuli, responses, n_boot=50, seed=1)
    assert set(result.winners) == {"ridge", "rsa", "rsa_pearson", "cka", "shape"}
    assert set(result.winners.values()) == {"alpha"} and result.consensus == "alpha"
    assert result.kendall_w == pytest.approx(1.0)
    assert result.kendall_w_ci is not None and 0 <= result.kendall_w_ci[0] <= 1
    t = result.objective_table
    assert len(t) == 10 and t[t.metric != "shape"].ceiling.notna().all()
    assert (t.n_networks == t.objective.map({"alpha": 1, "beta": 2})).all()
    assert (result.table.ci_low <= result.table.value + 1e-9).all()


def test_engine_on_reference_rdms_uses_the_subjects_ceiling(tiny_nets, planted):
    stimuli, responses = planted
    rng = make_rng(0, "subjects")
    base = rdm(responses).values
    subjects = np.stack([base + 0.02 * np.abs(rng.normal(size=base.shape)) for _ in range(3)])
    subjects = (subjects + subjects.transpose(0, 2, 1)) / 2
    ids = responses.stimulus_id.values
    refs = xr.DataArray(subjects, dims=("rdm", "stimulus_a", "stimulus_b"),
                        coords={"stimulus_a": ids, "stimulus_b": ids})
    candidates = {"a0": ("alpha", tiny_nets["a"]), "b0": ("beta", tiny_nets["b"])}
    result = compare_objectives(candidates, stimuli, rdms=refs, n_boot=20)
    assert result.metrics == ("rsa", "rsa_pearson") and result.consensus == "alpha"
    assert result.objective_table.ceiling.notna().all()


def test_engine_errors(tiny_nets, planted):
    stimuli, responses = planted
    with pytest.raises(ComparisonError, match="no candidate"):
        compare_objectives({}, stimuli, responses)
    with pytest.raises(ComparisonError, match="unknown metrics"):
        compare_objectives({"a": ("x", tiny_nets["a"])}, stimuli, responses, metrics=["vibes"])
    with pytest.raises(ComparisonError, match="needs responses"):
        compare_objectives({"a": ("x", tiny_nets["a"])}, stimuli, rdms=rdm(responses), metrics=["cka"])
