"""``Score``: the record every metric returns (value, per-unit values, ceiling, CI, direction, provenance).

Modelled on rsatoolbox's inference result and Brain-Score's scores: a number never travels without its
uncertainty, its ceiling and where it came from. A Score computed with a bootstrap keeps its replicates
(in memory only), so :func:`paired_difference` and :func:`average_scores` combine Scores that were
bootstrapped on the same resamples (same ``seed`` and ``n``) without losing the pairing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

import neurosafe
from neurosafe.core.errors import NeurosafeError
from neurosafe.core.hashing import data_hash
from neurosafe.metrics.bootstrap import (
    CI_METHODS,
    bias_corrected,
    bootstrap_ci,
    bootstrap_indices,
    hierarchical_replicates,
)

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["Score", "average_scores", "mean_score", "paired_difference", "provenance"]


def provenance(metric: str, params: dict | None = None, data: Any = None, seed: int | None = None,
               **extra: Any) -> dict:
    """A provenance dict: metric name and parameters, data hash, seed and package version."""
    out = {"metric": metric, "params": dict(params or {}), "seed": seed, "version": neurosafe.__version__}
    if data is not None:
        out["data_hash"] = data_hash(data)
    out.update(extra)
    return out


def _json_number(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class Score:
    """A metric's result.

    ``value`` summarises ``per_unit`` (usually the median over neurons); ``ceiled_value`` = value / ceiling
    when a ceiling is known; ``ci`` is a (low, high) confidence interval for ``value``;
    ``higher_is_better`` gives the direction; ``n`` is the number of resampled units (stimuli, images,
    participants) and ``method`` the interval's method. ``replicates`` holds the bootstrap replicates of the
    plug-in estimate (not serialised): equal-``seed`` Scores share resamples and can be paired. A
    ``"bias_corrected"`` Score's ``value`` is the corrected estimate and ``plugin`` the uncorrected one.
    Build bootstrapped Scores with :meth:`from_bootstrap`.
    """

    value: float
    per_unit: xr.DataArray | None = None
    ceiling: float | None = None
    ceiled_value: float | None = None
    ci: tuple[float, float] | None = None
    higher_is_better: bool = True
    provenance: dict = field(default_factory=dict)
    n: int | None = None
    method: str | None = None
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)
    plugin: float | None = None

    @classmethod
    def from_bootstrap(cls, values: np.ndarray, n: int, level: float = 0.95, method: str = "percentile",
                       jackknife: np.ndarray | None = None, **fields: Any) -> Score:
        """A Score from ``values`` = [point, *replicates] (``bootstrap_statistic``'s rows) over ``n`` resampled
        units: value, ci, n, method, replicates; ``method``: a ``bootstrap_ci`` method or ``"bias_corrected"``
        (value, CI and replicates corrected); no CI without replicates. ``fields``: other Score fields."""
        values = np.asarray(values, dtype=float).ravel()
        if method not in (*CI_METHODS, "bias_corrected"):
            raise NeurosafeError(f"CI method must be one of {(*CI_METHODS, 'bias_corrected')}; got {method!r}")
        point, reps = float(values[0]), values[1:]
        if not len(reps):
            return cls(value=point, n=n, **fields)
        if method == "bias_corrected":
            corrected, ci = bias_corrected(point, reps, level)
            return cls(value=corrected, ci=ci, n=n, method=method, replicates=reps, plugin=point, **fields)
        ci = bootstrap_ci(point, reps, level, method, jackknife)
        return cls(value=point, ci=ci, n=n, method=method, replicates=reps, **fields)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        ci = f" [{self.ci[0]:.3f}, {self.ci[1]:.3f}]" if self.ci else ""
        ceil = f", ceiled {self.ceiled_value:.3f}" if self.ceiled_value is not None else ""
        name = self.provenance.get("metric", "score")
        return f"Score({name}: {self.value:.4f}{ci}{ceil})"

    def to_dict(self, per_unit: bool = True) -> dict:
        """JSON-ready dict (NaN becomes null)."""
        out: dict[str, Any] = {
            "value": _json_number(self.value),
            "ceiling": None if self.ceiling is None else _json_number(self.ceiling),
            "ceiled_value": None if self.ceiled_value is None else _json_number(self.ceiled_value),
            "ci": None if self.ci is None else [_json_number(c) for c in self.ci],
            "higher_is_better": self.higher_is_better,
            "n": self.n,
            "method": self.method,
            "plugin": None if self.plugin is None else _json_number(self.plugin),
            "seed": self.provenance.get("seed"),
            "provenance": self.provenance,
        }
        if per_unit and self.per_unit is not None:
            dim = self.per_unit.dims[0]
            ids = self.per_unit[f"{dim}_id"].values if f"{dim}_id" in self.per_unit.coords else None
            ids = self.per_unit[dim].values if ids is None else ids
            out["per_unit"] = {str(i): _json_number(v) for i, v in zip(ids, self.per_unit.values, strict=True)}
        return out


def _replicates(score: Score) -> np.ndarray:
    if score.replicates is None:
        raise NeurosafeError(f"{score!r} has no bootstrap replicates to pair (computed with n_boot=0?)")
    return np.asarray(score.replicates, dtype=float)


def _check_paired(scores: Sequence[Score]) -> None:
    seeds = {s.provenance.get("seed") for s in scores}
    ns = {s.n for s in scores}
    lens = {len(_replicates(s)) for s in scores}
    if len(seeds) > 1 or len(ns) > 1 or len(lens) > 1 or None in seeds or None in ns:
        raise NeurosafeError(
            f"paired scores need the same bootstrap resamples (a fixed seed, n, n_boot); got seeds {seeds}, n {ns}, "
            f"replicate counts {lens}")


def _plugin(score: Score) -> float:
    return float(score.value if score.plugin is None else score.plugin)


def paired_difference(a: Score, b: Score, level: float = 0.95, name: str | None = None) -> Score:
    """``a - b`` with a paired-bootstrap CI: the difference of replicates computed on the same resamples.

    Both Scores must come from the same ``seed``, ``n`` and ``n_boot``. The difference is that of the
    plug-in estimates, with the percentile interval of the replicate differences (widened, if ever needed,
    to contain the point). It is not bias-corrected even when ``a`` and ``b`` are: their resampling biases
    largely cancel in a paired difference, while correcting each adds the noise of two bias estimates
    (measured on null studies, ridge effects' CIs covered 0 in 80% of runs with corrected differences and
    97.5% without; tests/study/test_effects.py).
    """
    _check_paired([a, b])
    diff = _replicates(a) - _replicates(b)
    value = _plugin(a) - _plugin(b)
    ci = bootstrap_ci(value, diff, level)
    if ci is not None:
        ci = (min(ci[0], value), max(ci[1], value))
    metric = name or f"{a.provenance.get('metric', 'score')} difference"
    return Score(value=value, ci=ci, higher_is_better=a.higher_is_better, n=a.n, method="paired_percentile",
                 replicates=diff, provenance={**a.provenance, "metric": metric, "ci_level": level})


def average_scores(scores: Sequence[Score], level: float = 0.95, hierarchical_seed: int | None = None) -> Score:
    """The mean of Scores that share resamples (e.g. one network per training seed, scored on the same
    test stimuli): values, plug-in estimates and replicates averaged; the CI recomputed from the averaged
    replicates (bias-corrected again for bias-corrected Scores: the correction is linear, so the value is the
    mean of the corrected values).

    With ``hierarchical_seed`` the replicates are those of the two-level bootstrap over the scores (e.g.
    training seeds) and their shared items (:func:`~neurosafe.metrics.bootstrap.hierarchical_replicates`),
    so the CI includes the variance between seeds; Scores averaged with the same ``hierarchical_seed`` stay
    paired."""
    scores = list(scores)
    if not scores:
        raise NeurosafeError("no scores to average")
    if len(scores) == 1:
        return scores[0]
    first = scores[0]
    value = float(np.mean([s.value for s in scores]))
    corrected = first.method == "bias_corrected"
    plugin = float(np.mean([_plugin(s) for s in scores])) if corrected else None
    reps, ci = None, None
    if any(s.replicates is not None for s in scores):  # scores without a bootstrap average to a bare value
        _check_paired(scores)
        stacked = np.stack([_replicates(s) for s in scores])
        reps = (stacked.mean(axis=0) if hierarchical_seed is None
                else hierarchical_replicates(stacked, hierarchical_seed, "average_scores"))
        if corrected:
            value, ci = bias_corrected(plugin, reps, level)
        else:
            ci = bootstrap_ci(value, reps, level)
    ceilings = {s.ceiling for s in scores}
    ceiling = ceilings.pop() if len(ceilings) == 1 else None
    return replace(first, value=value, per_unit=None, ceiling=ceiling,
                   ceiled_value=None if ceiling is None else value / ceiling, ci=ci, replicates=reps, plugin=plugin,
                   method="bias_corrected" if corrected else "percentile",
                   provenance={**first.provenance, "averaged_over": len(scores),
                               **({} if hierarchical_seed is None else {"ci_over": "seeds and items"})})


def mean_score(values: np.ndarray, metric: str, seed: int | None = 0, n_boot: int = 1000, level: float = 0.95,
               higher_is_better: bool = True, **params: Any) -> Score:
    """The mean of per-item ``values`` (e.g. 0/1 correctness per test image) with a percentile bootstrap
    CI over items; replicates kept for pairing."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or not len(values) or not np.isfinite(values).all():
        raise NeurosafeError(f"{metric}: need a non-empty 1-d array of finite per-item values; got shape "
                             f"{values.shape}")
    means = values[bootstrap_indices(len(values), n_boot, seed)].mean(axis=1)
    return Score.from_bootstrap(
        means, len(values), level, higher_is_better=higher_is_better,
        provenance=provenance(metric, {"n_boot": n_boot, "ci_level": level, **params}, seed=seed))
