"""Score every site of a subject against brain data and commit to one layer on held-out stimuli.

As Brain-Score commits a model's layer-to-region mapping before testing (Schrimpf et al. 2018): stimuli
are split (seeded) into a selection part and a test part; the site with the best score on the selection
part is chosen, and the committed score is that site's score on the test part, so the choice of layer
does not inflate the reported number. The table lists every site's selection and test scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.data.stimuli import StimulusSet
from neurosafe.metrics.cka import cka
from neurosafe.metrics.predictivity import ridge_predictivity
from neurosafe.metrics.rsa import rsa_score
from neurosafe.metrics.score import Score
from neurosafe.metrics.shape import shape_distance

__all__ = ["METRICS", "LayerScores", "plot_layer_profile", "score_layers"]

METRICS: dict[str, Callable[..., Score]] = {
    "ridge": ridge_predictivity,
    "pls": partial(ridge_predictivity, mapping="pls"),
    "rsa": rsa_score,
    "cka": cka,
    "shape": shape_distance,
}


@dataclass(frozen=True)
class LayerScores:
    """Per-site scores (``table``, ``scores`` on the test split) and the ``committed`` site's Score."""

    table: pd.DataFrame
    scores: dict[str, Score]
    committed: Score

    @property
    def committed_site(self) -> str:
        return self.committed.provenance["committed_site"]

    def to_dict(self) -> dict:
        """JSON-ready: the committed score, and each site's selection and test values."""
        rows = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {"committed_site": self.committed_site, "committed": self.committed.to_dict(per_unit=False),
                "sites": rows}


def _reference_ids(reference: xr.DataArray) -> np.ndarray:
    if "stimulus" in reference.dims:
        return reference["stimulus_id"].values.astype(str)
    if "stimulus_a" in reference.dims:
        return reference["stimulus_a"].values.astype(str)
    raise DataValidationError(f"reference must be responses (stimulus, ...) or RDMs (stimulus_a, stimulus_b); "
                              f"got dims {reference.dims}")


def _subset(reference: xr.DataArray, ids: np.ndarray) -> xr.DataArray:
    if "stimulus" in reference.dims:
        pos = {s: i for i, s in enumerate(_reference_ids(reference))}
        return reference.isel(stimulus=[pos[s] for s in ids])
    return reference.sel(stimulus_a=list(ids), stimulus_b=list(ids))


def score_layers(subject, stimuli: StimulusSet, reference: xr.DataArray, metric: str | Callable[..., Score] = "ridge",
                 sites: Sequence[str] | None = None, selection_fraction: float = 0.5, seed: int = 0,
                 **metric_kwargs) -> LayerScores:
    """Score each site of ``subject`` on ``stimuli`` against ``reference`` and commit to the best one.

    ``reference``: responses (stimulus, neuron[, repeat]) or, for ``"rsa"``, RDMs (stimulus_a, stimulus_b
    [, rdm]). ``metric``: "ridge", "pls", "rsa", "cka", "shape" or a callable (features, reference) -> Score;
    ``metric_kwargs`` go to it (``seed`` is passed too). ``selection_fraction`` of the stimuli choose the site.
    """
    if isinstance(metric, str) and metric not in METRICS:
        raise NeurosafeError(f"metric must be one of {sorted(METRICS)} or a callable; got {metric!r}")
    metric_fn = METRICS[metric] if isinstance(metric, str) else metric
    if not 0 < selection_fraction < 1:
        raise NeurosafeError(f"selection_fraction must lie in (0, 1); got {selection_fraction}")
    if not isinstance(stimuli, StimulusSet):
        raise NeurosafeError(f"stimuli must be a StimulusSet; got {type(stimuli).__name__}")
    ids = _reference_ids(reference)
    stimuli = stimuli.select(ids)
    sites = list(subject.sites if sites is None else sites)
    if not sites:
        raise NeurosafeError("no sites to score")
    order = np.random.default_rng(seed).permutation(len(ids))
    n_sel = round(selection_fraction * len(ids))
    if n_sel < 3 or len(ids) - n_sel < 3:
        raise DataValidationError(f"{len(ids)} stimuli are too few to split into selection and test parts")
    parts = {"selection": np.sort(order[:n_sel]), "test": np.sort(order[n_sel:])}
    features = (subject.extract(stimuli, sites) if hasattr(subject, "extract")
                else {s: subject.respond(stimuli, s) for s in sites})
    results: dict[str, dict[str, Score]] = {name: {} for name in parts}
    for name, idx in parts.items():
        ref = _subset(reference, ids[idx])
        for site in sites:
            feats = features[site].isel(stimulus=idx) if "stimulus" in features[site].dims else features[site]
            results[name][site] = metric_fn(feats, ref, seed=seed, **metric_kwargs)
    higher = results["test"][sites[0]].higher_is_better
    selection = {s: results["selection"][s].value for s in sites}
    valid = {s: v for s, v in selection.items() if np.isfinite(v)}
    if not valid:
        raise DataValidationError("every site's selection score is undefined")
    best = (max if higher else min)(valid, key=valid.get)
    table = pd.DataFrame([{
        "site": s, "selection_value": selection[s], "value": sc.value,
        "ceiling": np.nan if sc.ceiling is None else sc.ceiling,
        "ceiled_value": np.nan if sc.ceiled_value is None else sc.ceiled_value,
        "ci_low": np.nan if sc.ci is None else sc.ci[0], "ci_high": np.nan if sc.ci is None else sc.ci[1],
        "committed": s == best,
    } for s, sc in results["test"].items()])
    chosen = results["test"][best]
    prov = dict(chosen.provenance) | {
        "committed_site": best, "selection_scores": selection, "selection_fraction": selection_fraction,
        "n_selection": int(n_sel), "n_test": int(len(ids) - n_sel), "layer_seed": seed,
    }
    return LayerScores(table=table, scores=results["test"], committed=replace(chosen, provenance=prov))


def plot_layer_profile(scores: LayerScores, path: str | Path, title: str = "") -> Path:
    """PNG of each site's test score with its CI and ceiling; the committed site is marked."""
    from neurosafe.core.figures import plt, save_figure

    t = scores.table
    x = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * len(t) + 1.5), 3.4))
    err = np.vstack([t["value"] - t["ci_low"], t["ci_high"] - t["value"]])
    ax.errorbar(x, t["value"], yerr=None if np.isnan(err).all() else np.abs(err), fmt="o-", color="#4C72B0",
                capsize=3, label="test score (95% CI)")
    if t["ceiling"].notna().any():
        ax.plot(x, t["ceiling"], "k--", lw=1, label="noise ceiling")
    best = int(np.flatnonzero(t["committed"])[0])
    ax.plot([x[best]], [t["value"].iloc[best]], "*", ms=14, color="#DD8452", label="committed (held-out choice)")
    ax.set_xticks(x, t["site"], rotation=45, ha="right")
    metric = scores.committed.provenance.get("metric", "score")
    ax.set_ylabel(metric + ("" if scores.committed.higher_is_better else " (lower is better)"))
    ax.set_title(title or f"layer profile: {metric}")
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)
