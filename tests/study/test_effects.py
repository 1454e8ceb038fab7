"""The statistics behind the study's headline, each against a closed form or a planted truth.

Synthetic per-network evaluation outputs (what ``evaluate_network`` returns) go through the study's own
scoring and effect path (``network_scores`` -> ``condition_scores`` -> ``paired_effects``).
"""

import numpy as np
import pytest

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.data.recording import make_responses
from neurosafe.metrics import mean_score, ridge_predictivity
from neurosafe.study import condition_scores, network_scores, paired_effects
from neurosafe.study.effects import brain_rdm

SITE = "layer"


def _evaluation(features: np.ndarray, rng: np.random.Generator, n_img: int = 100, p_correct: float = 0.7) -> dict:
    """A network's evaluation outputs: the given features at SITE, random per-image outcomes."""
    correct = rng.random(n_img) < p_correct
    probs = np.full((n_img, 10), 0.02)
    probs[np.arange(n_img), 0] = 0.82
    return {"correct_clean": correct, "probs": probs, "labels": np.where(correct, 0, 1),
            "correct_pgd": (rng.random((2, n_img)) < p_correct), "correct_corrupt": (rng.random((1, n_img)) < 0.6),
            f"features/{SITE}": features}


def test_noise_free_brain_scores_one_ceiled():
    """The brain's own noise-free responses as model features score ~1 ceiled, by ridge_predictivity and by
    the study's ridge path (the same function: equal to 1e-9). 1500 stimuli: with 300, the ridge map fitted
    on noisy trial averages still loses 5-8% of r (finite-sample fit noise, p/n = 40/240)."""
    brain = SyntheticBrain(40, seed=0)
    stimuli = natural_patches(1500, 32, seed=0)
    responses = brain.record(stimuli, repeats=10, seed=1)
    clean = brain.respond(stimuli).values
    direct = ridge_predictivity(clean, responses, seed=0, n_boot=50)
    study = network_scores(_evaluation(clean, np.random.default_rng(0)), responses, brain_rdm(responses), [SITE],
                           [0.0, 0.01], primary_site="none", seed=0, n_boot=50)[("ridge", SITE, None)]
    assert direct.ceiled_value == pytest.approx(1.0, abs=0.03)
    assert study.ceiled_value == pytest.approx(direct.ceiled_value, abs=1e-9)
    assert study.value == pytest.approx(direct.value, abs=1e-9) and study.ci == pytest.approx(direct.ci, abs=1e-9)


def _study(seed: int, planted: bool, n_stim: int = 80, n_seeds: int = 2, n_boot: int = 200):
    """A two-condition study on synthetic data. Stimuli are latent inputs X; the brain responds f(X) =
    cos(2 X W) (planted: even, so no linear part a task feature could explain) or with stimulus-specific
    values unrelated to X (null), plus trial noise. Every network has task features X A; the
    brain-regularized ones also carry f(X) rotated (planted) or a random function cos(2 X V) (null), the
    shuffled-control ones a random cos(2 X V)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_stim, 8))
    w = rng.standard_normal((8, 20)) / np.sqrt(8)
    signal = np.cos(2 * x @ w) if planted else rng.standard_normal((n_stim, 20))
    trials = signal[..., None] + 0.5 * rng.standard_normal((n_stim, 20, 5))
    responses = make_responses(trials)
    reference = brain_rdm(responses)

    def features(aligned: bool) -> np.ndarray:
        own = np.cos(2 * x @ rng.standard_normal((8, 20)) / np.sqrt(8))
        carried = signal @ np.linalg.qr(rng.standard_normal((20, 20)))[0] if aligned else own
        return np.hstack([0.3 * x @ rng.standard_normal((8, 16)), carried + 0.3 * rng.standard_normal(carried.shape)])

    per_network = {
        condition: {s: network_scores(_evaluation(features(planted and condition == "brain"), rng), responses,
                                      reference, [SITE], [0.0, 0.01], SITE, seed=seed, n_boot=n_boot)
                    for s in range(n_seeds)}
        for condition in ("brain", "shuffled")}
    records = condition_scores(per_network)
    return records, {(e.metric, e.site, e.eps): e.score for e in paired_effects(records, "brain")}


def test_planted_regularization_effect_is_recovered():
    _, effects = _study(seed=0, planted=True)
    for metric in ("ridge", "rsa"):
        effect = effects[(metric, SITE, None)]
        assert effect.value > 0 and effect.ci[0] > 0, (metric, effect)


def test_null_study_cis_cover_zero():
    """Targets unrelated to the inputs: the paired CIs of brain - shuffled cover 0 in >= 90% of 20 seeds.
    (At nominal 95% coverage, 17 or fewer of 20 happens 8% of the time; over seeds 100-119 and 200-239 the ridge CI
    covered 0 in 56 of 60.)"""
    covered = {"ridge": 0, "rsa": 0, "clean_accuracy": 0}
    for seed in range(20):
        _, effects = _study(seed=seed, planted=False, n_boot=100)
        for metric in covered:
            ci = effects[(metric, SITE if metric != "clean_accuracy" else None, None)].ci
            covered[metric] += ci[0] <= 0 <= ci[1]
    assert all(c >= 18 for c in covered.values()), covered


def test_condition_means_and_effects_are_means_and_differences():
    """Closed forms: the mean over seeds is the mean of the seeds' values; the effect is the difference of
    means; the per-seed records are each network's own Score; n_boot=0 gives no effect record."""
    rng = np.random.default_rng(3)
    outcomes = {("brain", 0): rng.random(50) < 0.9, ("brain", 1): rng.random(50) < 0.8,
                ("shuffled", 0): rng.random(50) < 0.5, ("shuffled", 1): rng.random(50) < 0.4}
    per_network = {c: {} for c in ("brain", "shuffled")}
    for (c, s), v in outcomes.items():
        per_network[c][s] = {("clean_accuracy", None, None): mean_score(v, "clean_accuracy", seed=0, n_boot=300)}
    records = condition_scores(per_network)
    means = {r.condition: r.score for r in records if r.training_seed is None}
    for c in ("brain", "shuffled"):
        assert means[c].value == pytest.approx((outcomes[(c, 0)].mean() + outcomes[(c, 1)].mean()) / 2)
        assert {r.training_seed: r.score.value for r in records if r.condition == c and r.training_seed is not None} \
            == pytest.approx({s: outcomes[(c, s)].mean() for s in (0, 1)})
    [effect] = paired_effects(records, "brain")
    assert (effect.condition, effect.versus, effect.metric) == ("brain", "shuffled", "clean_accuracy")
    assert effect.score.value == pytest.approx(means["brain"].value - means["shuffled"].value)
    assert effect.score.ci[0] > 0  # a 0.4 accuracy gap on 50 images is far outside the noise
    unbootstrapped = {c: {0: {("clean_accuracy", None, None): mean_score(outcomes[(c, 0)], "clean_accuracy", n_boot=0)}}
                      for c in ("brain", "shuffled")}
    assert paired_effects(condition_scores(unbootstrapped), "brain") == []
