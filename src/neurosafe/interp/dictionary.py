"""Sparse dictionaries of activations or recordings: sparse autoencoders and classic dictionary learning.

- ReLU sparse autoencoder (Bricken et al. 2023, "Towards Monosemanticity"): ``f = ReLU(W_enc (x - b_dec) +
  b_enc)``, ``x_hat = W_dec f + b_dec``, loss = MSE + ``l1`` x sum_i |f_i| ||W_dec[:, i]||; decoder columns
  renormalised to unit norm after every step (the "decoder-norm constraint"), and dead-feature resampling: every
  ``resample_every`` steps, latents that did not fire on any of the last ``resample_every`` batches are
  re-initialised towards inputs drawn with probability proportional to their squared reconstruction error
  (encoder row scaled to 0.2 x the mean alive encoder norm, bias 0, as in Bricken et al.).
- TopK sparse autoencoder (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"): ``f = ReLU(TopK(W_enc
  (x - b_dec) + b_enc))``, loss = MSE only; inputs are scaled so that E||x||^2 = d. Simplification: no AuxK
  loss (dead latents are handled by the same resampling as the ReLU variant).
- ``tied=True`` uses W_enc = W_dec^T (one matrix).
- Classic dictionary learning (Olshausen & Field 1996; Mairal et al. 2009) and ICA (Hyvarinen & Oja 2000) are
  scikit-learn's ``DictionaryLearning`` / ``MiniBatchDictionaryLearning`` / ``FastICA``, wrapped in the same
  :class:`Dictionary` interface so that every metric and experiment takes any of them.

Data: activations of any ``DifferentiableSubject`` site (a (B, C, H, W) site gives one sample per position, C
features: the convolutional-SAE convention) or a recording's responses (stimulus x neuron, trial-averaged).
Metrics (Bricken et al.; Gao et al.): fraction of variance explained (FVE), mean L0, dead and dense feature
fractions, and the downstream loss when the site is replaced by its reconstruction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from neurosafe.core import progress as display
from neurosafe.core.hooks import eval_mode, first_tensor, hooked
from neurosafe.core.seeds import child_seed, torch_generator
from neurosafe.data.io import Recording
from neurosafe.data.recording import validate_responses
from neurosafe.interp._access import InterpError, batched_activations, is_recording, subject_site
from neurosafe.subjects import network

__all__ = ["Dictionary", "SAEConfig", "SparseAutoencoder", "dictionary_metrics", "downstream_loss", "fit_sae",
           "learn_dictionary", "site_samples", "to_samples"]

METHODS = ("sae", "topk", "dictionary_learning", "minibatch_dictionary_learning", "ica")


class SAEConfig(BaseModel):
    """Settings of a sparse autoencoder (defaults: a small ReLU SAE)."""

    model_config = ConfigDict(extra="forbid")

    n_latents: int = Field(64, ge=1)
    kind: Literal["relu", "topk"] = "relu"
    k: int = Field(4, ge=1, description="active latents per sample (topk)")
    l1: float = Field(1.0, ge=0, description="L1 coefficient (relu), inputs normalised to E||x - mean||^2 = d")
    tied: bool = False
    unit_norm: bool = True
    lr: float = Field(3e-3, gt=0)
    batch_size: int = Field(256, ge=1)
    epochs: int = Field(30, ge=1)
    resample_every: int | None = Field(500, ge=1, description="steps between dead-feature resamplings; None: never")
    resample_until: float = Field(0.7, ge=0, le=1, description="resample only in this first fraction of training")
    device: str = "auto"


def _device(name: str) -> torch.device:
    from neurosafe.core.devices import resolve_device

    return torch.device(resolve_device(name))


class SparseAutoencoder(nn.Module):
    """A sparse autoencoder over d-dimensional inputs (see the module docstring); ``scale`` is the input
    normalisation (x is divided by it before encoding and the reconstruction multiplied back)."""

    def __init__(self, d: int, config: SAEConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config, self.d = config, d
        m = config.n_latents
        w = torch.randn(d, m, generator=generator)
        w = w / w.norm(dim=0, keepdim=True)
        self.W_dec = nn.Parameter(w)
        self.W_enc = None if config.tied else nn.Parameter(w.t().clone())
        self.b_enc = nn.Parameter(torch.zeros(m))
        self.b_dec = nn.Parameter(torch.zeros(d))
        self.register_buffer("scale", torch.ones(()))

    def encoder(self) -> Tensor:
        return self.W_dec.t() if self.W_enc is None else self.W_enc

    def pre(self, x: Tensor) -> Tensor:
        return (x / self.scale - self.b_dec) @ self.encoder().t() + self.b_enc

    def activate(self, pre: Tensor) -> Tensor:
        if self.config.kind == "topk":
            k = min(self.config.k, pre.shape[-1])
            top = pre.topk(k, dim=-1)
            return torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))
        return torch.relu(pre)

    def encode(self, x: Tensor) -> Tensor:
        """Feature activations (..., n_latents)."""
        return self.activate(self.pre(x))

    def decode(self, f: Tensor) -> Tensor:
        return (f @ self.W_dec.t() + self.b_dec) * self.scale

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f = self.encode(x)
        return self.decode(f), f

    def loss(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(loss, per-sample squared error in normalised units, features)."""
        f = self.encode(x)
        err = ((f @ self.W_dec.t() + self.b_dec - x / self.scale) ** 2).sum(-1)
        loss = err.mean()
        if self.config.kind == "relu" and self.config.l1 > 0:
            loss = loss + self.config.l1 * (f * self.W_dec.norm(dim=0)).sum(-1).mean()
        return loss, err, f

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        if self.config.unit_norm:
            self.W_dec.div_(self.W_dec.norm(dim=0, keepdim=True).clamp_min(1e-12))

    @property
    def atoms(self) -> np.ndarray:
        """Feature directions (n_latents, d), unit norm."""
        w = self.W_dec.detach().t().cpu().double().numpy()
        return w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)


@dataclass
class Dictionary:
    """A learned dictionary: ``atoms`` (n_features, d) unit-norm directions in input space, ``encode`` (numpy (n,
    d) -> (n, n_features)) and ``decode`` (back), the ``method``, and the trained SAE (``module``) when it is one."""

    atoms: np.ndarray
    encode: Callable[[np.ndarray], np.ndarray]
    decode: Callable[[np.ndarray], np.ndarray]
    method: str
    module: SparseAutoencoder | None = None
    history: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.atoms.shape[0])


# ---------------------------------------------------------------------------------------------- data
def to_samples(act: Tensor) -> Tensor:
    """(n, d) samples from a site's activations: (B, C, H, W) -> (B*H*W, C) (one sample per position); (B, D)
    unchanged; other shapes flattened to (B, -1)."""
    if act.ndim == 4:
        return act.permute(0, 2, 3, 1).reshape(-1, act.shape[1])
    return act if act.ndim == 2 else act.flatten(1)


def site_samples(source, site: str | None = None, stimuli=None, batch_size: int = 256) -> np.ndarray:
    """Training data for a dictionary: a recording's trial-averaged responses (stimulus, neuron), or the
    activations of ``site`` of a differentiable subject for ``stimuli`` (see :func:`to_samples`)."""
    if is_recording(source):
        resp = source.responses if isinstance(source, Recording) else source
        if resp is None:
            raise InterpError("the recording holds no responses")
        resp = validate_responses(resp)
        if "repeat" in resp.dims:
            resp = resp.mean("repeat", skipna=True)
        values = resp.transpose("stimulus", "neuron").values.astype(np.float64)
        if not np.isfinite(values).all():
            raise InterpError("the recording has stimuli with no valid trial for some neuron (NaN after averaging)")
        return values
    if stimuli is None:
        raise InterpError("stimuli are needed to take a subject's activations")
    subject, site = subject_site(source, site)
    return to_samples(batched_activations(subject, site, stimuli, batch_size)).cpu().double().numpy()


def _check_data(x) -> np.ndarray:
    if isinstance(x, xr.DataArray | Recording):
        x = site_samples(x)
    x = np.asarray(x.detach().cpu() if isinstance(x, Tensor) else x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise InterpError(f"dictionary data must be (samples, features) with >= 2 samples; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InterpError("dictionary data contain NaN or infinite values")
    return x


# -------------------------------------------------------------------------------------------- training
@torch.no_grad()
def _resample(sae: SparseAutoencoder, dead: Tensor, x: Tensor, gen: torch.Generator) -> None:
    """Bricken et al. 2023's resampling: dead latents point at inputs drawn by squared reconstruction error."""
    _, err, _ = sae.loss(x)
    probs = err.clamp_min(0) + 1e-12
    pick = torch.multinomial(probs.cpu(), int(dead.sum()), replacement=True, generator=gen).to(x.device)
    v = x[pick] / sae.scale - sae.b_dec
    v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sae.W_dec[:, dead] = v.t()
    if sae.W_enc is not None:
        alive = ~dead
        norm = sae.W_enc[alive].norm(dim=1).mean() if alive.any() else torch.tensor(1.0, device=x.device)
        sae.W_enc[dead] = 0.2 * norm * v
    sae.b_enc[dead] = 0.0


def fit_sae(x, config: SAEConfig | None = None, *, seed: int = 0, progress: bool | None = False) -> SparseAutoencoder:
    """Train a sparse autoencoder on ``x`` (samples, d) with Adam; returns the trained module (eval mode) with
    ``history`` (loss per epoch, resamplings) attached."""
    cfg = config or SAEConfig()
    device = _device(cfg.device)
    if isinstance(x, Tensor):  # kept where it is (no copy through numpy); same checks as _check_data
        if x.ndim != 2 or x.shape[0] < 2 or not bool(torch.isfinite(x).all()):
            raise InterpError(f"dictionary data must be finite (samples, features); got shape {tuple(x.shape)}")
        xt = x.detach().to(device=device, dtype=torch.float32)
    else:
        xt = torch.as_tensor(_check_data(x), dtype=torch.float32, device=device)
    gen = torch_generator(seed, "sae init")
    sae = SparseAutoencoder(xt.shape[1], cfg, gen).to(device)
    with torch.no_grad():
        sae.scale.fill_(max(float(torch.sqrt(((xt - xt.mean(0)) ** 2).sum(1).mean() / xt.shape[1])), 1e-12))
        sae.b_dec.copy_(xt.mean(0) / sae.scale)
    sae.normalize_decoder()
    return _train(sae, xt, cfg, seed, progress)


def _train(sae: SparseAutoencoder, xt: Tensor, cfg: SAEConfig, seed: int, progress: bool | None) -> SparseAutoencoder:
    opt = torch.optim.Adam(sae.parameters(), lr=cfg.lr)
    order_gen = torch_generator(seed, "sae batches")
    resample_gen = torch_generator(seed, "sae resampling")
    n, bs = len(xt), min(cfg.batch_size, len(xt))
    steps_per_epoch = max(1, n // bs)
    total = cfg.epochs * steps_per_epoch
    fired = torch.zeros(cfg.n_latents, dtype=torch.bool, device=xt.device)
    history: dict = {"loss": [], "resampled": []}
    step = 0
    sae.train()
    for _epoch in display.track(range(cfg.epochs), "SAE epochs", unit="epoch", show=progress):
        perm = torch.randperm(n, generator=order_gen).to(xt.device)
        running = torch.zeros((), device=xt.device)
        for b in range(steps_per_epoch):
            batch = xt[perm[b * bs:(b + 1) * bs]]
            loss, _err, f = sae.loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sae.normalize_decoder()
            running += loss.detach()
            fired |= (f > 0).any(0)
            step += 1
            if cfg.resample_every and step % cfg.resample_every == 0:
                if step <= cfg.resample_until * total and not fired.all():
                    sub = xt[torch.randperm(n, generator=order_gen)[:min(n, 8192)].to(xt.device)]
                    _resample(sae, ~fired, sub, resample_gen)
                    history["resampled"].append(int((~fired).sum()))
                    opt = torch.optim.Adam(sae.parameters(), lr=cfg.lr)
                fired.zero_()
        history["loss"].append(float(running) / steps_per_epoch)
    sae.eval()
    sae.history = history
    return sae


def _numpy_fn(module: SparseAutoencoder, method: str) -> Callable[[np.ndarray], np.ndarray]:
    dev = next(module.parameters()).device

    @torch.no_grad()
    def fn(a: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(a), dtype=torch.float32, device=dev)
        return getattr(module, method)(t).cpu().double().numpy()
    return fn


def learn_dictionary(x, method: str = "sae", n_features: int = 64, *, seed: int = 0,
                     config: SAEConfig | None = None, alpha: float = 0.1, progress: bool | None = False) -> Dictionary:
    """Learn a dictionary of ``n_features`` atoms from ``x`` (samples, d), a recording, or site samples.

    ``method``: ``"sae"`` (ReLU SAE), ``"topk"`` (TopK SAE; ``config.k``), ``"dictionary_learning"`` /
    ``"minibatch_dictionary_learning"`` (scikit-learn, sparse coding with Lasso-LARS, penalty ``alpha``) or
    ``"ica"`` (scikit-learn FastICA; at most d components). ``config`` overrides the SAE settings.
    """
    if method not in METHODS:
        raise InterpError(f"dictionary method must be one of {METHODS}; got {method!r}")
    if n_features < 1:
        raise InterpError(f"n_features must be >= 1; got {n_features}")
    data = _check_data(x)
    if method in ("sae", "topk"):
        cfg = (config or SAEConfig()).model_copy(update={"n_latents": n_features,
                                                         "kind": "topk" if method == "topk" else "relu"})
        sae = fit_sae(data, cfg, seed=seed, progress=progress)
        return Dictionary(sae.atoms, _numpy_fn(sae, "encode"), _numpy_fn(sae, "decode"), method, sae,
                          getattr(sae, "history", {}))
    rs = child_seed(seed, "dictionary", method) % (2**31)
    mean = data.mean(0)
    if method == "ica":
        from sklearn.decomposition import FastICA

        if n_features > data.shape[1]:
            raise InterpError(f"ICA finds at most d = {data.shape[1]} components; got n_features={n_features}")
        est = FastICA(n_components=n_features, random_state=rs, whiten="unit-variance", max_iter=1000)
        est.fit(data)
        atoms = est.mixing_.T.copy()
        encode, decode = est.transform, est.inverse_transform
    else:
        from sklearn.decomposition import DictionaryLearning, MiniBatchDictionaryLearning

        cls = DictionaryLearning if method == "dictionary_learning" else MiniBatchDictionaryLearning
        extra = {"max_iter": 50} if method == "dictionary_learning" else {"max_iter": 20, "batch_size": 256}
        est = cls(n_components=n_features, alpha=alpha, random_state=rs, transform_algorithm="lasso_lars",
                  transform_alpha=alpha, fit_algorithm="lars" if method == "dictionary_learning" else "cd", **extra)
        est.fit(data - mean)
        atoms = est.components_.copy()
        encode = lambda a: est.transform(np.asarray(a) - mean)  # noqa: E731
        decode = lambda f: np.asarray(f) @ est.components_ + mean  # noqa: E731
    atoms = atoms / np.maximum(np.linalg.norm(atoms, axis=1, keepdims=True), 1e-12)
    return Dictionary(atoms, encode, decode, method)


# --------------------------------------------------------------------------------------------- metrics
def dictionary_metrics(dictionary: Dictionary, x, dense_threshold: float = 0.1) -> dict[str, float]:
    """Reconstruction and sparsity of ``dictionary`` on ``x``: ``fve`` = 1 - SSE / total SS (about the mean),
    ``l0`` (mean active features per sample), ``dead_fraction`` (features never active on ``x``) and
    ``dense_fraction`` (features active on more than ``dense_threshold`` of samples)."""
    data = _check_data(x)
    f = dictionary.encode(data)
    rec = dictionary.decode(f)
    sse = ((data - rec) ** 2).sum()
    sst = ((data - data.mean(0)) ** 2).sum()
    active = np.abs(f) > 1e-8
    freq = active.mean(0)
    return {"fve": float(1 - sse / max(sst, 1e-300)), "l0": float(active.sum(1).mean()),
            "dead_fraction": float((freq == 0).mean()), "dense_fraction": float((freq > dense_threshold).mean()),
            "n_features": dictionary.n_features, "n_samples": len(data)}


def _reconstruct(dictionary: Dictionary, out: Tensor) -> Tensor:
    """The site output with every sample replaced by its reconstruction (4D: per position)."""
    samples = to_samples(out)
    if dictionary.module is not None:
        rec = dictionary.module.to(out.device)(samples.float())[0].to(out.dtype)
    else:
        arr = dictionary.decode(dictionary.encode(samples.detach().cpu().double().numpy()))
        rec = torch.as_tensor(arr, dtype=out.dtype, device=out.device)
    if out.ndim == 4:
        b, c, h, w = out.shape
        return rec.view(b, h, w, c).permute(0, 3, 1, 2)
    return rec.view_as(out)


@torch.no_grad()
def downstream_loss(subject, site: str, dictionary: Dictionary, inputs, loss: Callable[[Tensor], Tensor],
                    batch_size: int = 256) -> dict[str, float]:
    """The loss of the subject's output when ``site`` is replaced by its reconstruction (a forward hook), next to
    the clean loss and the loss with the site zeroed (Bricken et al. 2023's "loss recovered" =
    (zero - spliced) / (zero - clean)). ``loss(output) -> scalar`` (e.g. cross-entropy against labels)."""
    from neurosafe.interp._access import as_tensor_images

    subj, site = subject_site(subject, site)
    root = network(subj)
    if root is None or site not in dict(root.named_modules()):
        raise InterpError(f"site {site!r} is not a module of {type(subject).__name__}'s network; cannot splice it")
    x = as_tensor_images(inputs, subj.device)
    output = tuple(subj.sites)[-1]

    def run() -> float:
        outs = torch.cat([subj.activations(x[i:i + batch_size], [output])[output]
                          for i in range(0, len(x), batch_size)])
        return float(loss(outs))

    def replace(fn):
        def hook(_m, _i, out):
            t = first_tensor(out)
            return fn(t)
        return hook

    with eval_mode(root):
        clean = run()
        with hooked(root, {site: replace(lambda t: _reconstruct(dictionary, t))}):
            spliced = run()
        with hooked(root, {site: replace(torch.zeros_like)}):
            zero = run()
    denom = zero - clean
    return {"clean": clean, "spliced": spliced, "zero_ablated": zero,
            "loss_recovered": float((zero - spliced) / denom) if abs(denom) > 1e-12 else float("nan")}
