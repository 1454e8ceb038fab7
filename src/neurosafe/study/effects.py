"""Every number of a study, through ``neurosafe.metrics``: per-network Scores, their means over training
seeds, and paired effects of brain-data training against baseline and controls (Federer et al. 2020).

All networks are scored on the same test images and stimuli with the same bootstrap seed, so their Scores
share resamples. The mean over training seeds (:func:`neurosafe.metrics.average_scores`) is bootstrapped at
two levels, training seeds and test items (:func:`neurosafe.metrics.bootstrap.hierarchical_replicates`,
the same seed resamples in every condition), so the CI of a mean and of an effect
(:func:`neurosafe.metrics.paired_difference`) holds both the test-set and the seed-to-seed uncertainty.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import xarray as xr

from neurosafe.core.errors import DataValidationError
from neurosafe.metrics import Score, average_scores, mean_score, paired_difference, rdm, ridge_predictivity, rsa_score
from neurosafe.metrics.calibration import calibration_score
from neurosafe.study.results import ScoreRecord

__all__ = ["Key", "brain_rdm", "condition_scores", "network_scores", "paired_effects", "scorable"]

Key = tuple[str, str | None, float | None]  # (metric, site, eps)


def brain_rdm(responses: xr.DataArray) -> xr.DataArray:
    """Crossnobis RDM (cross-validated over repeats: unbiased under trial noise, Walther et al. 2016) on the
    repeats that are complete for every stimulus (real data pad missing repeats with NaN at the end)."""
    complete = responses.notnull().all(("stimulus", "neuron")).values
    if complete.sum() < 2:
        raise DataValidationError(
            f"the test recording needs at least 2 repeats complete for every stimulus; it has {int(complete.sum())}")
    return rdm(responses.isel(repeat=np.flatnonzero(complete)), distance="crossnobis")


def scorable(responses: xr.DataArray) -> xr.DataArray:
    """The neurons of ``responses`` whose repeat average varies over stimuli (a correlation with a constant
    is undefined, so ridge predictivity refuses them); the others are dropped with a warning."""
    mean = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
    varies = (mean.max("stimulus") > mean.min("stimulus")).values
    if not varies.all():
        warnings.warn(f"{int((~varies).sum())} of {len(varies)} neurons have constant test responses; "
                      "they are left out of the alignment scores", RuntimeWarning, stacklevel=2)
    return responses.isel(neuron=np.flatnonzero(varies))


def network_scores(evaluation: dict[str, np.ndarray], responses: xr.DataArray, brain_rdm: xr.DataArray,
                   sites: Sequence[str], pgd_eps: Sequence[float], primary_site: str, seed: int = 0,
                   n_boot: int = 500) -> dict[Key, Score]:
    """One network's Scores from its per-image outcomes and per-site features (``evaluate_network``).

    Accuracies: :func:`~neurosafe.metrics.mean_score` over test images (``pgd_accuracy_mean``: robust accuracy,
    the mean over the attacked epsilons > 0 only; clean accuracy is its own record); ECE:
    :func:`~neurosafe.metrics.calibration.calibration_score`; per site, ridge predictivity of the held-out
    ``responses`` (:func:`~neurosafe.metrics.ridge_predictivity`, ceiled by sqrt split-half reliability)
    and RSA (Spearman between the features' correlation-distance RDM and ``brain_rdm``; bootstrapped at
    ``primary_site`` only, the other sites' RSA is a point estimate to keep the study fast).
    """
    e = evaluation
    eps_arr = np.asarray(pgd_eps, dtype=float)
    attacked = eps_arr > 0 if (eps_arr > 0).any() else np.ones(len(eps_arr), bool)  # robust accuracy: eps > 0
    out: dict[Key, Score] = {
        ("clean_accuracy", None, None): mean_score(e["correct_clean"], "clean_accuracy", seed, n_boot),
        ("pgd_accuracy_mean", None, None): mean_score(e["correct_pgd"][attacked].mean(0), "pgd_accuracy_mean", seed,
                                                      n_boot, eps=[float(x) for x in np.asarray(pgd_eps)[attacked]]),
        ("corruption_accuracy", None, None): mean_score(e["correct_corrupt"].mean(0), "corruption_accuracy", seed,
                                                        n_boot),
        ("ece", None, None): calibration_score(e["probs"], e["labels"], seed=seed, n_boot=n_boot),
    }
    for k, eps in enumerate(pgd_eps):
        out[("pgd_accuracy", None, float(eps))] = mean_score(e["correct_pgd"][k], "pgd_accuracy", seed, n_boot,
                                                             eps=float(eps))
    ceiling = None  # per-neuron ceilings of the first site's Score, reused for the others
    for site in sites:
        feats = e[f"features/{site}"]
        ridge = ridge_predictivity(feats, responses, seed=seed, n_boot=n_boot, ceiling=ceiling)
        ceiling = ridge.per_unit["ceiling"].values if "ceiling" in ridge.per_unit.coords else None
        out[("ridge", site, None)] = ridge
        out[("rsa", site, None)] = rsa_score(rdm(feats, "correlation").values, brain_rdm, method="spearman",
                                             n_boot=n_boot if site == primary_site else 0, seed=seed)
    return out


def condition_scores(per_network: dict[str, dict[int, dict[Key, Score]]], seed: int | None = 0
                     ) -> list[ScoreRecord]:
    """Records of every network's Scores ({condition: {training seed: scores}}) and, per condition, their
    mean over training seeds (``training_seed=None``), its CI from the hierarchical bootstrap over seeds and
    test items (seeded by ``seed``, identical resamples in every condition so that effects stay paired)."""
    records = []
    for condition, by_seed in per_network.items():
        grouped: dict[Key, list[Score]] = defaultdict(list)
        for seed, scores in by_seed.items():
            for key, score in scores.items():
                records.append(ScoreRecord(key[0], condition, score, key[1], key[2], seed))
                grouped[key].append(score)
        records += [ScoreRecord(k[0], condition, average_scores(v, hierarchical_seed=seed), k[1], k[2])
                    for k, v in grouped.items()]
    return records


def paired_effects(records: Sequence[ScoreRecord], treated: str) -> list[ScoreRecord]:
    """``treated`` minus every other condition on each metric (means over seeds), paired bootstrap CI;
    metrics scored without a bootstrap have no effect record."""
    means = {(r.metric, r.site, r.eps, r.condition): r.score for r in records if r.training_seed is None}
    out = []
    for (metric, site, eps, condition), score in means.items():
        base = means.get((metric, site, eps, treated))
        if condition == treated or base is None or base.replicates is None or score.replicates is None:
            continue
        diff = paired_difference(base, score, name=f"{metric} {treated} - {condition}")
        out.append(ScoreRecord(metric, treated, diff, site, eps, versus=condition))
    return out
