"""Planted superposition: sparse ground-truth features packed into fewer dimensions, and how well a dictionary
gets them back.

- :func:`toy_superposition`: n sparse features (each active with probability ``p``, magnitude U(0, 1) times its
  importance) mixed into d < n dimensions. ``mixing="random"``: fixed random unit directions (the planted data
  of Sharkey, Braun & Millidge 2022, "Taking features out of superposition with sparse autoencoders");
  ``mixing="trained"``: the directions a toy model learns (Elhage et al. 2022, "Toy Models of Superposition":
  h = W x, x' = ReLU(W^T h + b), importance-weighted MSE), so that which features share dimensions is decided by
  sparsity and importance as in the paper.
- :class:`MixedSelectivityBrain`: a synthetic recording (conventions of ``neurosafe.data.SyntheticBrain``:
  expected counts, Poisson trials, ``record`` returns a validated (stimulus, neuron, repeat) DataArray and
  ``ground_truth`` the planted parameters) whose neurons each respond to a few sparse latent variables
  (mixed selectivity; Rigotti et al. 2013), so no single neuron is a latent but a dictionary can find them.
- :func:`mean_max_cosine`: for each true feature, its largest |cosine| with a learned atom (averaged: the mean max
  cosine similarity, MMCS, of Sharkey et al.); :func:`latent_recovery`: the same with activity correlations.
- :func:`recovery_curve`: MMCS against feature probability for several methods, with bootstrap CIs over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from neurosafe.core.seeds import make_rng, spawn_seeds, torch_generator
from neurosafe.data.recording import make_responses
from neurosafe.interp._access import InterpError
from neurosafe.interp.dictionary import SAEConfig, learn_dictionary
from neurosafe.metrics.score import Score, mean_score

__all__ = ["TOY_SAE", "MixedSelectivityBrain", "PlantedFeatures", "dictionary_vs_neurons", "latent_recovery",
           "mean_max_cosine", "recovery_curve", "seed_score", "toy_superposition"]


TOY_SAE = SAEConfig(kind="topk", k=2, lr=1e-2, batch_size=256, epochs=16, resample_every=50)
"""SAE settings for the toy problems: a TopK SAE (Gao et al. 2024), k = 2, 16 epochs (about 1 s on a CPU core)."""


@dataclass
class PlantedFeatures:
    """Data ``x`` (samples, d) made of ``features`` (samples, n) along ``directions`` (n, d, unit norm)."""

    x: np.ndarray
    features: np.ndarray
    directions: np.ndarray
    importance: np.ndarray
    p: float


def _sparse_features(rng: np.random.Generator, n_samples: int, n: int, p: float) -> np.ndarray:
    return (rng.random((n_samples, n)) < p) * rng.random((n_samples, n))


def _trained_directions(n: int, d: int, p: float, importance: np.ndarray, seed: int, steps: int,
                        batch: int = 1024) -> np.ndarray:
    """W of Elhage et al.'s ReLU-output toy model trained on sparse features (Adam, batches of 1024)."""
    gen = torch_generator(seed, "toy model")
    w = torch.nn.Parameter(torch.randn(d, n, generator=gen) * np.sqrt(2 / (n + d)))
    b = torch.nn.Parameter(torch.zeros(n))
    imp = torch.as_tensor(importance, dtype=torch.float32)
    opt = torch.optim.Adam([w, b], lr=1e-2)
    for _ in range(steps):
        x = (torch.rand(batch, n, generator=gen) < p) * torch.rand(batch, n, generator=gen)
        out = torch.relu((x @ w.t()) @ w + b)
        loss = (imp * (x - out) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach().t().double().numpy()  # (n, d), not normalised: the norm says whether a feature is kept


def toy_superposition(n_features: int = 20, n_dims: int = 8, p: float = 0.05, n_samples: int = 20000, *,
                      importance_decay: float = 1.0, mixing: str = "random", train_steps: int = 3000,
                      seed: int = 0) -> PlantedFeatures:
    """Sparse features (active with probability ``p``) in fewer dimensions; feature i has importance
    ``importance_decay**i``. With ``mixing="trained"`` (``train_steps`` Adam steps, batches of 1024)
    ``directions`` are Elhage et al.'s learned W columns
    (features the model drops have a small norm; they are returned unnormalised in ``PlantedFeatures.directions``
    only then) and x = W f."""
    if not 0 < p <= 1:
        raise InterpError(f"feature probability p must lie in (0, 1]; got {p}")
    if n_features < 1 or n_dims < 1 or n_samples < 2:
        raise InterpError(f"need n_features, n_dims >= 1 and n_samples >= 2; got {n_features}, {n_dims}, {n_samples}")
    if mixing not in ("random", "trained"):
        raise InterpError(f"mixing must be 'random' or 'trained'; got {mixing!r}")
    if not 0 < importance_decay <= 1:
        raise InterpError(f"importance_decay must lie in (0, 1]; got {importance_decay}")
    importance = importance_decay ** np.arange(n_features)
    rng = make_rng(seed, "toy superposition data")
    f = _sparse_features(rng, n_samples, n_features, p)
    if mixing == "random":
        w = make_rng(seed, "toy superposition directions").standard_normal((n_features, n_dims))
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        f = f * importance
    else:
        w = _trained_directions(n_features, n_dims, p, importance, seed, train_steps)
    return PlantedFeatures(f @ w, f, w, importance, p)


def mean_max_cosine(learned: np.ndarray, true: np.ndarray, per_feature: bool = False) -> float | np.ndarray:
    """For each true direction (rows of ``true``), its largest |cosine similarity| with any learned direction; their
    mean (MMCS; Sharkey et al. 2022), or the per-feature values. Absolute cosines: ICA's atoms have no sign."""
    a = np.asarray(learned, float)
    t = np.asarray(true, float)
    if a.ndim != 2 or t.ndim != 2 or a.shape[1] != t.shape[1]:
        raise InterpError(f"learned and true directions must be (k, d) and (n, d); got {a.shape} and {t.shape}")
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    best = np.abs(t @ a.T).max(1)
    return best if per_feature else float(best.mean())


def latent_recovery(activity: np.ndarray, latents: np.ndarray) -> np.ndarray:
    """For each latent (column of ``latents``), its largest |Pearson correlation| with any column of ``activity``
    over samples (constant columns count as 0)."""
    a = np.asarray(activity, float)
    z = np.asarray(latents, float)
    if a.ndim != 2 or z.ndim != 2 or len(a) != len(z):
        raise InterpError(f"activity and latents must be (samples, k) with equal samples; got {a.shape}, {z.shape}")
    a = a - a.mean(0)
    z = z - z.mean(0)
    na, nz = np.linalg.norm(a, axis=0), np.linalg.norm(z, axis=0)
    corr = (z.T @ a) / np.maximum(np.outer(nz, na), 1e-300)
    corr[:, na < 1e-12] = 0.0
    return np.abs(corr).max(1)


class MixedSelectivityBrain:
    """Neurons with mixed selectivity for ``n_latents`` sparse latent variables (planted ground truth).

    Each stimulus is a draw of the latents (each active with probability ``p``, magnitude U(0.5, 1.5)); neuron j's
    expected count is ``baseline_j + sum_l A[j, l] z_l`` where row j of A has ``mix`` non-zero positive weights
    (U(0.5, 1.5) x ``gain``). Trials are Poisson (as in ``SyntheticBrain``). ``record`` returns the recording with
    the latents as stimulus coords (``latent_0``...), ``ground_truth`` the mixing matrix and baselines.
    """

    def __init__(self, n_latents: int = 12, n_neurons: int = 40, p: float = 0.1, mix: int = 3, gain: float = 4.0,
                 seed: int = 0):
        if not 1 <= mix <= n_latents:
            raise InterpError(f"mix must lie in [1, n_latents={n_latents}]; got {mix}")
        if n_neurons < 1 or not 0 < p <= 1 or gain <= 0:
            raise InterpError(f"need n_neurons >= 1, p in (0, 1], gain > 0; got {n_neurons}, {p}, {gain}")
        rng = make_rng(seed, "mixed selectivity brain")
        a = np.zeros((n_neurons, n_latents))
        for j in range(n_neurons):
            a[j, rng.choice(n_latents, size=mix, replace=False)] = rng.uniform(0.5, 1.5, mix) * gain
        self.mixing, self.baseline = a, rng.uniform(0.5, 2.0, n_neurons)
        self.n_latents, self.n_neurons, self.p, self.seed = n_latents, n_neurons, p, seed
        self.neuron_ids = np.array([f"mixed_{j:04d}" for j in range(n_neurons)], dtype=object)

    def latents(self, n_stimuli: int, seed: int = 0) -> np.ndarray:
        rng = make_rng(seed, "latents")
        return (rng.random((n_stimuli, self.n_latents)) < self.p) * rng.uniform(0.5, 1.5, (n_stimuli, self.n_latents))

    def expected(self, latents: np.ndarray) -> np.ndarray:
        return self.baseline + np.asarray(latents, float) @ self.mixing.T

    def record(self, n_stimuli: int = 2000, repeats: int = 4, seed: int = 0) -> xr.DataArray:
        """A noisy recording (stimulus, neuron, repeat) of ``n_stimuli`` latent draws."""
        z = self.latents(n_stimuli, seed)
        mean = self.expected(z)
        trials = make_rng(seed, "trials").poisson(np.broadcast_to(mean[..., None], (*mean.shape, repeats)))
        ids = np.array([f"stim_{i:05d}" for i in range(n_stimuli)], dtype=object)
        resp = make_responses(trials.astype(np.float64), ids, self.neuron_ids,
                              attrs={"source": f"neurosafe.MixedSelectivityBrain(seed={self.seed})",
                                     "units": "spike count", "species": "synthetic", "area": "mixed"})
        return resp.assign_coords({f"latent_{k}": ("stimulus", z[:, k]) for k in range(self.n_latents)})

    @property
    def ground_truth(self) -> xr.Dataset:
        return xr.Dataset({"mixing": (("neuron", "latent"), self.mixing), "baseline": ("neuron", self.baseline)},
                          coords={"neuron_id": ("neuron", self.neuron_ids)}, attrs={"p": self.p, "seed": self.seed})


def recovery_curve(densities: Sequence[float] = (0.01, 0.03, 0.05, 0.1, 0.2, 0.4), methods: Sequence[str] = ("sae",),
                   *, n_seeds: int = 5, n_features: int = 20, n_dims: int = 8, n_samples: int = 4096,
                   n_atoms: int | None = None, config: SAEConfig | None = None, seed: int = 0,
                   n_boot: int = 1000) -> xr.Dataset:
    """MMCS of each method's dictionary with the planted features of :func:`toy_superposition` at each feature
    probability: ``mmcs`` (dictionary, p) with ``ci_low``/``ci_high`` (bootstrap over seeds) and ``per_seed`` values.
    ``n_atoms``: dictionary size (default ``2 x n_features``; ICA gets ``n_dims``); ``config``: SAE settings
    (default :data:`TOY_SAE`)."""
    config = config or TOY_SAE
    if n_seeds < 2:
        raise InterpError(f"a CI over seeds needs n_seeds >= 2; got {n_seeds}")
    n_atoms = n_atoms or 2 * n_features
    seeds = spawn_seeds(seed, n_seeds, "recovery curve")
    per = np.empty((len(methods), len(densities), n_seeds))
    for i, method in enumerate(methods):
        for j, p in enumerate(densities):
            for s, sd in enumerate(seeds):
                data = toy_superposition(n_features, n_dims, p, n_samples, seed=sd)
                k = n_dims if method == "ica" else n_atoms
                d = learn_dictionary(data.x, method, k, seed=sd, config=config)
                per[i, j, s] = mean_max_cosine(d.atoms, data.directions)
    scores = [[seed_score(per[i, j], seed, n_boot) for j in range(len(densities))] for i in range(len(methods))]
    ci = np.array([[s.ci for s in row] for row in scores], dtype=float)
    dims = ("dictionary", "p")  # not "method": Dataset.sel(method=...) is the interpolation argument
    return xr.Dataset({"mmcs": (dims, per.mean(2)), "ci_low": (dims, ci[..., 0]), "ci_high": (dims, ci[..., 1]),
                       "per_seed": ((*dims, "seed"), per)},
                      coords={"dictionary": list(methods), "p": list(densities)},
                      attrs={"n_features": n_features, "n_dims": n_dims, "n_samples": n_samples, "n_atoms": n_atoms,
                             "seed": seed, "n_seeds": n_seeds})


def seed_score(values: np.ndarray, seed: int = 0, n_boot: int = 1000) -> Score:
    """Mean over seeds with a percentile bootstrap CI over seeds (``metrics.mean_score``)."""
    return mean_score(np.asarray(values, float), "mean max cosine over seeds", seed=seed, n_boot=n_boot)


def dictionary_vs_neurons(brain: MixedSelectivityBrain, *, n_stimuli: int = 3000, repeats: int = 4,
                          method: str = "sae", n_features: int | None = None, config: SAEConfig | None = None,
                          seed: int = 0, n_boot: int = 1000) -> dict:
    """Record ``brain``, learn a dictionary of its trial-averaged responses, and compare per latent the best
    |correlation| of a dictionary feature's activity (``dictionary``) with that of the best single neuron
    (``neurons``) on held-out stimuli; ``difference`` = dictionary - neurons with a paired bootstrap CI over
    latents (``metrics.paired_difference``). Also returns the dictionary's ``metrics``."""
    from neurosafe.core.seeds import child_seed
    from neurosafe.interp.dictionary import dictionary_metrics, site_samples
    from neurosafe.metrics.score import paired_difference

    train = brain.record(n_stimuli, repeats, seed=child_seed(seed, "train recording"))
    test = brain.record(n_stimuli, repeats, seed=child_seed(seed, "test recording"))
    d = learn_dictionary(train, method, n_features or 2 * brain.n_latents, seed=seed, config=config)
    x_test = site_samples(test)
    z = np.stack([test[f"latent_{k}"].values for k in range(brain.n_latents)], axis=1)
    dict_rec = latent_recovery(d.encode(x_test), z)
    neuron_rec = latent_recovery(x_test, z)
    kw = {"seed": seed, "n_boot": n_boot}
    a = mean_score(dict_rec, "latent recovery (dictionary)", **kw)
    b = mean_score(neuron_rec, "latent recovery (neurons)", **kw)
    return {"dictionary": a, "neurons": b, "difference": paired_difference(a, b, name="dictionary - neurons"),
            "per_latent": {"dictionary": dict_rec, "neurons": neuron_rec}, "metrics": dictionary_metrics(d, x_test)}
