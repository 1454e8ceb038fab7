"""The comparison engine: every candidate network's layers against one recording, with several metrics at
once, and how far the metrics agree on which objective wins.

For each metric, :func:`~neurosafe.metrics.layers.score_layers` commits each network to its best layer on a
held-out half of the stimuli and scores it on the other half (Schrimpf et al. 2018); every metric and
network is scored on the same test stimuli with the same bootstrap resamples, so Scores are paired.
Metrics: ``ridge`` (cross-validated ridge predictivity, ceiled by split-half reliability; neurons silent
on a part of the stimuli are left out of that part's score), ``rsa``
(Spearman between the network's correlation-distance RDM and the recording's crossnobis RDM, Walther et
al. 2016, or given reference RDMs with the Nili et al. 2014 ceiling), ``rsa_pearson`` (the same RDMs
compared by Pearson r), ``cka`` (linear CKA, Kornblith et al. 2019) and ``shape`` (Procrustes angular
shape distance, Williams et al. 2021; lower is better). Without a ceiling of its own, a metric's ceiling
is its value between the two halves of the repeats (odd vs even), the usual split-half noise ceiling (for
the shape distance a floor; no ceiled value).

An objective's score is the mean over its networks (training seeds) of their paired Scores
(:func:`~neurosafe.metrics.score.average_scores`). Metric disagreement is Kendall's coefficient of
concordance W (Kendall & Babington Smith 1939) of the metrics' rankings of the objectives, with a
percentile bootstrap CI over test stimuli from the paired replicates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import rankdata
from torch import nn

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.core.progress import stage, switched, track
from neurosafe.data.recording import validate_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.metrics.bootstrap import percentile_ci
from neurosafe.metrics.cka import cka
from neurosafe.metrics.layers import score_layers
from neurosafe.metrics.predictivity import ridge_predictivity
from neurosafe.metrics.reliability import correlation_ceiling
from neurosafe.metrics.rsa import rdm, rsa_score
from neurosafe.metrics.score import Score, average_scores
from neurosafe.metrics.shape import shape_distance
from neurosafe.subjects.torch import TorchSubject

__all__ = ["METRICS", "SITES", "ObjectiveComparison", "compare_objectives", "features_of", "kendalls_w",
           "plot_comparison"]

METRICS = ("ridge", "rsa", "rsa_pearson", "cka", "shape")
RDM_METRICS = ("rsa", "rsa_pearson")
SITES = ("relu1", "relu2", "relu3")


class ComparisonError(NeurosafeError):
    """Bad input to the comparison engine."""


def kendalls_w(scores: np.ndarray) -> float:
    """Kendall's W of ``scores`` (raters x items; each rater ranks the items by its scores, ties averaged):
    12 S / (m^2 (n^3 - n) - m T), S the sum of squared deviations of the items' rank sums, T the tie
    correction sum over raters of (t^3 - t) (Kendall & Babington Smith 1939). 1: all raters agree."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[0] < 2 or scores.shape[1] < 2:
        raise ComparisonError(f"Kendall's W needs >= 2 raters x >= 2 items; got shape {scores.shape}")
    m, n = scores.shape
    ranks = np.vstack([rankdata(row) for row in scores])
    sums = ranks.sum(axis=0)
    s = float(((sums - sums.mean()) ** 2).sum())
    ties = sum(float(((c := np.unique(row, return_counts=True)[1]) ** 3 - c).sum()) for row in scores)
    denom = m**2 * (n**3 - n) - m * ties
    return float(12 * s / denom) if denom > 0 else float("nan")


class _Features:
    """Precomputed site features with the ``extract`` of a TorchSubject (for ``score_layers``)."""

    def __init__(self, features: Mapping[str, xr.DataArray]):
        self.features = dict(features)
        self.sites = tuple(self.features)

    def extract(self, stimuli: StimulusSet, sites: Sequence[str]) -> dict[str, xr.DataArray]:
        pos = {s: i for i, s in enumerate(self.features[self.sites[0]]["stimulus_id"].values.astype(str))}
        missing = [s for s in stimuli.ids if s not in pos]
        if missing:
            raise ComparisonError(f"features lack {len(missing)} of the recording's stimuli")
        idx = [pos[s] for s in stimuli.ids]
        return {site: self.features[site].isel(stimulus=idx) for site in sites}


def features_of(model: nn.Module, stimuli: StimulusSet, sites: Sequence[str] = SITES, pool: int = 2,
                batch_size: int = 256) -> dict[str, xr.DataArray]:
    """Activations of ``sites`` of ``model`` for ``stimuli``, each pooled to ``pool`` x ``pool`` positions."""
    subject = TorchSubject(model, device="cpu", batch_size=batch_size, pool=pool, progress=False)
    return subject.extract(stimuli, list(sites))


def _complete_repeats(responses: xr.DataArray) -> xr.DataArray:
    """The first k valid repeats of every (stimulus, neuron), k the fewest valid anywhere (NaN padding moved
    to the end and cut), so repeat-based statistics (crossnobis) see complete data."""
    x = responses.transpose("stimulus", "neuron", "repeat").values
    valid = ~np.isnan(x)
    k = int(valid.sum(axis=2).min())
    if k < 2:
        raise DataValidationError("crossnobis RSA and split-half ceilings need >= 2 valid repeats of every "
                                  f"stimulus for every neuron; the fewest here is {k}")
    order = np.argsort(~valid, axis=2, kind="stable")
    packed = np.take_along_axis(x, order, axis=2)[:, :, :k]
    return responses.isel(repeat=slice(0, k)).transpose("stimulus", "neuron", "repeat").copy(data=packed)


def _halves(responses: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    return responses.isel(repeat=slice(0, None, 2)), responses.isel(repeat=slice(1, None, 2))


class _CeilingCache:
    """Per-neuron correlation ceilings, computed once per set of stimuli (score_layers asks per site)."""

    def __init__(self, enabled: bool = True):
        self.cache: dict[tuple, np.ndarray] = {}
        self.enabled = enabled

    def ridge(self, features, responses, seed: int = 0, **kwargs) -> Score:
        mean = _average_reference(responses).transpose("stimulus", "neuron").values
        varies = np.ptp(mean, axis=0) > 1e-12 * np.maximum(np.abs(mean).max(axis=0), 1.0)
        if not varies.any():
            raise DataValidationError("every neuron is constant on these stimuli; ridge predictivity is undefined")
        responses = responses.isel(neuron=np.flatnonzero(varies))  # silent neurons have no correlation
        key = (tuple(responses["stimulus_id"].values.astype(str)), tuple(responses["neuron_id"].values.astype(str)))
        if key not in self.cache:
            has_repeats = "repeat" in responses.dims and responses.sizes["repeat"] >= 2
            self.cache[key] = (correlation_ceiling(responses, seed) if self.enabled and has_repeats
                               else np.full(responses.sizes["neuron"], np.nan))
        return ridge_predictivity(features, responses, seed=seed, ceiling=self.cache[key], **kwargs)


def _average_reference(responses: xr.DataArray) -> xr.DataArray:
    return responses.mean("repeat") if "repeat" in responses.dims else responses


@dataclass
class ObjectiveComparison:
    """The engine's result: ``table`` (one row per network x metric: committed site, value, CI, ceiling),
    ``objective_table`` (one row per objective x metric, seeds averaged), ``scores`` {(network, metric):
    Score}, ``objective_scores`` {(objective, metric): Score}, ``winners`` {metric: objective},
    ``consensus`` (best mean rank over metrics), ``kendall_w`` and its ``kendall_w_ci``; ``layer_table``:
    every network x metric x site's value on the test stimuli (``committed``: the site the network was
    committed to), the full score pattern that model recovery's ``pattern`` rule reads."""

    table: pd.DataFrame
    objective_table: pd.DataFrame
    scores: dict[tuple[str, str], Score]
    objective_scores: dict[tuple[str, str], Score]
    winners: dict[str, str]
    consensus: str
    kendall_w: float | None
    kendall_w_ci: tuple[float, float] | None
    metrics: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)
    layer_table: pd.DataFrame | None = None

    def to_dict(self) -> dict:
        return {"winners": self.winners, "consensus": self.consensus, "kendall_w": self.kendall_w,
                "kendall_w_ci": None if self.kendall_w_ci is None else list(self.kendall_w_ci),
                "metrics": list(self.metrics), "info": self.info,
                "objectives": self.objective_table.replace({np.nan: None}).to_dict(orient="records"),
                "networks": self.table.replace({np.nan: None}).to_dict(orient="records")}


def _metric_setup(metric: str, responses: xr.DataArray | None, rdms: xr.DataArray | None, n_boot: int,
                  ceilings: _CeilingCache, groups: str | None = None, ridge_options: dict | None = None) -> tuple:
    """(metric callable, reference, split-half ceiling or None) of ``metric`` for this recording."""
    if metric in RDM_METRICS:
        method = "spearman" if metric == "rsa" else "pearson"
        fn = partial(rsa_score, method=method, n_boot=n_boot, groups=groups)
        if rdms is not None:
            return fn, rdms, None
        reps = _complete_repeats(responses)
        ref = rdm(reps, "crossnobis") if reps.sizes["repeat"] >= 2 else rdm(reps)
        a, b = _halves(reps)
        if ceilings.enabled and a.sizes["repeat"] >= 2 and b.sizes["repeat"] >= 2:
            ceiling = rsa_score(rdm(a, "crossnobis"), rdm(b, "crossnobis"), method=method, n_boot=0).value
        else:
            ceiling = None
        return fn, ref, ceiling
    if responses is None:
        raise ComparisonError(f"metric {metric!r} needs responses (stimulus, neuron[, repeat]), not only RDMs")
    if metric == "ridge":
        return partial(ceilings.ridge, n_boot=n_boot, **(ridge_options or {})), responses, None
    mean = _average_reference(responses)
    ceiling = None
    if ceilings.enabled and "repeat" in responses.dims and responses.sizes["repeat"] >= 2:
        a, b = (h.mean("repeat", skipna=True) for h in _halves(responses))
        fn0 = cka if metric == "cka" else shape_distance
        ceiling = fn0(a, b, n_boot=0).value
    if metric == "cka":
        return partial(cka, n_boot=n_boot), mean, ceiling
    return partial(shape_distance, n_boot=n_boot), mean, ceiling


def _rank_values(score: Score) -> float:
    return score.value if score.higher_is_better else -score.value


def compare_objectives(candidates: Mapping[str, tuple[str, nn.Module | Mapping[str, xr.DataArray]]],
                       stimuli: StimulusSet, responses: xr.DataArray | None = None, rdms: xr.DataArray | None = None,
                       metrics: Sequence[str] | None = None, groups: str | None = None,
                       sites: Sequence[str] = SITES, pool: int = 2,
                       n_boot: int = 200, seed: int = 0, selection_fraction: float = 0.5, ceilings: bool = True,
                       ridge_options: dict | None = None, progress: bool | None = None) -> ObjectiveComparison:
    """Score every candidate against a recording with several metrics and rank the objectives.

    ``candidates``: {network name: (objective, nn.Module or precomputed {site: features})}; ``responses``
    (stimulus, neuron[, repeat]) and/or reference ``rdms`` (stimulus_a, stimulus_b[, rdm]); ``metrics``
    (default: every metric the data allow); ``groups``: RSA ceiling, the coordinate of ``rdms`` whose levels
    are left out together; ``stimuli`` the images shown (matched by id); ``ceilings=False`` skips the noise
    ceilings (rankings do not need them: model recovery); ``ridge_options`` go to ``ridge_predictivity``
    (e.g. ``alphas``, ``n_folds``).
    """
    if not candidates:
        raise ComparisonError("no candidate networks to compare")
    if responses is None and rdms is None:
        raise ComparisonError("give responses or reference RDMs")
    if responses is not None:
        responses = validate_responses(responses)
        if "time" in responses.dims:
            raise DataValidationError("reduce the 'time' dim first (e.g. sum spike counts over a window)")
    if metrics is None:
        metrics = METRICS if responses is not None else RDM_METRICS
        if responses is not None and ("repeat" not in responses.dims or responses.sizes["repeat"] < 2):
            metrics = ("ridge", "cka", "shape")
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ComparisonError(f"unknown metrics {unknown}; choose from {METRICS}")
    objectives = sorted({o for o, _ in candidates.values()})
    cache = _CeilingCache(ceilings)
    setups = {m: _metric_setup(m, responses, rdms, n_boot, cache, groups, ridge_options) for m in metrics}
    feats = {}
    scores: dict[tuple[str, str], Score] = {}
    rows, layer_rows = [], []
    with switched(progress):
        for name, (_, model) in track(list(candidates.items()), "activations"):
            feats[name] = _Features(model if isinstance(model, Mapping)
                                    else features_of(model, stimuli, sites, pool))
        with stage("scoring", total=len(candidates) * len(metrics)) as bar:
            for metric, (fn, ref, split_ceiling) in setups.items():
                for name, (objective, _) in candidates.items():
                    result = score_layers(feats[name], stimuli, ref, metric=fn, sites=list(feats[name].sites),
                                          selection_fraction=selection_fraction, seed=seed)
                    sc = result.committed
                    ceiling = sc.ceiling if sc.ceiling is not None else split_ceiling
                    scores[(name, metric)] = sc
                    rows.append({"network": name, "objective": objective, "metric": metric,
                                 "site": result.committed_site, "value": sc.value,
                                 "ci_low": np.nan if sc.ci is None else sc.ci[0],
                                 "ci_high": np.nan if sc.ci is None else sc.ci[1],
                                 "ceiling": np.nan if ceiling is None else ceiling,
                                 "ceiled_value": sc.value / ceiling if ceiling and sc.higher_is_better else np.nan,
                                 "higher_is_better": sc.higher_is_better, "n_test": sc.n})
                    layer_rows += [{"network": name, "objective": objective, "metric": metric, "site": r.site,
                                    "value": r.value, "committed": bool(r.committed),
                                    "higher_is_better": sc.higher_is_better} for r in result.table.itertuples()]
                    bar.advance()
    table = pd.DataFrame(rows)
    objective_scores: dict[tuple[str, str], Score] = {}
    orows = []
    for metric in metrics:
        for objective in objectives:
            members = [scores[(n, metric)] for n, (o, _) in candidates.items() if o == objective]
            avg = average_scores(members)
            objective_scores[(objective, metric)] = avg
            ceil = table[(table.metric == metric)]["ceiling"].iloc[0]
            orows.append({"objective": objective, "metric": metric, "value": avg.value,
                          "ci_low": np.nan if avg.ci is None else avg.ci[0],
                          "ci_high": np.nan if avg.ci is None else avg.ci[1], "ceiling": ceil,
                          "ceiled_value": avg.value / ceil if np.isfinite(ceil) and ceil and avg.higher_is_better
                          else np.nan,
                          "n_networks": len(members), "higher_is_better": avg.higher_is_better})
    objective_table = pd.DataFrame(orows)
    grid = np.array([[_rank_values(objective_scores[(o, m)]) for o in objectives] for m in metrics])
    winners = {m: objectives[int(np.argmax(grid[i]))] for i, m in enumerate(metrics)}
    mean_rank = np.vstack([rankdata(-row) for row in grid]).mean(axis=0)
    best = np.flatnonzero(mean_rank == mean_rank.min())
    # ties on mean rank: the first metric (ridge by default) decides
    consensus = objectives[int(best[np.argmax(grid[0, best])])]
    w = w_ci = None
    if len(metrics) >= 2 and len(objectives) >= 2:
        w = kendalls_w(grid)
        reps = [objective_scores[(o, m)].replicates for m in metrics for o in objectives]
        if all(r is not None for r in reps) and len({len(r) for r in reps}) == 1:
            sign = np.array([1.0 if objective_scores[(objectives[0], m)].higher_is_better else -1.0 for m in metrics])
            cube = np.array(reps).reshape(len(metrics), len(objectives), -1) * sign[:, None, None]
            boot = np.array([kendalls_w(cube[:, :, b]) for b in range(cube.shape[2])
                             if np.isfinite(cube[:, :, b]).all()])
            w_ci = percentile_ci(boot)
    info = {"n_stimuli": len(stimuli), "n_networks": len(candidates), "sites": list(sites), "pool": pool,
            "selection_fraction": selection_fraction, "n_boot": n_boot, "seed": seed, "ceilings": ceilings,
            "n_neurons": None if responses is None else int(responses.sizes["neuron"])}
    return ObjectiveComparison(table, objective_table, scores, objective_scores, winners, consensus, w, w_ci,
                               metrics, info, pd.DataFrame(layer_rows))


def plot_comparison(result: ObjectiveComparison, path, title: str = ""):
    """One panel per metric: each objective's score (seeds averaged) with its 95% CI and the ceiling."""
    from neurosafe.core.figures import plt, save_figure

    t = result.objective_table
    metrics = list(result.metrics)
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics) + 0.8, 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        g = t[t.metric == metric].reset_index(drop=True)
        x = np.arange(len(g))
        err = np.abs(np.vstack([g.value - g.ci_low, g.ci_high - g.value]))
        ax.bar(x, g.value, color=["#DD8452" if o == result.winners[metric] else "#4C72B0" for o in g.objective])
        if np.isfinite(err).all():
            ax.errorbar(x, g.value, yerr=err, fmt="none", color="k", capsize=3)
        if g.ceiling.notna().any():
            ax.axhline(float(g.ceiling.iloc[0]), color="k", ls="--", lw=1)
        ax.set_xticks(x, g.objective, rotation=45, ha="right")
        ax.set_title(metric + ("" if bool(g.higher_is_better.iloc[0]) else " (lower better)"), fontsize=9)
    w = "" if result.kendall_w is None else f"; Kendall's W = {result.kendall_w:.2f}"
    fig.suptitle((title or "objective comparison") + w, fontsize=10)
    return save_figure(fig, path)
