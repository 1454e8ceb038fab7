"""``fit_twin``: train a digital twin on recordings (Poisson loss, Adam, early stopping, checkpoints).

Training follows Lurz et al. 2021 (ICLR) and neuralpredictors: Poisson negative log-likelihood (or a
Gaussian / squared-error option) summed over neurons, the core's and readout's penalties added, Adam,
learning-rate decay when the validation correlation plateaus, early stopping on it, and the best state
restored at the end. Without per-trial inputs the model is trained on repeat averages, which for the
Poisson loss equals training on every trial (the loss is linear in the counts); with eye position or
behaviour inputs it is trained on single trials.

Reproducibility: every random choice derives from ``seed``; each epoch re-seeds torch's generator from
(seed, epoch) inside ``torch.random.fork_rng``, so a fit resumed from a checkpoint after epoch k ends with
the same weights as an uninterrupted fit (and the caller's global RNG state is untouched).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from neurosafe.core import progress as display
from neurosafe.core.checkpoint import fingerprint as run_fingerprint
from neurosafe.core.checkpoint import load_checkpoint, save_checkpoint
from neurosafe.core.devices import resolve_device
from neurosafe.core.hashing import state_hash
from neurosafe.data.recording import validate_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.twin.config import TwinConfig, TwinTrainConfig
from neurosafe.twin.cores import FeatureSubject
from neurosafe.twin.errors import TwinError
from neurosafe.twin.model import DigitalTwin, TwinNetwork, inverse_output, translate, trial_inputs

__all__ = ["EpochReport", "fit_twin", "transfer_twin"]

DEFAULT_SESSION = "default"
CHECKPOINT = "checkpoint.pt"
_MIN_STIMULI = 10
_CACHE_LIMIT_BYTES = 2**31


@dataclass(frozen=True)
class EpochReport:
    """What a callback sees after each epoch (the checkpoint is already written)."""

    epoch: int
    train_loss: float
    val_correlation: float
    lr: float
    best_epoch: int
    stopping: bool


@dataclass
class _Data:
    """One session's training samples on the device."""

    images: torch.Tensor  # preprocessed (S, c, h, w), their cached ``core.encode`` when ``encoded``, or the
    encoded: bool         # frozen core's whole output when ``features``
    stimulus: torch.Tensor  # (M,) index into images
    targets: torch.Tensor  # (M, N), NaN -> 0
    mask: torch.Tensor  # (M, N) valid
    dense: bool  # every target valid: the loss skips the mask
    inputs: torch.Tensor | None  # (M, k)
    train: torch.Tensor  # sample indices
    val: torch.Tensor
    weights: torch.Tensor | None  # (N,) per-neuron loss weights (per-session normalisation; None when off)
    features: bool = False


@dataclass
class _State:
    """Everything besides the weights that a checkpoint must restore."""

    epoch: int = 0
    best: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    lr_bad_epochs: int = 0
    lr_decays: int = 0
    finished: bool = False
    history: list = field(default_factory=list)


# ------------------------------------------------------------------------------------------ inputs
def _sessions(stimuli, responses) -> dict[str, tuple[StimulusSet, xr.DataArray]]:
    """Normalise (stimuli, responses) to {session: (aligned stimuli, validated responses)}."""
    if isinstance(responses, xr.DataArray):
        responses = {DEFAULT_SESSION: responses}
    if not isinstance(responses, Mapping) or not responses:
        raise TwinError("responses must be a DataArray or a non-empty mapping {session: DataArray}")
    out = {}
    for name, resp in responses.items():
        if not isinstance(name, str) or not name or "." in name:
            raise TwinError(f"session names must be non-empty strings without '.'; got {name!r}")
        resp = validate_responses(resp)
        if "time" in resp.dims:
            raise TwinError(f"session {name!r}: reduce the 'time' dim first (e.g. sum spike counts over a window)")
        stim = stimuli[name] if isinstance(stimuli, Mapping) else stimuli
        if not isinstance(stim, StimulusSet):
            raise TwinError(f"session {name!r}: stimuli must be a StimulusSet; got {type(stim).__name__}")
        out[name] = (stim.aligned_to(resp), resp)
    shapes = {n: s.shape[1:] for n, (s, _) in out.items()}
    if len({sh[1:] for sh in shapes.values()}) > 1:
        raise TwinError(f"all sessions need stimuli of one size; got {shapes}")
    counts = Counter(str(i) for _, r in out.values() for i in r.neuron_id.values)
    dup = sorted(i for i, c in counts.items() if c > 1)
    if dup:
        raise TwinError(f"neuron ids must be unique across sessions; repeated: {dup[:5]}")
    return out


def _samples(resp: xr.DataArray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(stimulus index, targets (M, N) with NaN, inputs (M, k) or None): repeat averages, or single
    trials when the twin reads per-trial inputs."""
    values = resp.values if "repeat" in resp.dims else resp.values[..., None]  # (S, N, R)
    s, _, r = values.shape
    if not names:
        if r == 1:
            return np.arange(s), values[..., 0].astype(np.float64), None
        valid = np.isfinite(values)
        if valid.all():
            return np.arange(s), values.mean(axis=2), None
        with np.errstate(invalid="ignore"):  # no valid repeat: NaN, masked out of the loss
            mean = np.where(valid, values, 0).sum(2) / valid.sum(2)
        return np.arange(s), mean, None
    inputs = trial_inputs(resp, names)
    trials = values.transpose(0, 2, 1).reshape(s * r, -1)
    keep = np.isfinite(trials).any(1)
    return np.repeat(np.arange(s), r)[keep], trials[keep], inputs.reshape(s * r, -1)[keep]


def _fingerprint(data: Mapping[str, tuple[StimulusSet, xr.DataArray]], config: TwinConfig, seed: int,
                 validation) -> str:
    """Hash of data, config (minus run-only options), seed and code: a checkpoint resumes only the same fit."""
    cfg = config.to_dict()
    for key in ("epochs", "progress", "device"):
        cfg["train"].pop(key)
    parts = [cfg, seed, json.dumps(validation, sort_keys=True, default=list)]
    for name, (stim, resp) in sorted(data.items()):
        parts += [name, resp, stim.images]
    return run_fingerprint(*parts)


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device, *keys: int) -> Iterator[None]:
    """Seed torch from (seed, *keys) inside ``fork_rng`` (the caller's RNG state is restored after)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0]))
        yield


# ------------------------------------------------------------------------------------------ fitting
def _validation_masks(data, config: TwinConfig, seed: int, validation) -> dict[str, np.ndarray]:
    """Per session, which stimuli validate: the given ids, or a seeded ``val_fraction`` of them."""
    rng = np.random.default_rng(seed)
    if validation is not None and not isinstance(validation, Mapping):
        validation = {name: validation for name in data}
    splits = {}
    for name, (stim, _) in data.items():
        n = len(stim)
        if validation is not None and name in validation:
            val = np.isin(stim.ids.astype(str), [str(i) for i in validation[name]])
            if val.sum() < 3 or n - val.sum() < 2:
                raise TwinError(f"session {name!r}: the validation ids select {val.sum()} of {n} stimuli; "
                                "need >= 3 for validation and >= 2 left for training")
        else:
            n_val = max(2, round(config.train.val_fraction * n))
            if n < _MIN_STIMULI or n - n_val < 2:
                raise TwinError(f"session {name!r} has {n} stimuli; fitting a twin needs at least {_MIN_STIMULI}")
            val = np.zeros(n, bool)
            val[rng.choice(n, n_val, replace=False)] = True
        splits[name] = val
    return splits


def _prepare(network: TwinNetwork, data, config: TwinConfig, seed: int, device, validation,
             frozen_core: bool = False) -> dict[str, _Data]:
    """Split stimuli into train/validation, set input statistics and readout biases. With ``frozen_core``
    (transfer) the core and its input statistics are kept and its output is computed once."""
    splits = _validation_masks(data, config, seed, validation)
    with torch.no_grad():
        raw = {name: torch.from_numpy(stim.images) for name, (stim, _) in data.items()}
        pre = {name: network.preprocess(x) for name, x in raw.items()}
        if network.preprocess.standardize and not frozen_core:
            train_px = torch.cat([pre[n][~torch.from_numpy(splits[n])].flatten() for n in data])
            network.preprocess.mean.fill_(train_px.mean())
            network.preprocess.std.fill_(train_px.std().clamp_min(1e-8))
    out = {}
    for name, (_, resp) in data.items():
        stim_idx, targets, inputs = _samples(resp, network.config.behaviour_inputs)
        is_val = splits[name][stim_idx]
        if config.train.loss == "poisson" and np.nanmin(targets) < 0:
            raise TwinError(f"session {name!r}: the Poisson loss needs non-negative responses (counts); "
                            "use train.loss='gaussian' for signed data")
        mask = np.isfinite(targets)
        standardized = ((pre[name] - network.preprocess.mean) / network.preprocess.std).to(device)
        cache_core = frozen_core and not config.train.augment_shift  # augmented images pass the frozen core
        images, encoded = _encode_once(network, standardized, 4 * config.train.batch_size, cache_core)
        train_idx = np.flatnonzero(~is_val)
        d = _Data(
            images=images, encoded=encoded, stimulus=torch.from_numpy(stim_idx).to(device),
            targets=torch.from_numpy(np.where(mask, targets, 0)).float().to(device),
            mask=torch.from_numpy(mask).to(device), dense=bool(mask.all()),
            inputs=None if inputs is None else torch.from_numpy(inputs).float().to(device),
            train=torch.from_numpy(train_idx),
            val=torch.from_numpy(np.flatnonzero(is_val)),
            weights=None if not config.train.normalize else _loss_weights(targets[train_idx], config).to(device),
            features=cache_core,
        )
        with torch.no_grad():
            t, m = d.targets[d.train], d.mask[d.train].float()
            mean_rate = (t * m).sum(0) / m.sum(0).clamp_min(1)
            network.readouts[name].bias.copy_(inverse_output(mean_rate, config.output))
            if inputs is not None:
                x = d.inputs[d.train]
                n_eye = len(config.shifter)
                for mods, part in ((network.shifters, x[:, :n_eye]), (network.modulators, x[:, n_eye:])):
                    if len(mods):
                        mods[name].center.copy_(part.mean(0))
                        mods[name].scale.copy_(part.std(0).clamp_min(1e-6))
        out[name] = d
    return out


def _loss_weights(targets: np.ndarray, config: TwinConfig) -> torch.Tensor:
    """Per-neuron loss weights: with ``train.normalize`` each neuron's loss is divided by its training
    variance (Gaussian loss: the loss of z-scored responses) or mean (Poisson: its deviance scale), so
    sessions and neurons of different rates weigh alike in a shared core; else ones."""
    n = targets.shape[1]
    if not config.train.normalize:
        return torch.ones(n)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanvar(targets, axis=0) if config.train.loss == "gaussian" else np.nanmean(targets, axis=0)
    scale = np.where(np.isfinite(scale), scale, 1.0)
    floor = max(float(np.median(scale)) * 1e-2, 1e-6)
    return torch.from_numpy(1.0 / np.maximum(scale, floor)).float()


def _encode_once(network: TwinNetwork, images: torch.Tensor, batch_size: int,
                 frozen_core: bool = False) -> tuple[torch.Tensor, bool]:
    """Cache the core's fixed part over all stimuli when it has one (a frozen network) and it fits; with
    ``frozen_core`` the whole core's output (evaluation mode)."""
    core = network.core
    if frozen_core:
        core.eval()
        with torch.no_grad():
            return torch.cat([core.head(core.encode(x)) for x in images.split(batch_size)]), True
    if not core.frozen_encoder:
        return images, False
    with torch.no_grad():
        size = core.encode(images[:1]).numel() * 4 * len(images)
        if size > _CACHE_LIMIT_BYTES:
            return images, False
        return torch.cat([core.encode(x) for x in images.split(batch_size)]), True


def _loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None, kind: str,
          weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample loss summed over (valid, weighted) neurons, averaged over the batch (``mask`` None: all
    valid)."""
    per = pred - target * torch.log(pred + 1e-8) if kind == "poisson" else 0.5 * (pred - target) ** 2
    if mask is not None:
        per = per * mask
    if weights is not None:
        per = per * weights
    return per.sum(1).mean()


def _batch_pred(network: TwinNetwork, d: _Data, session: str, idx: torch.Tensor, augment: int = 0) -> torch.Tensor:
    """Rates for samples ``idx``; ``augment`` > 0 translates each image by up to that many pixels and moves
    the readout positions with it (see :func:`neurosafe.twin.model.translate`)."""
    x = d.images[d.stimulus[idx]]
    inputs = None if d.inputs is None else d.inputs[idx]
    if d.features:
        return network.from_features(x, session, inputs)
    shift = None
    if augment:
        x, shift = translate(x, augment)
    encoded = x if d.encoded else network.core.encode(x)
    return network.from_encoded(encoded, session, inputs, shift)


def _train_epoch(network, optimizer, data: dict[str, _Data], config: TwinConfig, frozen_core: bool) -> float:
    """One pass over every session's training samples, batches of all sessions in random order. One
    objective (loss + the core's and readout's penalties, each computed once) and one optimizer step per
    batch; the loss is summed on the device and read once per epoch (no per-batch synchronisation)."""
    network.train()
    if frozen_core:
        network.core.eval()  # a frozen core keeps its batch-norm statistics
    batches = []
    for name, d in data.items():
        perm = d.train[torch.randperm(len(d.train))]
        batches += [(name, idx) for idx in perm.split(config.train.batch_size)]
    device = next(iter(data.values())).targets.device
    total = torch.zeros((), device=device)
    augment = config.train.augment_shift
    mixed = config.train.precision == "bfloat16"
    for k in torch.randperm(len(batches)).tolist():
        name, idx = batches[k]
        d = data[name]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mixed):
            pred = _batch_pred(network, d, name, idx, augment)
        loss = _loss(pred.float(), d.targets[idx], None if d.dense else d.mask[idx], config.train.loss, d.weights)
        objective = loss + (network.readouts[name].regularizer() if frozen_core else network.regularizer(name))
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        total += loss.detach() * len(idx)
    return float(total) / sum(len(d.train) for d in data.values())


def masked_correlation(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pearson r per column over valid rows (NaN where undefined)."""
    m = mask.double()
    n = m.sum(0)
    p, t = pred.double() * m, target.double() * m
    pc = (p - p.sum(0) / n) * m
    tc = (t - t.sum(0) / n) * m
    denom = (pc.pow(2).sum(0) * tc.pow(2).sum(0)).sqrt()
    r = (pc * tc).sum(0) / denom
    return torch.where((denom > 1e-12) & (n >= 3), r, torch.full_like(r, float("nan")))


@torch.no_grad()
def _validate(network, data: dict[str, _Data], batch_size: int) -> float:
    network.eval()
    rs = []
    for name, d in data.items():
        pred = torch.cat([_batch_pred(network, d, name, idx) for idx in d.val.split(batch_size)])
        rs.append(masked_correlation(pred, d.targets[d.val], d.mask[d.val]))
    r = torch.cat(rs)
    return float(r[~r.isnan()].mean()) if (~r.isnan()).any() else float("nan")


def _step(state: _State, score: float, optimizer, config: TwinConfig) -> bool:
    """Early stopping and learning-rate decay on the validation correlation; True at a new best."""
    t = config.train
    if score > state.best:
        state.best, state.best_epoch, state.bad_epochs, state.lr_bad_epochs = score, state.epoch, 0, 0
        return True
    state.bad_epochs += 1
    state.lr_bad_epochs += 1
    if state.lr_bad_epochs > t.lr_patience:
        state.lr_decays += 1
        state.lr_bad_epochs = 0
        for group in optimizer.param_groups:
            group["lr"] *= t.lr_decay
    state.finished = state.bad_epochs >= t.patience or state.lr_decays > t.max_lr_decays
    return False


def fit_twin(stimuli: StimulusSet | Mapping[str, StimulusSet], responses: xr.DataArray | Mapping[str, xr.DataArray],
             config: TwinConfig | None = None, seed: int = 0, *, subject: FeatureSubject | None = None,
             validation: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
             checkpoint_dir: str | Path | None = None, resume: bool = False,
             callbacks: Sequence[Callable[[EpochReport], None]] = ()) -> DigitalTwin:
    """Fit a digital twin to responses (stimulus, neuron[, repeat]) of one or several sessions.

    ``responses`` may be one DataArray or {session: DataArray} (one readout per session, one shared core);
    ``stimuli`` a StimulusSet holding every stimulus id (or one per session). ``subject`` is the network of
    a feature core. ``validation``: stimulus ids (per session: a mapping) for early stopping, instead of a
    seeded ``config.train.val_fraction`` of the stimuli. With ``checkpoint_dir`` a checkpoint is written
    after every epoch; ``resume=True`` continues from it when it is this fit's (same data, config, seed and
    code; otherwise it starts fresh with a warning and overwrites it). ``callbacks`` get
    an :class:`EpochReport` per epoch.
    """
    config = TwinConfig() if config is None else config
    if not isinstance(config, TwinConfig):
        raise TwinError(f"config must be a TwinConfig; got {type(config).__name__}")
    data = _sessions(stimuli, responses)
    device = resolve_device(config.train.device)
    first = next(iter(data.values()))[0]
    with _seeded(seed, device):
        sizes = {n: r.sizes["neuron"] for n, (_, r) in data.items()}
        network = TwinNetwork(config, first.shape[1], first.size, sizes, subject).to(device)
    return _fit(network, data, config, seed, device, validation, checkpoint_dir, resume, callbacks,
                first.shape[1:], frozen_core=False)


def transfer_twin(twin: DigitalTwin, stimuli: StimulusSet, responses: xr.DataArray, session: str = "transfer",
                  seed: int = 0, *, readout=None, train: TwinTrainConfig | None = None,
                  validation: Sequence[str] | None = None, checkpoint_dir: str | Path | None = None,
                  resume: bool = False, callbacks: Sequence[Callable[[EpochReport], None]] = ()) -> DigitalTwin:
    """Transfer a fitted twin to a new session: freeze its core, fit only a new readout (Lurz et al. 2021,
    ICLR, "Generalization in data-driven models of primary visual cortex": a core trained on many
    recordings, a readout fitted per new animal).

    ``responses`` (stimulus, neuron[, repeat]) of the new session, with or without repeats; ``readout``
    (a ``ReadoutConfig``) and ``train`` default to the twin's. The core's output is computed once; only
    the readout (and its penalty) is trained, with the same early stopping and learning-rate schedule as
    :func:`fit_twin`. Returns a twin with the frozen core and the one new session ``session``.
    """
    if not isinstance(twin, DigitalTwin):
        raise TwinError(f"transfer needs a fitted DigitalTwin; got {type(twin).__name__}")
    if twin.config.behaviour_inputs:
        raise TwinError("transfer of twins with a shifter or modulator is not supported (they are per session)")
    config = twin.config.replace(readout=readout or twin.config.readout, train=train or twin.config.train)
    data = _sessions(stimuli, {session: responses})
    c, h, w = twin.stimulus_shape
    stim = data[session][0]
    if stim.size != (h, w) or (stim.shape[1] != c and not config.grey):
        raise TwinError(f"this twin was fitted on {c}x{h}x{w} stimuli; the new session has {stim.shape[1:]}")
    if config.readout.kind == "linear":  # closed-form ridge: the prediction is the readout's drive
        config = config.replace(output="linear", train=config.train.model_copy(update={"loss": "gaussian"}))
    device = resolve_device(config.train.device)
    subject = twin.network.core.subject if twin.network.core.frozen_encoder else None
    with _seeded(seed, device):
        network = TwinNetwork(config, c, (h, w), {session: responses.sizes["neuron"]}, subject)
    keep = {k: v for k, v in twin.network.state_dict().items() if k.startswith(("core.", "preprocess."))}
    missing = network.load_state_dict(keep, strict=False).missing_keys
    if any(k.startswith(("core.", "preprocess.")) for k in missing):
        raise TwinError(f"the twin's core does not match its config: missing {missing[:3]}")
    network = network.to(device)
    network.core.requires_grad_(False)
    if config.readout.kind == "linear":
        return _ridge_readout(network, data[session], session, config, (c, h, w))
    return _fit(network, data, config, seed, device, validation, checkpoint_dir, resume, callbacks, (c, h, w),
                frozen_core=True)


@torch.no_grad()
def _ridge_readout(network: TwinNetwork, data: tuple[StimulusSet, xr.DataArray], session: str, config: TwinConfig,
                   stimulus_shape) -> DigitalTwin:
    """Fit a linear readout on the frozen core's (pooled) features by ridge regression, alpha per neuron by
    exact leave-one-out CV (``neurosafe.metrics.RidgeCVMapping``) on the repeat averages."""
    from neurosafe.metrics import RidgeCVMapping

    stim, resp = data
    _, targets, _ = _samples(resp, ())
    means = np.nanmean(np.where(np.isfinite(targets), targets, np.nan), axis=0)
    if not np.isfinite(means).all():
        raise TwinError(f"session {session!r}: some neurons have no valid response")
    targets = np.where(np.isfinite(targets), targets, means)
    network.eval()
    readout = network.readouts[session]
    images = torch.from_numpy(stim.images)
    device = next(network.parameters()).device
    feats = torch.cat([readout.flat(network.core(network.preprocess(x.to(device)))).cpu()
                       for x in images.split(4 * config.train.batch_size)]).double().numpy()
    ridge = RidgeCVMapping(cv="loo").fit(feats, targets)
    readout.weight.copy_(torch.from_numpy(np.asarray(ridge.coef_)).float())
    readout.bias.copy_(torch.from_numpy(np.asarray(ridge.intercept_)).float())
    alphas = np.asarray(ridge.alpha_, float)
    history = [{"epoch": 0, "readout": "ridge (LOO CV)", "median_alpha": float(np.median(alphas)),
                "n_features": int(feats.shape[1]), "n_stimuli": int(feats.shape[0])}]
    return DigitalTwin(network, {session: [str(i) for i in resp.neuron_id.values]}, stimulus_shape, history)


def _fit(network: TwinNetwork, data, config: TwinConfig, seed: int, device, validation, checkpoint_dir, resume,
         callbacks, stimulus_shape, frozen_core: bool) -> DigitalTwin:
    """The one training loop of twins (fit and transfer)."""
    samples = _prepare(network, data, config, seed, device, validation, frozen_core)
    # a trained core on the CPU runs channels-last (oneDNN's faster convolutions; the core converts its
    # output back): the layout only, the values are the same up to float rounding; restored at the end
    channels_last = device.type == "cpu" and not frozen_core
    if channels_last:
        network.core.to(memory_format=torch.channels_last)
    params = [p for p in network.parameters() if p.requires_grad]
    # the fused Adam kernel (one pass over all parameters per step; same update as the default loop up to
    # float rounding) where torch has it for these parameters: 3x faster steps on CPU
    fused = device.type in ("cpu", "cuda") and all(p.dtype == torch.float32 for p in params)
    optimizer = torch.optim.Adam(params, lr=config.train.lr, weight_decay=config.train.weight_decay,
                                 **({"fused": True} if fused else {}))
    state = _State()
    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
    ckpt = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir is not None else None
    fingerprint = None
    if ckpt is not None:  # hashing data and code is needed only to key a checkpoint
        fingerprint = _fingerprint(data, config, seed, validation)
        if frozen_core:  # a transfer resumes only onto the same frozen core
            fingerprint = run_fingerprint(fingerprint, state_hash(network.core.state_dict()))
    saved = load_checkpoint(ckpt, fingerprint, map_location=device) if resume and ckpt is not None else None
    if saved is not None:  # this fit's checkpoint (another fit's or an unreadable one: warned, start fresh)
        network.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state, best_state = _State(**{k: saved[k] for k in vars(_State()) if k in saved}), saved["best_state"]
    t = config.train
    n_neurons = sum(r.sizes["neuron"] for _, r in data.values())
    what = f"{'transfer' if frozen_core else 'fit'} twin ({n_neurons} neurons; epochs, may stop early)"
    quiet = display.switched(False) if t.progress is False else contextlib.nullcontext()
    last = math.nan
    with quiet, display.stage(what, total=t.epochs - state.epoch) as bar:
        while not state.finished and state.epoch < t.epochs:
            state.epoch += 1
            start = time.perf_counter()
            with _seeded(seed, device, state.epoch):
                train_loss = _train_epoch(network, optimizer, samples, config, frozen_core)
            lr = optimizer.param_groups[0]["lr"]
            # validate every val_every epochs, at the first and at the last (early stopping counts validations)
            if state.epoch == 1 or state.epoch % t.val_every == 0 or state.epoch == t.epochs:
                score = _validate(network, samples, 4 * t.batch_size)
                if _step(state, score, optimizer, config):
                    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
                last = score
            else:
                score = math.nan
            state.history.append({"epoch": state.epoch, "train_loss": train_loss, "val_correlation": score, "lr": lr,
                                  "seconds": time.perf_counter() - start})
            if ckpt is not None:
                save_checkpoint(ckpt, {"model": network.state_dict(), "optimizer": optimizer.state_dict(),
                                       "best_state": best_state, **vars(state)}, fingerprint)
            bar.advance(info=f"epoch {state.epoch}, val r {last:.3f} (best {state.best:.3f} at epoch "
                             f"{state.best_epoch})")
            stopping = state.finished or state.epoch >= t.epochs
            report = EpochReport(state.epoch, train_loss, score, lr, state.best_epoch, stopping)
            for callback in callbacks:
                callback(report)
    network.load_state_dict(best_state)
    if channels_last:
        network.core.to(memory_format=torch.contiguous_format)
    neuron_ids = {n: [str(i) for i in r.neuron_id.values] for n, (_, r) in data.items()}
    return DigitalTwin(network, neuron_ids, stimulus_shape, state.history)
