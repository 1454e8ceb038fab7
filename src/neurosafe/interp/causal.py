"""Causal interventions beyond lesions: activation patching, causal mediation and stimulation.

- **Activation patching** (interchange intervention; Vig et al. 2020, Geiger et al. 2021, Meng et al. 2022): run a
  *base* input with the activations of a site on some *component* replaced by their values on a paired *source*
  input, and measure the change of a readout. A component is a set of units (indices along the site's channel or
  feature dim; a conv channel at every position), a subspace (an orthonormal basis ``Q`` (d, k): ``a' = a +
  (a_src - a) Q Q^T``) or features of a :class:`~neurosafe.interp.dictionary.Dictionary` (their activations are
  swapped and the change is added through the decoder, so the dictionary's reconstruction error is kept).
- **Causal mediation** (Pearl 2001; Vig et al. 2020, "Investigating gender bias in language models using causal
  mediation analysis"): total effect TE = y(source) - y(base); natural indirect effect NIE = y(base, component set
  to its source value) - y(base); natural direct effect NDE = y(source, component held at its base value) -
  y(base).
- **Stimulation** (microstimulation's analogue; activation steering, Turner et al. 2023): add ``dose x direction``
  (a unit vector in the site's feature space, e.g. a dictionary atom) to the site and measure the readout
  change; a dose-response curve with a CI per dose.

Every effect is a per-pair (or per-input) value; its mean is a ``metrics.Score`` with a percentile bootstrap CI over
pairs (``metrics.mean_score``; same seed -> same resamples, so effects can be differenced with
``metrics.paired_difference``). :class:`PlantedCircuit` is a hand-built network in which one known path carries
one known variable: the validation of all three methods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import xarray as xr
from torch import Tensor, nn

from neurosafe.core.hooks import eval_mode, first_tensor, hooked
from neurosafe.core.seeds import make_rng
from neurosafe.interp._access import InterpError, as_tensor_images, batched_activations
from neurosafe.interp.dictionary import Dictionary
from neurosafe.interp.lesion import hook_point
from neurosafe.metrics.score import Score, mean_score

__all__ = ["PlantedCircuit", "intervene", "mediation", "patch", "patching_effect", "planted_pairs", "random_units",
           "stimulate"]

Readout = int | Callable[[Tensor], Tensor]


# ------------------------------------------------------------------------------------------ components
def _channels_last(a: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, H, W, C); (B, D) unchanged; else flattened to (B, D)."""
    if a.ndim == 4:
        return a.permute(0, 2, 3, 1)
    return a if a.ndim == 2 else a.flatten(1)


def _restore(v: Tensor, like: Tensor) -> Tensor:
    return v.permute(0, 3, 1, 2) if like.ndim == 4 else v.reshape(like.shape)


def _component(units, subspace, dictionary, features, width: int) -> Callable[[Tensor, Tensor], Tensor]:
    """``fn(a, s) -> a'``: ``a`` with the component set to its value in ``s`` (both channels-last)."""
    given = sum(x is not None for x in (units, subspace, dictionary))
    if given != 1:
        raise InterpError("give exactly one component: units=..., subspace=... or dictionary=... (+ features=...)")
    if units is not None:
        idx = np.atleast_1d(np.asarray(units, dtype=int))
        if not len(idx) or idx.min() < 0 or idx.max() >= width:
            raise InterpError(f"units must be non-empty indices in [0, {width}); got {idx.tolist()}")

        def fn(a, s):
            out = a.clone()
            out[..., idx] = s[..., idx]
            return out
        return fn
    if subspace is not None:
        q = torch.as_tensor(np.asarray(subspace, float), dtype=torch.float32)
        q = q[:, None] if q.ndim == 1 else q
        if q.ndim != 2 or q.shape[0] != width:
            raise InterpError(f"subspace must be a basis (d={width}, k); got shape {tuple(q.shape)}")
        q, _ = torch.linalg.qr(q)
        return lambda a, s: a + (s - a) @ q.to(a) @ q.to(a).t()
    if dictionary.atoms.shape[1] != width:
        raise InterpError(f"the dictionary has atoms of dimension {dictionary.atoms.shape[1]}; the site {width}")
    feats = np.atleast_1d(np.asarray(range(dictionary.n_features) if features is None else features, dtype=int))
    if not len(feats) or feats.min() < 0 or feats.max() >= dictionary.n_features:
        raise InterpError(f"features must be indices in [0, {dictionary.n_features}); got {feats.tolist()}")

    def fn(a, s):
        flat_a, flat_s = a.reshape(-1, width), s.reshape(-1, width)
        fa, fs = _encode(dictionary, flat_a), _encode(dictionary, flat_s)
        mixed = fa.clone()
        mixed[:, feats] = fs[:, feats]
        return (a + (_decode(dictionary, mixed) - _decode(dictionary, fa)).reshape(a.shape)).to(a.dtype)
    return fn


def _encode(d: Dictionary, a: Tensor) -> Tensor:
    if d.module is not None:
        return d.module.to(a.device).encode(a.float())
    return torch.as_tensor(d.encode(a.detach().cpu().double().numpy()), dtype=torch.float32, device=a.device)


def _decode(d: Dictionary, f: Tensor) -> Tensor:
    if d.module is not None:
        return d.module.decode(f)
    return torch.as_tensor(d.decode(f.detach().cpu().double().numpy()), dtype=torch.float32, device=f.device)


def _readout(readout: Readout) -> Callable[[Tensor], Tensor]:
    if callable(readout):
        return readout
    return lambda out: out.flatten(1)[:, int(readout)]


def _check_pairs(base, source) -> None:
    if len(base) != len(source):
        raise InterpError(f"base and source inputs must be paired (equal counts); got {len(base)} and {len(source)}")
    if len(base) < 2:
        raise InterpError(f"need at least 2 input pairs for a CI; got {len(base)}")


@torch.no_grad()
def intervene(subject, site: str, inputs, edit: Callable[[Tensor, slice], Tensor], readout: Readout = 0,
              batch_size: int = 256) -> np.ndarray:
    """The readout (one value per input) when the output of ``site`` is replaced by ``edit(activation, rows)``
    (``rows``: the slice of ``inputs`` in the current batch) during the forward pass."""
    subj, root, name, _site = hook_point(subject, site)
    x = as_tensor_images(inputs, subj.device)
    output = tuple(subj.sites)[-1]
    read = _readout(readout)
    rows = {"now": slice(0, 0)}

    def hook(_m, _i, out):
        return edit(first_tensor(out), rows["now"])

    values = []
    with eval_mode(root), hooked(root, {name: hook}):
        for i in range(0, len(x), batch_size):
            rows["now"] = slice(i, min(i + batch_size, len(x)))
            values.append(read(subj.activations(x[rows["now"]], [output])[output]).flatten())
    return torch.cat(values).cpu().double().numpy()


@torch.no_grad()
def _plain(subject, inputs, readout: Readout, batch_size: int = 256) -> np.ndarray:
    subj, root, _name, _site = hook_point(subject, None)
    x = as_tensor_images(inputs, subj.device)
    output = tuple(subj.sites)[-1]
    read = _readout(readout)
    with eval_mode(root):
        return torch.cat([read(subj.activations(x[i:i + batch_size], [output])[output]).flatten()
                          for i in range(0, len(x), batch_size)]).cpu().double().numpy()


def _swap_edit(subject, site, donor_inputs, units, subspace, dictionary, features, batch_size):
    subj, _root, _name, site = hook_point(subject, site)
    donor = batched_activations(subj, site, donor_inputs, batch_size)
    width = _channels_last(donor).shape[-1]
    swap = _component(units, subspace, dictionary, features, width)

    def edit(a: Tensor, rows: slice) -> Tensor:
        return _restore(swap(_channels_last(a), _channels_last(donor[rows].to(a))), a)
    return edit


def patch(subject, site: str, base, source, *, units: Sequence[int] | None = None, subspace=None,
          dictionary: Dictionary | None = None, features: Sequence[int] | None = None, readout: Readout = 0,
          batch_size: int = 256) -> np.ndarray:
    """The readout of each ``base`` input with the component of ``site`` patched in from its paired ``source``."""
    _check_pairs(base, source)
    edit = _swap_edit(subject, site, source, units, subspace, dictionary, features, batch_size)
    return intervene(subject, site, base, edit, readout, batch_size)


def patching_effect(subject, site: str, base, source, *, units: Sequence[int] | None = None, subspace=None,
                    dictionary: Dictionary | None = None, features: Sequence[int] | None = None,
                    readout: Readout = 0, n_boot: int = 1000, seed: int = 0, batch_size: int = 256) -> Score:
    """Mean change of the readout when the component is patched from source into base, with a bootstrap CI over
    pairs (``per_unit``-free Score; ``provenance`` names the site and component)."""
    patched = patch(subject, site, base, source, units=units, subspace=subspace, dictionary=dictionary,
                    features=features, readout=readout, batch_size=batch_size)
    effect = patched - _plain(subject, base, readout, batch_size)
    return mean_score(effect, "patching effect", seed=seed, n_boot=n_boot, site=str(site),
                      component=_describe(units, subspace, dictionary, features))


def _describe(units, subspace, dictionary, features) -> dict:
    if units is not None:
        return {"units": [int(u) for u in np.atleast_1d(units)]}
    if subspace is not None:
        return {"subspace_rank": int(np.atleast_2d(np.asarray(subspace).T).shape[0])}
    return {"dictionary": dictionary.method, "features": None if features is None else [int(f) for f in features]}


def mediation(subject, site: str, base, source, *, units: Sequence[int] | None = None, subspace=None,
              dictionary: Dictionary | None = None, features: Sequence[int] | None = None, readout: Readout = 0,
              n_boot: int = 1000, seed: int = 0, batch_size: int = 256) -> dict[str, Score]:
    """Total, natural indirect (through the component) and natural direct effects of changing base -> source
    (Pearl 2001; Vig et al. 2020), each a Score with a bootstrap CI over pairs (paired resamples)."""
    _check_pairs(base, source)
    y_base = _plain(subject, base, readout, batch_size)
    y_source = _plain(subject, source, readout, batch_size)
    kw = {"units": units, "subspace": subspace, "dictionary": dictionary, "features": features}
    indirect = intervene(subject, site, base, _swap_edit(subject, site, source, batch_size=batch_size, **kw),
                         readout, batch_size)
    direct = intervene(subject, site, source, _swap_edit(subject, site, base, batch_size=batch_size, **kw),
                       readout, batch_size)
    comp = _describe(units, subspace, dictionary, features)
    return {name: mean_score(v - y_base, f"{name} effect", seed=seed, n_boot=n_boot, site=str(site), component=comp)
            for name, v in (("total", y_source), ("indirect", indirect), ("direct", direct))}


def stimulate(subject, site: str, direction, inputs, doses: Sequence[float] = (0, 0.5, 1, 2, 4), *,
              readout: Readout = 0, units: Sequence[int] | None = None, n_boot: int = 1000, seed: int = 0,
              batch_size: int = 256) -> xr.Dataset:
    """Dose-response of stimulation: ``dose x direction`` added to ``site`` (every position of a conv site;
    ``direction``: a (d,) vector, normalised to unit length, or None with ``units`` for the sum of unit vectors
    of those units, normalised). Returns ``effect``, ``ci_low``, ``ci_high`` over ``dose`` (mean readout change
    over inputs, bootstrap CI over inputs; same resamples for every dose)."""
    subj, _root, _name, site = hook_point(subject, site)
    probe = batched_activations(subj, site, as_tensor_images(inputs, subj.device)[:1])
    width = _channels_last(probe).shape[-1]
    if direction is None:
        if units is None:
            raise InterpError("give a direction or units to stimulate")
        direction = np.zeros(width)
        direction[np.atleast_1d(np.asarray(units, dtype=int))] = 1.0
    v = np.asarray(direction, float).ravel()
    if v.shape != (width,) or not np.isfinite(v).all() or np.linalg.norm(v) == 0:
        raise InterpError(f"direction must be a finite, non-zero vector of length {width}; got shape {v.shape}")
    if len(inputs) < 2:
        raise InterpError("stimulation needs at least 2 inputs for a CI")
    vt = torch.as_tensor(v / np.linalg.norm(v), dtype=torch.float32, device=subj.device)
    y0 = _plain(subject, inputs, readout, batch_size)
    rows = []
    for dose in doses:
        def edit(a, _rows, dose=dose):
            return _restore(_channels_last(a) + float(dose) * vt.to(a), a)
        rows.append(mean_score(intervene(subject, site, inputs, edit, readout, batch_size) - y0, "stimulation effect",
                               seed=seed, n_boot=n_boot, dose=float(dose)))
    ci = np.array([s.ci for s in rows], dtype=float)
    return xr.Dataset({"effect": ("dose", [s.value for s in rows]), "ci_low": ("dose", ci[:, 0]),
                       "ci_high": ("dose", ci[:, 1])}, coords={"dose": np.asarray(doses, float)},
                      attrs={"site": str(site), "n_inputs": len(inputs), "seed": seed, "n_boot": n_boot})


# -------------------------------------------------------------------------------------- planted circuit
class PlantedCircuit(nn.Module):
    """A hand-built network in which one known path carries one known variable (validation of patching).

    Input: images (B, 1, 4, 4) in [0, 1]; the variable is pixel (0, 0). ``hidden1`` (Linear 16 -> 24) + ``act1``:
    units ``path["act1"]`` = 0..3 read only the variable (weight 2); the other 20 read random other pixels
    (positive weights) with random biases. ``hidden2`` (24 -> 12) + ``act2``: units ``path["act2"]`` = 0..2 read only
    the planted units; the rest read only non-planted units. ``output`` (12 -> 2): output 0 = sum of the planted
    ``act2`` units + ``leak`` x a random signed mix of the others (so patching a non-planted path does change output
    0 on single pairs, with zero mean); output 1 reads only the non-planted units.
    """

    def __init__(self, seed: int = 0, leak: float = 0.3):
        super().__init__()
        rng = make_rng(seed, "planted circuit")
        self.hidden1, self.act1 = nn.Linear(16, 24), nn.ReLU()
        self.hidden2, self.act2 = nn.Linear(24, 12), nn.ReLU()
        self.output = nn.Linear(12, 2)
        w1, b1 = np.zeros((24, 16)), np.zeros(24)
        w1[:4, 0] = 2.0
        for j in range(4, 24):
            w1[j, rng.choice(np.arange(1, 16), 3, replace=False)] = rng.uniform(0.5, 1.5, 3)
            b1[j] = rng.uniform(-0.5, 0.0)
        w2, b2 = np.zeros((12, 24)), np.zeros(12)
        w2[:3, :4] = rng.uniform(0.5, 1.0, (3, 4))
        w2[3:, 4:] = rng.uniform(-0.5, 1.0, (9, 20))
        b2[3:] = rng.uniform(0.0, 0.5, 9)
        w3 = np.zeros((2, 12))
        w3[0, :3] = 1.0
        w3[0, 3:] = leak * rng.choice([-1.0, 1.0], 9) * rng.uniform(0.5, 1.5, 9)
        w3[1, 3:] = rng.uniform(0.5, 1.5, 9)
        with torch.no_grad():
            for layer, w, b in ((self.hidden1, w1, b1), (self.hidden2, w2, b2), (self.output, w3, np.zeros(2))):
                layer.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
                layer.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
        self.path = {"act1": [0, 1, 2, 3], "act2": [0, 1, 2]}
        self.widths = {"act1": 24, "act2": 12}

    def forward(self, x: Tensor) -> Tensor:
        return self.output(self.act2(self.hidden2(self.act1(self.hidden1(x.flatten(1))))))


def planted_pairs(n_pairs: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(base, source) inputs for :class:`PlantedCircuit`: the variable (pixel (0, 0)) is low in base (U(0, 0.25)) and
    high in source (U(0.75, 1)); every other pixel is drawn independently, U(0, 1), for each input."""
    rng = make_rng(seed, "planted pairs")
    base = rng.random((n_pairs, 1, 4, 4)).astype(np.float32)
    source = rng.random((n_pairs, 1, 4, 4)).astype(np.float32)
    base[:, 0, 0, 0] = rng.uniform(0.0, 0.25, n_pairs)
    source[:, 0, 0, 0] = rng.uniform(0.75, 1.0, n_pairs)
    return base, source


def random_units(width: int, size: int, exclude: Sequence[int] = (), seed: int = 0) -> list[int]:
    """``size`` units drawn at random (seeded) from ``range(width)`` minus ``exclude``: the control path."""
    pool = np.setdiff1d(np.arange(width), np.asarray(exclude, dtype=int))
    if size > len(pool):
        raise InterpError(f"cannot draw {size} units from {len(pool)} candidates")
    return sorted(int(u) for u in make_rng(seed, "random path").choice(pool, size, replace=False))
