"""Which learning rule trained this network? A classifier on aggregate statistics of observables.

Nayebi, Srivastava, Ganguli & Yamins 2020 (NeurIPS) train classifiers on the per-logging-step aggregate
statistics of weights, activations and layer-wise activity change, and ask how well the rule is identified
from subsets of them: fewer recorded units, measurement noise, sparser sampling over training, architectures
never seen in training. This module does the same on :func:`neurosafe.rules.simulate.simulate_rules` output.

The classifier is scikit-learn's multinomial logistic regression on standardised, signed-log-compressed
statistics (``sign(s) log(1 + |s|)``, so a diverging network's huge norms do not dominate); the paper
also used linear SVMs and random forests, with similar conclusions. Accuracy is scored on held-out
networks, with a bootstrap CI over those networks (:func:`neurosafe.metrics.score.mean_score`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.seeds import make_rng
from neurosafe.metrics.score import Score, mean_score

__all__ = ["FEATURE_SETS", "RuleIdentificationError", "accuracy_curves", "identify_rules", "rule_features",
           "split_networks"]

FEATURE_SETS = {"weights": ("weights",), "activity": ("activations", "activity_change"),
                "all": ("weights", "activations", "activity_change")}


class RuleIdentificationError(NeurosafeError):
    """A feature selection or split that the simulated observables cannot provide."""


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def rule_features(obs: xr.DataArray, *, units: int = 0, noise: float = 0.0, features: str = "all",
                  times: Sequence[int] | None = None) -> np.ndarray:
    """The feature matrix (networks, features) for one recording condition: ``units`` recorded per layer (0 =
    all), measurement ``noise``, the observables of feature set ``features`` (weights | activity | all) and
    the logging steps ``times`` (default all)."""
    if features not in FEATURE_SETS:
        raise RuleIdentificationError(f"unknown feature set {features!r}; choose one of {tuple(FEATURE_SETS)}")
    match = np.flatnonzero((obs.units.values == units) & np.isclose(obs.noise.values, noise))
    if not len(match):
        have = list(zip(obs.units.values.tolist(), obs.noise.values.tolist(), strict=True))
        raise RuleIdentificationError(f"units={units}, noise={noise} was not simulated; (units, noise) available: "
                                      f"{have}")
    sel = obs.isel(condition=int(match[0])).sel(observable=list(FEATURE_SETS[features]))
    if times is not None:
        bad = [t for t in times if t not in obs.time.values]
        if bad or not len(times):
            raise RuleIdentificationError(f"time indices {bad or times} are not among the {obs.sizes['time']} logs")
        sel = sel.sel(time=list(times))
    return sel.values.reshape(obs.sizes["network"], -1)


def split_networks(obs: xr.DataArray, held_out: Sequence[str] | None = None, test_fraction: float = 0.3,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) boolean masks over networks: the networks of the ``held_out`` architectures form the test
    set (generalisation to unseen architectures); without ``held_out``, a random ``test_fraction``."""
    arch = obs.architecture.values
    if held_out:
        unknown = sorted(set(held_out) - set(arch))
        if unknown:
            raise RuleIdentificationError(f"held-out architecture(s) {unknown} not simulated; have {sorted(set(arch))}")
        test = np.isin(arch, list(held_out))
    else:
        if not 0 < test_fraction < 1:
            raise RuleIdentificationError(f"test_fraction must lie in (0, 1); got {test_fraction}")
        test = make_rng(seed, "rules-split").random(len(arch)) < test_fraction
    train = ~test
    if not test.any() or len(set(obs.rule.values[train])) < 2:
        raise RuleIdentificationError("the split leaves no test networks or fewer than two rules to train on")
    return train, test


def _classifier(seed: int):
    return make_pipeline(FunctionTransformer(_signed_log), StandardScaler(),
                         LogisticRegression(C=0.1, max_iter=3000, random_state=seed))


def identify_rules(obs: xr.DataArray, *, held_out: Sequence[str] | None = None, units: int = 0,
                   noise: float = 0.0, features: str = "all", times: Sequence[int] | None = None, seed: int = 0,
                   n_boot: int = 1000) -> dict:
    """Train the classifier on the training networks and score it on the test networks (held-out architectures
    when ``held_out`` is given). Returns the accuracy ``Score`` (bootstrap CI over test networks), chance
    level, the confusion matrix (rows: true rule, columns: predicted; counts) and the rule order."""
    train, test = split_networks(obs, held_out, seed=seed)
    x = rule_features(obs, units=units, noise=noise, features=features, times=times)
    y = obs.rule.values
    clf = _classifier(seed).fit(x[train], y[train])
    pred = clf.predict(x[test])
    rules = sorted(set(y))
    confusion = np.zeros((len(rules), len(rules)), dtype=int)
    for t, p in zip(y[test], pred, strict=True):
        confusion[rules.index(t), rules.index(p)] += 1
    acc: Score = mean_score((pred == y[test]).astype(float), "rule_identification_accuracy", seed=seed,
                            n_boot=n_boot, units=units, noise=noise, features=features,
                            held_out=list(held_out or []), times=None if times is None else list(times))
    counts = np.array([np.mean(y[train] == r) for r in rules])
    return {"accuracy": acc, "chance": float(counts.max()), "confusion": confusion, "rules": rules,
            "n_train": int(train.sum()), "n_test": int(test.sum())}


def accuracy_curves(obs: xr.DataArray, *, held_out: Sequence[str] | None = None,
                    feature_sets: Sequence[str] = ("weights", "activity"), time_strides: Sequence[int] = (1,),
                    seed: int = 0, n_boot: int = 1000) -> list[dict]:
    """Held-out accuracy for every (feature set, units recorded, noise level, time stride) the observables
    hold: the robustness analysis of Nayebi et al. 2020 (their Fig. 4). ``time_strides``: keep every k-th
    logging step (sparse sampling over training)."""
    rows = []
    for fs in feature_sets:
        for stride in time_strides:
            times = list(obs.time.values[stride - 1::stride]) if stride > 1 else None
            for units, noise in zip(obs.units.values.tolist(), obs.noise.values.tolist(), strict=True):
                res = identify_rules(obs, held_out=held_out, units=units, noise=noise, features=fs, times=times,
                                     seed=seed, n_boot=n_boot)
                acc = res["accuracy"]
                rows.append({"features": fs, "units": units, "noise": noise, "time_stride": stride,
                             "accuracy": acc.value, "ci": list(acc.ci) if acc.ci else None,
                             "chance": res["chance"], "n_test": res["n_test"]})
    return rows
