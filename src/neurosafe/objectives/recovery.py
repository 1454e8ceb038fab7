"""Model recovery: can the comparison engine tell which objective trained a brain, when we know the answer?

The synthetic brain (:class:`ObjectiveBrain`) *is* a network trained with a known objective, held out from
the candidates (another training seed and another width). Its neurons are randomly chosen units of one
layer (spatially pooled like the candidates' features), scaled to a mean firing rate and recorded with
Poisson or Gaussian trial noise. :func:`recovery_experiment` records every brain on natural patches never
used in training, runs :func:`~neurosafe.objectives.engine.compare_objectives` on nested subsets of stimuli
and neurons, and tallies which objective each metric (and their consensus) picks: the confusion matrix over
objectives and the identifiability curve (accuracy vs data size) that model recovery asks for before an
inference is trusted on real data (Wilson & Collins 2019, "Ten simple rules", rule 6; Mineault et al. 2024).
Accuracy CIs: percentile bootstrap over brains (:func:`~neurosafe.metrics.score.mean_score`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from scipy.stats import rankdata
from torch import nn

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.progress import stage, switched
from neurosafe.core.seeds import child_seed, make_rng
from neurosafe.data.recording import make_responses
from neurosafe.data.stimuli import StimulusSet, natural_patches
from neurosafe.metrics.score import mean_score
from neurosafe.objectives.engine import SITES, compare_objectives, features_of

__all__ = ["RULE_KINDS", "ObjectiveBrain", "RecoveryResult", "apply_rule", "default_rules", "parse_rule",
           "plot_confusion", "plot_identifiability", "recovery_experiment", "select_rule", "with_rules"]

NOISES = ("poisson", "gaussian")
RULE_KINDS = ("mean", "max", "profile", "pattern")


class RecoveryError(NeurosafeError):
    """Bad model-recovery settings."""


class ObjectiveBrain:
    """A simulated recording from a network: ``n_neurons`` units of ``site`` (pooled ``pool`` x ``pool``)
    with a non-constant response on natural patches (the responsive units, as an experimenter records only
    cells that respond), chosen at random (``seed``) without replacement, each scaled to ``mean_rate``.
    Several sites: the first site's responsive units are drawn first and a later site only makes up the
    count (e.g. ``("relu3", "relu2")``: the last layer, topped up from the one below when a sparse network's
    last layer has too few responsive units); ``record`` adds Poisson noise (spike counts) or
    Gaussian noise of ``noise_sd`` times the unit's response s.d. Fewer responsive units than ``n_neurons``
    (e.g. the last layer of a sparse-coding network) is an error, unless ``allow_repeats``: then units are
    drawn with replacement (neurons of identical tuning with independent noise)."""

    def __init__(self, model: nn.Module, objective: str, n_neurons: int = 200, site: str | Sequence[str] = "relu3",
                 pool: int = 2, mean_rate: float = 5.0, noise: str = "poisson", noise_sd: float = 1.0, seed: int = 0,
                 image_size: int = 16, allow_repeats: bool = False):
        if noise not in NOISES:
            raise RecoveryError(f"noise must be one of {NOISES}; got {noise!r}")
        if n_neurons < 2 or mean_rate <= 0 or noise_sd < 0:
            raise RecoveryError("n_neurons must be >= 2, mean_rate > 0 and noise_sd >= 0")
        self.sites = (site,) if isinstance(site, str) else tuple(site)
        if not self.sites:
            raise RecoveryError("the brain needs at least one site to record from")
        self.model, self.objective, self.site, self.pool = model, objective, "+".join(self.sites), pool
        self.noise, self.noise_sd, self.mean_rate = noise, noise_sd, mean_rate
        calib = natural_patches(256, image_size, seed=child_seed(seed, "calibration"))
        acts = self._activations(calib)
        spread = acts.std(axis=0)
        active = np.flatnonzero(spread > 1e-6 * max(spread.max(), 1e-12))
        if len(active) < n_neurons and not (allow_repeats and len(active) >= 2):
            raise RecoveryError(f"{self.site} of this network has {len(active)} responsive units; "
                                f"asked for {n_neurons}")
        rng = make_rng(seed, "units")
        if len(active) < n_neurons:
            self.units = rng.choice(active, n_neurons, replace=True)
        else:  # the first site's responsive units first; a later site only makes up the count
            units: list[int] = []
            for site_ in self.sites:
                pool_ = active[self.unit_sites[active] == site_]
                units.extend(rng.choice(pool_, min(len(pool_), n_neurons - len(units)), replace=False))
            self.units = np.array(units)  # random order: the first k neurons are a random subset
        self.scale = mean_rate / np.maximum(acts[:, self.units].mean(axis=0), 1e-6)
        self.spread = (acts[:, self.units] * self.scale).std(axis=0)

    def _activations(self, stimuli: StimulusSet) -> np.ndarray:
        feats = features_of(self.model, stimuli, self.sites, self.pool)
        self.unit_sites = np.concatenate([[s] * feats[s].shape[1] for s in self.sites])
        return np.concatenate([feats[s].values for s in self.sites], axis=1)

    def expected(self, stimuli: StimulusSet) -> np.ndarray:
        """Noise-free rates (stimulus, neuron)."""
        return self._activations(stimuli)[:, self.units] * self.scale

    def record(self, stimuli: StimulusSet, repeats: int = 4, seed: int = 0) -> xr.DataArray:
        """Responses (stimulus, neuron, repeat) with trial noise."""
        if repeats < 1:
            raise RecoveryError(f"repeats must be >= 1; got {repeats}")
        rate = np.maximum(self.expected(stimuli), 0.0)
        rng = make_rng(seed, "recording noise")
        shape = (*rate.shape, repeats)
        if self.noise == "poisson":
            trials = rng.poisson(np.broadcast_to(rate[..., None], shape)).astype(np.float64)
        else:
            trials = rate[..., None] + self.noise_sd * self.spread[None, :, None] * rng.standard_normal(shape)
        prefix = [f"{self.unit_sites[u]}_" if len(self.sites) > 1 else "" for u in self.units]
        ids = ([f"{p}unit_{u}" for p, u in zip(prefix, self.units, strict=True)]
               if len(set(self.units)) == len(self.units)
               else [f"{p}unit_{u}_{j}" for j, (p, u) in enumerate(zip(prefix, self.units, strict=True))])
        return make_responses(trials, stimuli.ids, ids,
                              attrs={"objective": self.objective, "site": self.site, "noise": self.noise})


@dataclass
class RecoveryResult:
    """``picks``: one row per brain x data size x rule (a metric or ``consensus``): true objective, picked
    objective, correct. ``objectives``: the candidates' objectives (confusion-matrix order). ``scores``:
    every candidate network's committed score per brain x data size x metric (what decision rules read:
    :func:`apply_rule`)."""

    picks: pd.DataFrame
    objectives: tuple[str, ...]
    info: dict = field(default_factory=dict)
    scores: pd.DataFrame | None = None

    def accuracy(self, rule: str = "consensus", seed: int = 0, n_boot: int = 1000) -> pd.DataFrame:
        """Accuracy per (n_stimuli, n_neurons) with a bootstrap CI over brains; chance = 1 / #objectives."""
        rows = []
        sub = self.picks[self.picks.rule == rule]
        for (ns, nn_), group in sub.groupby(["n_stimuli", "n_neurons"]):
            sc = mean_score(group["correct"].to_numpy(float), "recovery_accuracy", seed=seed, n_boot=n_boot)
            rows.append({"n_stimuli": int(ns), "n_neurons": int(nn_), "accuracy": sc.value, "ci_low": sc.ci[0],
                         "ci_high": sc.ci[1], "n_brains": len(group), "chance": 1 / len(self.objectives)})
        return pd.DataFrame(rows)

    def confusion(self, n_stimuli: int, n_neurons: int, rule: str = "consensus") -> pd.DataFrame:
        """Counts of picked objective (columns) per true objective (rows) at one data size."""
        sub = self.picks[(self.picks.rule == rule) & (self.picks.n_stimuli == n_stimuli)
                         & (self.picks.n_neurons == n_neurons)]
        if sub.empty:
            raise RecoveryError(f"no recovery runs at {n_stimuli} stimuli x {n_neurons} neurons")
        table = pd.crosstab(sub["true"], sub["picked"]).reindex(index=list(self.objectives),
                                                                columns=list(self.objectives), fill_value=0)
        return table.fillna(0).astype(int)

    def row_rates(self, n_stimuli: int, n_neurons: int, rule: str = "consensus", seed: int = 0) -> pd.DataFrame:
        """Per true objective: the rate it is recovered, with a bootstrap CI over its brains."""
        sub = self.picks[(self.picks.rule == rule) & (self.picks.n_stimuli == n_stimuli)
                         & (self.picks.n_neurons == n_neurons)]
        rows = []
        for objective, group in sub.groupby("true"):
            sc = mean_score(group["correct"].to_numpy(float), "recovery_rate", seed=seed, n_boot=1000)
            rows.append({"objective": objective, "rate": sc.value, "ci_low": sc.ci[0], "ci_high": sc.ci[1],
                         "n_brains": len(group)})
        return pd.DataFrame(rows)

    def to_dict(self, rule: str = "consensus") -> dict:
        """JSON-ready: accuracy of every rule, and the confusion matrix of ``rule`` at the largest data size."""
        rules = sorted(self.picks.rule.unique())
        big = self.picks[["n_stimuli", "n_neurons"]].max()
        ns, nn_ = int(big.n_stimuli), int(big.n_neurons)
        return {"objectives": list(self.objectives), "info": self.info,
                "accuracy": {r: self.accuracy(r).to_dict(orient="records") for r in rules},
                "confusion": {"n_stimuli": ns, "n_neurons": nn_, "rule": rule,
                              "counts": self.confusion(ns, nn_, rule).to_dict(orient="index"),
                              "rates": self.row_rates(ns, nn_, rule).to_dict(orient="records")}}


def recovery_experiment(candidates: Mapping[str, tuple[str, nn.Module | Mapping[str, xr.DataArray]]],
                        brains: Sequence[tuple[str, nn.Module]],
                        n_stimuli: Sequence[int] = (100, 300, 1000, 2000), n_neurons: Sequence[int] = (50, 200),
                        repeats: int = 4, noise: str = "poisson", noise_sd: float = 1.0,
                        site: str | Sequence[str] = "relu3",
                        metrics: Sequence[str] = ("ridge", "rsa", "cka", "shape"), sites: Sequence[str] = SITES,
                        pool: int = 2, brain_pool: int | None = None, seed: int = 0, image_size: int = 16,
                        first_brain: int = 0, allow_repeats: bool = False,
                        ridge_options: dict | None = None, stimuli: StimulusSet | None = None,
                        progress: bool | None = None) -> RecoveryResult:
    """Record each brain ((true objective, network)) on natural patches and let the engine pick its objective
    at every (n_stimuli, n_neurons) (nested subsets of one recording per brain). Brain i (counted from
    ``first_brain``, so a sweep can run in resumable chunks) draws its neurons and noise from streams of
    ``seed`` and i; ``brain_pool``: the brain's pooling (default ``pool``; 4 on a 4 x 4 map: single-position
    units); ``site``: the brain's recorded layer(s). No noise ceilings (rankings do not need them);
    ``ridge_options`` go to the ridge metric; ``stimuli``: the images to record on (default: fresh natural
    patches; give a real data set's images for a recovery matched to it). A candidate may be given as its
    precomputed {site: features} on ``stimuli`` (:func:`~neurosafe.objectives.engine.features_of`)."""
    n_stimuli, n_neurons = sorted({int(n) for n in n_stimuli}), sorted({int(n) for n in n_neurons})
    if not candidates or not brains:
        raise RecoveryError("model recovery needs candidates and brains")
    if min(n_stimuli) < 12 or min(n_neurons) < 2:
        raise RecoveryError("n_stimuli must be >= 12 (selection and test halves) and n_neurons >= 2")
    objectives = tuple(sorted({o for o, _ in candidates.values()}))
    stray = sorted({o for o, _ in brains} - set(objectives))
    if stray:
        raise RecoveryError(f"brains with objectives no candidate has: {stray}")
    if stimuli is None:
        stimuli = natural_patches(max(n_stimuli), image_size, seed=child_seed(seed, "recovery stimuli"))
    elif len(stimuli) < max(n_stimuli):
        raise RecoveryError(f"{len(stimuli)} stimuli given; the largest size asked is {max(n_stimuli)}")
    with torch.no_grad():
        feats = {name: (o, m if isinstance(m, Mapping) else features_of(m, stimuli, sites, pool))
                 for name, (o, m) in candidates.items()}
    rows, score_rows = [], []
    with switched(progress), stage("model recovery", total=len(brains) * len(n_stimuli) * len(n_neurons)) as bar:
        for i, (true, model) in enumerate(brains, start=first_brain):
            brain = ObjectiveBrain(model, true, max(n_neurons), site, brain_pool or pool, noise=noise,
                                   noise_sd=noise_sd, seed=child_seed(seed, "brain", i), image_size=image_size,
                                   allow_repeats=allow_repeats)
            recording = brain.record(stimuli, repeats, seed=child_seed(seed, "noise", i))
            for ns in n_stimuli:
                for nn_ in n_neurons:
                    result = compare_objectives(feats, stimuli[:ns], recording.isel(stimulus=slice(0, ns),
                                                                                     neuron=slice(0, nn_)),
                                                metrics=metrics, sites=sites, n_boot=0, ceilings=False,
                                                ridge_options=ridge_options, seed=child_seed(seed, "split", i),
                                                progress=False)
                    cell = {"brain": i, "true": true, "n_stimuli": ns, "n_neurons": nn_}
                    for rule, picked in [*result.winners.items(), ("consensus", result.consensus)]:
                        rows.append({**cell, "rule": rule, "picked": picked, "correct": picked == true})
                    for r in result.layer_table.itertuples():
                        score_rows.append({**cell, "network": r.network, "objective": r.objective,
                                           "metric": r.metric, "site": r.site, "value": r.value,
                                           "committed": bool(r.committed),
                                           "higher_is_better": bool(r.higher_is_better)})
                    bar.advance()
    info = {"n_brains": len(brains), "n_candidates": len(candidates), "repeats": repeats, "noise": noise,
            "site": site if isinstance(site, str) else list(site), "metrics": list(metrics), "pool": pool,
            "brain_pool": brain_pool or pool, "seed": seed}
    return RecoveryResult(pd.DataFrame(rows), objectives, info, pd.DataFrame(score_rows))


def _committed(scores: pd.DataFrame) -> pd.DataFrame:
    """Each network's committed site only (scores without a ``committed`` column hold nothing else)."""
    return scores[scores.committed.astype(bool)] if "committed" in scores else scores


def _signed(sub: pd.DataFrame) -> pd.Series:
    return sub.value.where(sub.higher_is_better.astype(bool), -sub.value)


def _objective_grid(scores: pd.DataFrame, metrics: Sequence[str], objectives: Sequence[str],
                    how: str = "mean") -> pd.DataFrame:
    """One row per (brain, n_stimuli, n_neurons), columns (metric, objective): each objective's score
    (``how``: mean or max over its networks, at their committed sites), signed so that higher is better."""
    scores = _committed(scores)
    sub = scores[scores.metric.isin(list(metrics))]
    keys = [sub.brain, sub.true, sub.n_stimuli, sub.n_neurons, sub.metric, sub.objective]
    grid = _signed(sub).groupby(keys).agg(how).unstack([-2, -1])
    grid.index.names = ["brain", "true", "n_stimuli", "n_neurons"]
    return grid.reindex(columns=pd.MultiIndex.from_product([list(metrics), list(objectives)]))


def _pattern_grid(scores: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (brain, n_stimuli, n_neurons), columns (metric, network, site): every network's score
    at every site, signed so that higher is better (the full pattern the ``pattern`` rule reads)."""
    sub = scores[scores.metric.isin(list(metrics))]
    if "committed" not in sub:
        raise RecoveryError("the pattern rule needs every site's score; these scores hold committed sites only")
    keys = [sub.brain, sub.true, sub.n_stimuli, sub.n_neurons, sub.metric, sub.network, sub.site]
    grid = _signed(sub).groupby(keys).mean().unstack([-3, -2, -1])
    grid.index.names = ["brain", "true", "n_stimuli", "n_neurons"]
    return grid.reindex(columns=[c for c in grid.columns.sort_values() if c[0] in metrics])


def _profiles(grid: pd.DataFrame, metrics: Sequence[str]) -> np.ndarray:
    """Each row's scores z-scored across its columns within each metric, metrics side by side (an undefined
    score, e.g. of a site constant on the stimuli, sits at the row's mean)."""
    blocks = []
    for m in metrics:
        x = grid[m].to_numpy(float)
        mu, sd = np.nanmean(x, axis=1, keepdims=True), np.nanstd(x, axis=1, keepdims=True)
        blocks.append(np.nan_to_num((x - mu) / np.maximum(sd, 1e-12)))
    return np.hstack(blocks)


def parse_rule(rule: str, available: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """(kind, metrics) of a decision rule ``KIND:M1+M2..``; an error names what is wrong (``available``: the
    metrics scored)."""
    kind, _, spec = rule.partition(":")
    metrics = tuple(spec.split("+")) if spec else ()
    if kind not in RULE_KINDS or not metrics:
        raise RecoveryError(f"unknown decision rule {rule!r}: use KIND:METRICS with KIND one of "
                            f"{', '.join(RULE_KINDS)} and metrics joined by '+'")
    missing = sorted(set(metrics) - set(available))
    if missing:
        raise RecoveryError(f"rule {rule!r} needs metrics {missing} that are not among those scored "
                            f"({', '.join(available)})")
    return kind, metrics


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r; -inf where a side is constant (no pattern to match: never the nearest centroid)."""
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b) / denom if denom > 1e-12 else -np.inf


def _profile_picks(grid: pd.DataFrame, dev: pd.DataFrame, metrics: Sequence[str], objectives: Sequence[str],
                   rule: str, leave_out_self: bool = False) -> list[str]:
    keys, dev_keys = grid.index.to_frame(index=False), dev.index.to_frame(index=False)
    prof, dev_prof = _profiles(grid, metrics), _profiles(dev, metrics)
    picked = []
    for j, row in enumerate(prof):
        at = ((dev_keys.n_stimuli == keys.n_stimuli[j]) & (dev_keys.n_neurons == keys.n_neurons[j])).to_numpy().copy()
        if leave_out_self:
            at &= (dev_keys.brain != keys.brain[j]).to_numpy()
        if not at.any():
            raise RecoveryError(f"no development brains at {keys.n_stimuli[j]} stimuli x {keys.n_neurons[j]} "
                                f"neurons for rule {rule!r}")
        labels = dev_keys.true.to_numpy()[at]
        sims = {o: _correlation(row, dev_prof[at][labels == o].mean(axis=0)) for o in objectives
                if (labels == o).any()}
        picked.append(max(sims, key=sims.get))
    return picked


def apply_rule(scores: pd.DataFrame, rule: str, objectives: Sequence[str],
               development: pd.DataFrame | None = None, leave_out_self: bool = False) -> pd.DataFrame:
    """Pick an objective per (brain, data size) from the candidates' ``scores`` with a decision ``rule``:

    - ``mean:M1+M2..``: best mean rank over the metrics of each objective's mean score over its networks
      (one metric: its argmax; ties go to the first metric);
    - ``max:M1+M2..``: the same on each objective's best network;
    - ``profile:M1+M2..``: nearest centroid (correlation) of the brain's score profile (objective scores
      z-scored across objectives within each metric) to the mean profile of each true objective over the
      ``development`` brains' scores at the same data size: a rule fitted on development brains, to be
      reported on other brains only (``leave_out_self``: a brain is left out of the centroids, for scoring
      a rule on the development brains themselves);
    - ``pattern:M1+M2..``: the same nearest centroid on the full score pattern, every candidate network at
      every site (z-scored within each metric), not each objective's committed mean: which networks and
      which of their layers predict a brain well is a signature of its objective even where one objective's
      networks predict every brain best (a classifier on summary statistics of simulated data, as in
      simulation-based model identification; Nayebi et al. 2020 do the same for learning rules).

    Returns picks (brain, true, n_stimuli, n_neurons, rule, picked, correct)."""
    kind, metrics = parse_rule(rule, sorted(set(scores.metric)))
    objectives = list(objectives)
    if kind == "pattern":
        grid = _pattern_grid(scores, metrics)
    else:
        grid = _objective_grid(scores, metrics, objectives, "max" if kind == "max" else "mean")
    keys = grid.index.to_frame(index=False)
    if kind in ("profile", "pattern"):
        if development is None:
            raise RecoveryError(f"rule {rule!r} is fitted on development brains: give development scores")
        dev = (_pattern_grid(development, metrics).reindex(columns=grid.columns) if kind == "pattern"
               else _objective_grid(development, metrics, objectives))
        picked = _profile_picks(grid, dev, metrics, objectives, rule, leave_out_self)
    else:
        ranks = np.stack([np.apply_along_axis(rankdata, 1, -grid[m].to_numpy(float)) for m in metrics])
        mean_rank = ranks.mean(axis=0)
        first = grid[metrics[0]].to_numpy(float)
        picked = []
        for r, f in zip(mean_rank, first, strict=True):
            best = np.flatnonzero(r == r.min())
            picked.append(objectives[int(best[np.argmax(f[best])])])
    out = keys.assign(rule=rule, picked=picked)
    out["correct"] = out.picked == out.true
    return out


def default_rules(metrics: Sequence[str]) -> list[str]:
    """Every rule kind on each metric alone and on all metrics together (the candidates ``select_rule``
    chooses among)."""
    specs = [*metrics, "+".join(metrics)] if len(metrics) > 1 else list(metrics)
    return [f"{kind}:{spec}" for kind in RULE_KINDS for spec in specs]


def select_rule(development: RecoveryResult, rules: Sequence[str], n_stimuli: int, n_neurons: int
                ) -> tuple[str, pd.DataFrame]:
    """The decision rule with the highest accuracy on the ``development`` brains at one data size (profile
    rules scored leave-one-brain-out, so a development brain never sits in its own centroid; ties: the
    first rule listed); returns the rule and every rule's development accuracy. Report the chosen rule on
    other (held-out) brains."""
    if development.scores is None:
        raise RecoveryError("the development result carries no scores")
    sc = development.scores[(development.scores.n_stimuli == n_stimuli) & (development.scores.n_neurons == n_neurons)]
    if sc.empty:
        raise RecoveryError(f"no development runs at {n_stimuli} stimuli x {n_neurons} neurons")
    rows = []
    for rule in rules:
        picks = apply_rule(sc, rule, development.objectives, sc, leave_out_self=True)
        rows.append({"rule": rule, "accuracy": float(picks.correct.mean()), "n_brains": len(picks)})
    table = pd.DataFrame(rows)
    return str(table.rule.iloc[int(np.argmax(table.accuracy.to_numpy()))]), table


def with_rules(result: RecoveryResult, rules: Sequence[str], development: RecoveryResult | None = None
               ) -> RecoveryResult:
    """``result`` with the picks of extra decision ``rules`` added (profile rules fitted on ``development``)."""
    if result.scores is None:
        raise RecoveryError("this recovery result carries no scores")
    dev = None if development is None else development.scores
    extra = [apply_rule(result.scores, r, result.objectives, dev) for r in rules]
    keep = result.picks[~result.picks.rule.isin(list(rules))]
    return RecoveryResult(pd.concat([keep, *extra], ignore_index=True), result.objectives, result.info,
                          result.scores)


def plot_confusion(result: RecoveryResult, n_stimuli: int, n_neurons: int, path: str | Path,
                   rule: str = "consensus") -> Path:
    """Heatmap of the row-normalised confusion matrix at one data size, counts annotated."""
    from neurosafe.core.figures import plt, save_figure

    counts = result.confusion(n_stimuli, n_neurons, rule)
    rates = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    im = ax.imshow(rates.values, vmin=0, vmax=1, cmap="Blues")
    for (r, c), v in np.ndenumerate(counts.values):
        ax.text(c, r, str(v), ha="center", va="center", color="white" if rates.values[r, c] > 0.5 else "black")
    ax.set_xticks(range(len(counts.columns)), counts.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(counts.index)), counts.index)
    ax.set_xlabel("objective picked")
    ax.set_ylabel("true objective")
    ax.set_title(f"model recovery ({rule}): {n_stimuli} stimuli, {n_neurons} neurons")
    fig.colorbar(im, ax=ax, label="fraction of brains")
    return save_figure(fig, path)


def plot_identifiability(result: RecoveryResult, path: str | Path, rule: str = "consensus") -> Path:
    """Recovery accuracy (95% CI over brains) vs stimuli, one line per number of neurons; chance dashed."""
    from neurosafe.core.figures import plt, save_figure

    acc = result.accuracy(rule)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for nn_, group in acc.groupby("n_neurons"):
        g = group.sort_values("n_stimuli")
        ax.plot(g.n_stimuli, g.accuracy, "o-", label=f"{nn_} neurons")
        ax.fill_between(g.n_stimuli, g.ci_low, g.ci_high, alpha=0.2)
    ax.axhline(1 / len(result.objectives), color="k", ls="--", lw=1, label="chance")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("stimuli recorded")
    ax.set_ylabel("true objective recovered")
    ax.set_title(f"identifiability ({rule})")
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)
