"""The hierarchical bootstrap over training seeds and test items (Saravanan et al. 2020) against closed forms:
with no item noise its spread is the standard error of the mean over seeds; with one seed it is the item
bootstrap; resamples shared by two conditions keep their difference paired."""

import numpy as np

from neurosafe.metrics import average_scores, mean_score, paired_difference
from neurosafe.metrics.bootstrap import hierarchical_replicates


def test_spread_is_the_standard_error_over_seeds():
    rng = np.random.default_rng(0)
    k, n_boot = 12, 4000
    offsets = rng.normal(0, 1.0, k)
    reps = offsets[:, None] + rng.normal(0, 1e-6, (k, n_boot))  # seeds differ, items do not
    out = hierarchical_replicates(reps, seed=3)
    expected = offsets.std(ddof=0) / np.sqrt(k)  # bootstrap SE of a mean over k resampled groups
    assert abs(out.std() / expected - 1) < 0.06
    assert abs(out.mean() - offsets.mean()) < 3 * expected / np.sqrt(n_boot) + 1e-3
    # the plain average of the replicates ignores the seeds: its spread is the (tiny) item noise
    assert reps.mean(0).std() < 1e-5


def test_one_seed_is_the_item_bootstrap_and_same_seed_same_resamples():
    reps = np.random.default_rng(1).normal(size=(1, 50))
    assert np.array_equal(hierarchical_replicates(reps, seed=0), reps[0])
    many = np.random.default_rng(2).normal(size=(3, 50))
    assert np.array_equal(hierarchical_replicates(many, 5), hierarchical_replicates(many, 5))
    assert not np.array_equal(hierarchical_replicates(many, 5), hierarchical_replicates(many, 6))


def test_average_scores_ci_includes_seed_variance_and_effects_stay_paired():
    rng = np.random.default_rng(4)
    items = rng.random(400) < 0.7
    # three "networks" per condition: the same items, seed offsets of +-5 points of accuracy
    base = [mean_score(np.roll(items, s) if s else items, "acc", seed=0, n_boot=400) for s in range(3)]
    shifted = [mean_score(np.where(rng.random(400) < 0.05 * s, ~items, items), "acc", seed=0, n_boot=400)
               for s in range(3)]
    flat = average_scores(base)
    hier = average_scores(base, hierarchical_seed=0)
    assert hier.value == flat.value and hier.provenance["ci_over"] == "seeds and items"
    assert hier.ci[1] - hier.ci[0] >= flat.ci[1] - flat.ci[0]
    # identical conditions -> a paired difference of exactly 0, because the seed resamples are shared
    same = paired_difference(average_scores(base, hierarchical_seed=0), average_scores(base, hierarchical_seed=0))
    assert same.value == 0 and same.ci == (0.0, 0.0)
    assert paired_difference(average_scores(shifted, hierarchical_seed=0), hier).ci is not None
