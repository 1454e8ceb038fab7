"""Most-exciting inputs (MEIs), most-inhibitory inputs and diverse exciting inputs by gradient ascent.

Walker et al. 2019 (Nat Neurosci, "Inception loops"): start from noise and follow the gradient of one unit's
response w.r.t. the image, under a fixed contrast budget (an L2-norm ball around mean grey, inside the pixel
range), with two preconditioners against high-frequency adversarial solutions: each step the image is
randomly translated (jitter) and the gradient is Gaussian-blurred with a width that decays to zero. Several
random starts (seeds) are run per unit and the best kept. Here all units and seeds are optimised as one batch
(each image's objective depends only on its own unit, so one backward pass gives every gradient); that is
exact and much faster than one unit at a time (``benchmarks/mei.py``).

- Starts: for each image the best of ``init_candidates`` white-noise images (a random search that avoids
  starting where a rectified unit has zero gradient), drawn per (seed, unit, image) so that the result of a
  unit does not depend on the batching.
- Steps: normalised gradient steps of ``lr`` x the norm budget, decaying linearly to a tenth of it; after each
  step the contrast image is clipped to the pixel range and projected onto the norm ball. Each image returned
  is its best iterate, judged on the un-jittered image.
- Most-inhibitory inputs minimise the response instead.
- Diverse exciting inputs (Cadena et al. 2018, "Diverse feature visualizations reveal invariances in early
  layers of deep neural networks"; formulated as in Ding et al. 2023, "Bipartite invariance in mouse primary
  visual cortex"): several images per unit, started from independent noise; an image below ``min_fraction``
  of the unit's MEI response climbs the response, one above it minimises its mean cosine similarity to the
  unit's other images with a hinge penalty (weight 10 per unit of relative shortfall) against falling below.
  Each image is its last iterate that met the constraint, else its iterate closest to it; the responses
  reached are reported.

Units of a conv site are channels at the spatial centre (see ``neurosafe.interp``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import xarray as xr
from torch import Tensor
from torch.nn import functional as F

from neurosafe.core import progress
from neurosafe.data.stimuli import StimulusSet
from neurosafe.interp._access import Differentiable, InterpError, differentiable, eval_mode, input_shape, resolve_units

__all__ = ["AscentConfig", "diverse_exciting_inputs", "mei_vs_natural", "most_exciting_inputs",
           "most_inhibitory_inputs"]

_PENALTY = 10.0  # weight of the response constraint of diverse inputs, in units of the similarity


@dataclass(frozen=True)
class AscentConfig:
    """Optimisation settings (Walker et al. 2019 style); ``rms_contrast`` sets the norm budget:
    ||x - 0.5||_2 <= rms_contrast * sqrt(pixels); the default 0.1 is below the median RMS contrast of
    ``natural_patches`` (about 0.16), so an MEI that beats natural images does not do it with more contrast."""

    steps: int = 200
    lr: float = 0.1
    rms_contrast: float = 0.1
    jitter: int = 2
    blur: float = 1.0
    init_candidates: int = 8

    def __post_init__(self) -> None:
        checks = {"steps": self.steps >= 1, "lr": self.lr > 0, "rms_contrast": 0 < self.rms_contrast <= 0.5,
                  "jitter": self.jitter >= 0, "blur": self.blur >= 0, "init_candidates": self.init_candidates >= 1}
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise InterpError(f"invalid MEI settings {bad}: {asdict(self)}")


def _blur(g: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of a (B, C, H, W) tensor, per channel, zero padding."""
    radius = max(1, int(np.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=g.dtype, device=g.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = g.shape[1]
    g = F.conv2d(g, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), padding=(0, radius), groups=c)
    return F.conv2d(g, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), padding=(radius, 0), groups=c)


def _project(d: Tensor, norm: float) -> Tensor:
    d = d.clamp(-0.5, 0.5)
    length = d.flatten(1).norm(dim=1).clamp_min(1e-12)
    return d * (norm / length).clamp(max=1.0).view(-1, 1, 1, 1)


def _picked(forward, x: Tensor, unit_of: Tensor) -> Tensor:
    return forward(x)[torch.arange(len(x), device=x.device), unit_of]


def _similarity(d: Tensor, group: int) -> Tensor:
    """Mean cosine similarity of each image to the other images of its unit (groups of ``group`` in order)."""
    v = F.normalize(d.flatten(1), dim=1).view(-1, group, d[0].numel())
    sim = v @ v.transpose(1, 2)
    return ((sim.sum(2) - 1) / (group - 1)).flatten()


def _noise_starts(forward, unit_of: Tensor, n_images: int, shape, sign: float, norm: float, cfg: AscentConfig,
                  seed: int, device: torch.device) -> Tensor:
    """For each image, the best of ``init_candidates`` white-noise contrast images inside the budget. Image k of
    unit u draws from its own generator seeded by (seed, u, k), so results do not depend on the batching."""
    draws = []
    for b, unit in enumerate(unit_of.tolist()):
        state = np.random.SeedSequence([seed, unit, b % n_images]).generate_state(1)[0]
        draws.append(torch.randn(cfg.init_candidates, *shape, generator=torch.Generator().manual_seed(int(state))))
    cand = torch.stack(draws, 1).flatten(0, 1).to(device)  # candidate-major: (candidates * images, ...)
    cand = _project(cand * norm / np.sqrt(np.prod(shape)), norm)
    with torch.no_grad():
        score = sign * _picked(forward, 0.5 + cand, unit_of.repeat(cfg.init_candidates))
    best = score.view(cfg.init_candidates, len(unit_of)).argmax(0)
    return cand.view(cfg.init_candidates, len(unit_of), *shape)[best, torch.arange(len(unit_of), device=device)]


def _ascend(forward, unit_of: Tensor, start: Tensor, objective, keep, norm: float, cfg: AscentConfig,
            seed: int) -> Tensor:
    """Preconditioned, projected gradient ascent of ``objective(responses, images)`` (per image) from ``start``;
    image b drives unit ``unit_of[b]``. Returns, per image, the iterate (or start) with the highest
    ``keep(responses)`` on the un-jittered image (the latest among equals). The jitter sequence depends only on
    ``seed``, so each image's path does not depend on which other images share its batch."""
    gen = torch.Generator().manual_seed(seed)
    d, kept = start, start.clone()
    with torch.no_grad():
        best = keep(_picked(forward, 0.5 + start, unit_of))
    for step in progress.track(range(cfg.steps), f"gradient ascent ({len(unit_of)} images)"):
        frac = step / cfg.steps
        d.requires_grad_(True)
        dy, dx = (int(v) for v in torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=gen))
        value = objective(_picked(forward, 0.5 + torch.roll(d, (dy, dx), dims=(2, 3)), unit_of), d)
        (grad,) = torch.autograd.grad(value.sum(), d)
        sigma = cfg.blur * (1 - frac)
        if sigma >= 0.1:
            grad = _blur(grad, sigma)
        grad = grad / grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        with torch.no_grad():
            d = _project(d.detach() + cfg.lr * (1 - 0.9 * frac) * norm * grad, norm)
            score = keep(_picked(forward, 0.5 + d, unit_of))
            better = score >= best
            kept[better], best[better] = d[better], score[better]
    return kept


@dataclass
class _Run:
    """What every optimisation needs: the differentiable view, the input shape, the budget, the units."""

    diff: Differentiable
    shape: tuple[int, int, int]
    norm: float
    idx: np.ndarray
    ids: np.ndarray

    def batches(self, batch_size: int | None, n_images: int):
        """Yield (positions in ``idx``, unit of each image) per batch of ``batch_size`` units (None: all)."""
        if batch_size is not None and batch_size < 1:
            raise InterpError(f"batch_size must be >= 1 unit or None; got {batch_size}")
        per = len(self.idx) if batch_size is None else batch_size
        for start in range(0, len(self.idx), per):
            pos = np.arange(start, min(start + per, len(self.idx)))
            yield pos, torch.as_tensor(self.idx[pos], device=self.diff.device).repeat_interleave(n_images)

    def responses(self, d: Tensor, unit_of: Tensor, n_images: int) -> np.ndarray:
        with torch.no_grad():
            return _picked(self.diff.forward, 0.5 + d, unit_of).view(-1, n_images).cpu().numpy().astype(np.float64)

    def coords(self) -> dict:
        return {"neuron_id": ("neuron", self.ids[self.idx].astype(str)), "unit_index": ("neuron", self.idx),
                **_image_coords(self.shape)}


def _setup(subject, site, units, cfg: AscentConfig, image_shape) -> _Run:
    diff = differentiable(subject, site)
    shape = input_shape(diff, image_shape)
    with torch.no_grad(), eval_mode(diff.module):
        n_units = diff.forward(torch.full((1, *shape), 0.5, device=diff.device)).shape[1]
    ids = diff.unit_ids(n_units)
    return _Run(diff, shape, cfg.rms_contrast * float(np.sqrt(np.prod(shape))), resolve_units(units, n_units, ids),
                ids)


def _image_coords(shape) -> dict:
    return {"channel": np.arange(shape[0]), "y": np.arange(shape[1]), "x": np.arange(shape[2])}


def _best_of_seeds(subject, site, units, n_seeds: int, sign: float, cfg: AscentConfig | None, seed: int,
                   batch_size: int | None, image_shape, kind: str) -> xr.Dataset:
    if n_seeds < 1:
        raise InterpError(f"n_seeds must be >= 1; got {n_seeds}")
    cfg = cfg or AscentConfig()
    run = _setup(subject, site, units, cfg, image_shape)
    images = np.empty((len(run.idx), *run.shape), np.float32)
    acts = np.empty((len(run.idx), n_seeds))
    with eval_mode(run.diff.module):
        for pos, unit_of in run.batches(batch_size, n_seeds):
            start = _noise_starts(run.diff.forward, unit_of, n_seeds, run.shape, sign, run.norm, cfg, seed,
                                  run.diff.device)
            d = _ascend(run.diff.forward, unit_of, start, lambda r, _d: sign * r, lambda r: sign * r, run.norm, cfg,
                        seed)
            acts[pos] = run.responses(d, unit_of, n_seeds)
            best = np.argmax(sign * acts[pos], axis=1)
            chosen = (0.5 + d).clamp(0, 1).view(len(pos), n_seeds, *run.shape)[np.arange(len(pos)), best]
            images[pos] = chosen.cpu().numpy()
    best = np.argmax(sign * acts, axis=1)
    return xr.Dataset({"image": (("neuron", "channel", "y", "x"), images),
                       "activation": ("neuron", acts[np.arange(len(best)), best]),
                       "seed_activation": (("neuron", "seed"), acts)},
                      coords=run.coords(), attrs={**asdict(cfg), "seed": seed, "site": str(run.diff.site),
                                                  "norm": run.norm, "kind": kind})


def most_exciting_inputs(subject, site: str | None = None, units=None, *, n_seeds: int = 4,
                         config: AscentConfig | None = None, seed: int = 0, batch_size: int | None = None,
                         image_shape: tuple[int, int, int] | None = None) -> xr.Dataset:
    """MEIs of ``units`` (indices or neuron ids; None: all) of ``site``: Dataset over ``neuron`` with ``image``
    (neuron, channel, y, x; pixel values in [0, 1]), ``activation`` (the unit's response to it) and
    ``seed_activation`` (neuron, seed). ``batch_size``: units per optimisation batch (None: all at once)."""
    return _best_of_seeds(subject, site, units, n_seeds, 1.0, config, seed, batch_size, image_shape, "exciting")


def most_inhibitory_inputs(subject, site: str | None = None, units=None, *, n_seeds: int = 4,
                           config: AscentConfig | None = None, seed: int = 0, batch_size: int | None = None,
                           image_shape: tuple[int, int, int] | None = None) -> xr.Dataset:
    """Most-inhibitory inputs: as :func:`most_exciting_inputs`, minimising the response."""
    return _best_of_seeds(subject, site, units, n_seeds, -1.0, config, seed, batch_size, image_shape, "inhibitory")


def diverse_exciting_inputs(subject, site: str | None = None, units=None, *, n_images: int = 4,
                            min_fraction: float = 0.85, n_seeds: int = 2, config: AscentConfig | None = None,
                            seed: int = 0, batch_size: int | None = None,
                            image_shape: tuple[int, int, int] | None = None) -> xr.Dataset:
    """``n_images`` exciting inputs per unit, as different from each other as the unit allows while each keeps at
    least ``min_fraction`` of the unit's MEI response (see the module docstring): ``image`` (neuron, image,
    channel, y, x), ``activation`` (neuron, image), ``mei_activation`` (neuron), ``fraction`` (neuron, image:
    activation / MEI activation) and ``similarity`` (neuron: mean pairwise cosine similarity of the contrast
    images; near 1 = no invariance found, low = the unit responds to very different images)."""
    if n_images < 2:
        raise InterpError(f"diverse inputs need n_images >= 2; got {n_images}")
    if not 0 < min_fraction <= 1:
        raise InterpError(f"min_fraction must lie in (0, 1]; got {min_fraction}")
    cfg = config or AscentConfig()
    meis = most_exciting_inputs(subject, site, units, n_seeds=n_seeds, config=cfg, seed=seed, batch_size=batch_size,
                                image_shape=image_shape)
    run = _setup(subject, site, meis["unit_index"].values, cfg, image_shape)
    target = torch.as_tensor(meis["activation"].values, dtype=torch.float32, device=run.diff.device)
    images = np.empty((len(run.idx), n_images, *run.shape), np.float32)
    acts = np.empty((len(run.idx), n_images))
    with eval_mode(run.diff.module):
        for pos, unit_of in run.batches(batch_size, n_images):
            goal = (min_fraction * target[torch.as_tensor(pos)]).clamp_min(1e-12).repeat_interleave(n_images)
            start = _noise_starts(run.diff.forward, unit_of, n_images, run.shape, 1.0, run.norm, cfg,
                                  seed + 1, run.diff.device)

            def objective(r, d, goal=goal):  # below the goal: climb; above it: spread out without falling below
                spread = -_similarity(d, n_images) - _PENALTY * torch.relu(1 - r / goal)
                return torch.where(r >= goal, spread, r / goal)

            def feasible(r, goal=goal):  # 0 once the constraint holds (the latest such iterate wins), else -shortfall
                return -torch.relu(1 - r / goal)

            d = _ascend(run.diff.forward, unit_of, start, objective, feasible, run.norm, cfg, seed + 1)
            acts[pos] = run.responses(d, unit_of, n_images)
            images[pos] = (0.5 + d).clamp(0, 1).view(len(pos), n_images, *run.shape).cpu().numpy()
    sim = _similarity(torch.from_numpy(images - 0.5).flatten(0, 1), n_images).view(-1, n_images).mean(1).numpy()
    mei_act = meis["activation"].values
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = acts / mei_act[:, None]
    return xr.Dataset({"image": (("neuron", "image", "channel", "y", "x"), images),
                       "activation": (("neuron", "image"), acts), "mei_activation": ("neuron", mei_act),
                       "fraction": (("neuron", "image"), fraction), "similarity": ("neuron", sim.astype(np.float64))},
                      coords=run.coords(), attrs={**asdict(cfg), "seed": seed, "site": str(run.diff.site),
                                                  "norm": run.norm, "kind": "diverse", "min_fraction": min_fraction})


@torch.no_grad()
def mei_vs_natural(subject, meis: xr.Dataset, stimuli: StimulusSet, site: str | None = None,
                   batch_size: int = 512) -> xr.Dataset:
    """Each unit's response to its MEI vs to its best image in ``stimuli``: ``mei_activation``,
    ``natural_max``, ``best_natural`` (stimulus id), ``ratio`` = MEI / best natural response (Walker et al. 2019's
    validation). ``meis`` is the output of :func:`most_exciting_inputs` for the same subject and site."""
    diff = differentiable(subject, site)
    idx = meis["unit_index"].values
    with eval_mode(diff.module):
        out = []
        for start in range(0, len(stimuli), batch_size):
            x = torch.from_numpy(stimuli.images[start:start + batch_size]).to(diff.device)
            if x.shape[1:] != meis["image"].shape[1:]:
                raise InterpError(f"natural images have shape {tuple(x.shape[1:])}; the MEIs "
                                  f"{tuple(meis['image'].shape[1:])}")
            out.append(diff.forward(x)[:, torch.as_tensor(idx, device=diff.device)].cpu().numpy())
    natural = np.concatenate(out).astype(np.float64)
    best = natural.argmax(0)
    mei = meis["activation"].values
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mei / natural.max(0)
    return xr.Dataset({"mei_activation": ("neuron", mei), "natural_max": ("neuron", natural.max(0)),
                       "best_natural": ("neuron", stimuli.ids[best].astype(str)), "ratio": ("neuron", ratio)},
                      coords={"neuron_id": meis["neuron_id"]})
