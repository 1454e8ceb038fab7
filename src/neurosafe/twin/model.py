"""The digital twin: preprocessing -> shared core -> one readout per session -> output nonlinearity,
with optional shifter (eye position) and modulator (behaviour gain), wrapped as a ``Subject``.

The architecture follows the Sinz-lab sensory twins (Sinz et al. 2018, NeurIPS; Lurz et al. 2021, ICLR):
the shifter maps eye position to a shift of every receptive field of a session, the modulator maps
behaviour to a positive per-neuron gain ``exp(MLP(behaviour))`` that multiplies the predicted rate.
Saved as one folder, written atomically: a JSON description plus a state dict loaded with ``weights_only=True``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import nn
from torch.nn import functional as F

import neurosafe
from neurosafe.core.errors import DataFileError
from neurosafe.core.io import atomic_dir, load_json, load_state, save_json, save_state
from neurosafe.data.recording import make_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.twin.config import TwinConfig
from neurosafe.twin.cores import FeatureSubject, build_core
from neurosafe.twin.errors import TwinError
from neurosafe.twin.readouts import build_readout

__all__ = ["DigitalTwin", "TwinNetwork", "trial_inputs"]

_LUMA = (0.299, 0.587, 0.114)
_FORMAT = "neurosafe-twin-1"
_FILES = ("twin.json", "weights.pt")


def inverse_output(y: torch.Tensor, output: str) -> torch.Tensor:
    """Drive that gives rate ``y`` through the output nonlinearity (used to initialise readout biases)."""
    if output == "linear":
        return y
    y = y.clamp_min(1e-3)
    if output == "elu1":
        return torch.where(y > 1, y - 1, torch.log(y))
    return torch.log(torch.expm1(y))


def trial_inputs(responses: xr.DataArray, names: Sequence[str]) -> np.ndarray:
    """Per-trial input coordinates of ``responses`` as an array (stimulus, repeat, len(names))."""
    n_rep = responses.sizes.get("repeat", 1)
    cols = []
    for name in names:
        if name not in responses.coords:
            raise TwinError(f"responses have no coordinate {name!r} (per-trial input); "
                            f"coords: {list(responses.coords)}")
        coord = responses[name]
        if not set(coord.dims) <= {"stimulus", "repeat"} or "stimulus" not in coord.dims:
            raise TwinError(f"coordinate {name!r} must have dims (stimulus[, repeat]); got {coord.dims}")
        values = coord.transpose("stimulus", *[d for d in ("repeat",) if d in coord.dims]).values.astype(float)
        values = np.broadcast_to(values.reshape(len(values), -1), (len(values), n_rep))
        if not np.isfinite(values).all():
            raise TwinError(f"coordinate {name!r} contains NaN or inf")
        cols.append(values)
    return np.stack(cols, axis=-1) if cols else np.zeros((responses.sizes["stimulus"], n_rep, 0))


def translate(images: torch.Tensor, max_shift: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Translate each image (B, C, H, W) by a random integer (dx, dy) in [-max_shift, max_shift]^2 (torch's
    global RNG), filling with 0 (the standardised mean). Returns the images and the shifts (B, 2) in
    ``grid_sample`` units (x then y; align_corners=True), the shift a Gaussian readout's positions need to
    follow the image on a core that keeps the image grid.

    Data augmentation by small translations (Krizhevsky et al. 2012) changes what a neuron sees unless its
    receptive field moves with the image; moving the readout position is how the shifter network of Sinz
    et al. 2018 (NeurIPS) follows eye movements, so an augmented image is a simulated fixational shift with a
    known displacement.
    """
    b, _, h, w = images.shape
    m = int(max_shift)
    pixels = torch.randint(-m, m + 1, (b, 2), device=images.device)
    padded = F.pad(images, (m, m, m, m))
    rows = torch.arange(h, device=images.device)[None] - pixels[:, 1:] + m  # out[i] = in[i - dy]
    cols = torch.arange(w, device=images.device)[None] - pixels[:, :1] + m
    batch = torch.arange(b, device=images.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)
    scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=images.device)
    return out.contiguous(), pixels * scale


class Preprocess(nn.Module):
    """Images in [0, 1] -> optional luminance -> optional area resize -> standardised by training statistics
    (``standardize``; off for a feature core, whose network expects images in [0, 1])."""

    def __init__(self, grey: bool, size: int | None, standardize: bool = True):
        super().__init__()
        self.grey, self.size, self.standardize = grey, size, standardize
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))
        self.register_buffer("luma", torch.tensor(_LUMA), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grey and x.shape[1] == 3:
            x = torch.einsum("bchw,c->bhw", x, self.luma)[:, None]
        if self.size is not None and tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="area")
        return (x - self.mean) / self.std


class _InputMLP(nn.Module):
    """Standardised per-trial inputs -> hidden -> outputs; the last layer starts at zero (no effect)."""

    def __init__(self, n_in: int, hidden: int, n_out: int, activation: nn.Module, final: nn.Module | None = None):
        super().__init__()
        self.register_buffer("center", torch.zeros(n_in))
        self.register_buffer("scale", torch.ones(n_in))
        self.net = nn.Sequential(nn.Linear(n_in, hidden), activation, nn.Linear(hidden, n_out), final or nn.Identity())
        nn.init.zeros_(self.net[2].weight)
        nn.init.zeros_(self.net[2].bias)

    def forward(self, inputs: torch.Tensor | None, batch: int) -> torch.Tensor:
        z = self.center.expand(batch, -1) if inputs is None else inputs
        return self.net((z - self.center) / self.scale)


class TwinNetwork(nn.Module):
    """Core + per-session readouts (``ModuleDict``) + optional per-session shifters and modulators."""

    def __init__(self, config: TwinConfig, in_channels: int, image_size: tuple[int, int], sessions: Mapping[str, int],
                 subject: FeatureSubject | None = None):
        super().__init__()
        self.config = config
        self.preprocess = Preprocess(config.grey, config.image_size, standardize=config.core.kind == "stacked")
        channels = 1 if config.grey else in_channels
        size = (config.image_size,) * 2 if config.image_size else tuple(image_size)
        self.core = build_core(config.core, channels, size, subject)
        with torch.no_grad():
            self.map_size = tuple(self.core.eval()(torch.zeros(2, channels, *size)).shape[-2:])
        h, w = self.map_size
        self.readouts = nn.ModuleDict(
            {s: build_readout(config.readout, n, self.core.out_channels, h, w) for s, n in sessions.items()})
        self.shifters = nn.ModuleDict(
            {s: _InputMLP(2, config.hidden, 2, nn.Tanh(), final=nn.Tanh()) for s in sessions} if config.shifter else {})
        self.modulators = nn.ModuleDict(
            {s: _InputMLP(len(config.modulator), config.hidden, n, nn.ELU()) for s, n in sessions.items()}
            if config.modulator else {})

    def forward(self, z: torch.Tensor, session: str, inputs: torch.Tensor | None = None) -> torch.Tensor:
        """Rates (B, N) of ``session`` for preprocessed images ``z``; ``inputs`` (B, eye + behaviour) or
        None for the training means."""
        return self.from_encoded(self.core.encode(z), session, inputs)

    def from_encoded(self, encoded: torch.Tensor, session: str, inputs: torch.Tensor | None = None,
                     shift: torch.Tensor | None = None) -> torch.Tensor:
        """Rates from the output of the core's fixed part (``core.encode``)."""
        return self.from_features(self.core.head(encoded), session, inputs, shift)

    def from_features(self, features: torch.Tensor, session: str, inputs: torch.Tensor | None = None,
                      shift: torch.Tensor | None = None) -> torch.Tensor:
        """Rates from the core's output; ``shift`` (B, 2) moves every receptive field (grid units, x then y),
        added to the shifter's."""
        batch = features.shape[0]
        n_eye = len(self.config.shifter)
        if self.shifters:
            eye = self.shifters[session](None if inputs is None else inputs[:, :n_eye], batch)
            shift = eye if shift is None else shift + eye
        drive = self.readouts[session](features, shift)
        rate = self.output(drive)
        if self.modulators:
            rate = rate * torch.exp(self.modulators[session](None if inputs is None else inputs[:, n_eye:], batch))
        return rate

    def output(self, drive: torch.Tensor) -> torch.Tensor:
        """The output nonlinearity (``config.output``) applied to readout drives."""
        if self.config.output == "elu1":
            return F.elu(drive) + 1
        return F.softplus(drive) if self.config.output == "softplus" else drive

    def regularizer(self, session: str) -> torch.Tensor:
        return self.core.regularizer() + self.readouts[session].regularizer()


class DigitalTwin:
    """A fitted sensory digital twin; implements the ``Subject`` and ``DifferentiableSubject`` protocols.

    Sites: the core's layers (``core.layer0`` ...; ``core.features`` for a feature core) and one readout
    site per session (``readout.<session>``); ``site=None`` gives every session's neurons. ``activations``
    is the differentiable map from images in [0, 1] (for MEIs and attacks).
    """

    def __init__(self, network: TwinNetwork, neuron_ids: Mapping[str, Sequence[str]],
                 stimulus_shape: tuple[int, int, int], history: Sequence[dict] = ()):
        self.network = network.eval()
        self.config: TwinConfig = network.config
        self.neuron_ids = {s: [str(i) for i in ids] for s, ids in neuron_ids.items()}
        self.stimulus_shape = tuple(int(v) for v in stimulus_shape)
        self.history = list(history)

    # ---------------------------------------------------------------------------------------- Subject
    @property
    def sessions(self) -> tuple[str, ...]:
        return tuple(self.neuron_ids)

    @property
    def sites(self) -> tuple[str, ...]:
        return (*self.network.core.sites, *(f"readout.{s}" for s in self.sessions))

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def _check_stimuli(self, stimuli) -> StimulusSet:
        if not isinstance(stimuli, StimulusSet):
            stimuli = StimulusSet(np.asarray(stimuli, dtype=np.float32))
        c, h, w = self.stimulus_shape
        if stimuli.size != (h, w):
            raise TwinError(f"this twin was fitted on {h}x{w} images; got {stimuli.size[0]}x{stimuli.size[1]}")
        if stimuli.shape[1] != c and not self.config.grey:
            raise TwinError(f"this twin was fitted on {c}-channel images; got {stimuli.shape[1]} channels")
        return stimuli

    def _check_site(self, site: str | None) -> None:
        if site is not None and site not in self.sites:
            raise TwinError(f"unknown site {site!r}; this twin has sites {self.sites}")

    def activations(self, x: torch.Tensor, sites: Sequence[str]) -> dict[str, torch.Tensor]:
        """Differentiable activations (original shapes) of the named sites for images ``x`` in [0, 1]."""
        for site in sites:
            self._check_site(site)
        feats_by_site = self.network.core.forward_sites(self.network.preprocess(x))
        last = feats_by_site[self.network.core.sites[-1]]
        out = {}
        for site in sites:
            if site.startswith("readout."):
                out[site] = self.network.from_features(last, site.removeprefix("readout."))
            else:
                out[site] = feats_by_site[site]
        return out

    @torch.no_grad()
    def respond(self, stimuli: StimulusSet, site: str | None = None, batch_size: int = 256) -> xr.DataArray:
        """Predicted responses (stimulus, neuron) at the training-mean eye position and behaviour."""
        self._check_site(site)
        stimuli = self._check_stimuli(stimuli)
        out = []
        for i in range(0, len(stimuli), batch_size):
            x = torch.from_numpy(stimuli.images[i : i + batch_size]).to(self.device)
            sites = [f"readout.{s}" for s in self.sessions] if site is None else [site]
            out.append(torch.cat([a.flatten(1) for a in self.activations(x, sites).values()], 1).cpu())
        values = torch.cat(out).double().numpy()
        attrs = {"source": "neurosafe.twin.DigitalTwin", "kind": "prediction", "site": site or "readout"}
        if site is not None and not site.startswith("readout."):
            shape = self.activations(torch.from_numpy(stimuli.images[:1]).to(self.device), [site])[site].shape[1:]
            ids = [f"c{c}_y{y}_x{x}" for c, y, x in np.ndindex(*shape)]
            return make_responses(values, stimuli.ids, ids, dims=("stimulus", "neuron"), attrs=attrs)
        sessions = self.sessions if site is None else (site.removeprefix("readout."),)
        ids = [i for s in sessions for i in self.neuron_ids[s]]
        sess = [s for s in sessions for _ in self.neuron_ids[s]]
        return make_responses(values, stimuli.ids, ids, dims=("stimulus", "neuron"), attrs=attrs,
                              neuron_coords={"session": sess})

    @torch.no_grad()
    def predict_trials(self, stimuli: StimulusSet, responses: xr.DataArray, session: str | None = None,
                       batch_size: int = 256) -> xr.DataArray:
        """Per-trial predictions (stimulus, neuron, repeat) using the per-trial eye position and behaviour
        coordinates of ``responses`` (the ones named in the config)."""
        session = self._session(session)
        stimuli = self._check_stimuli(stimuli).aligned_to(responses)
        inputs = trial_inputs(responses, self.config.behaviour_inputs)  # (S, R, k)
        s, r = inputs.shape[:2]
        idx = np.repeat(np.arange(s), r)
        flat = torch.from_numpy(inputs.reshape(s * r, -1)).float()
        out = []
        for i in range(0, len(idx), batch_size):
            x = torch.from_numpy(stimuli.images[idx[i : i + batch_size]]).to(self.device)
            z = self.network.preprocess(x)
            extra = flat[i : i + batch_size].to(self.device) if self.config.behaviour_inputs else None
            out.append(self.network(z, session, extra).cpu())
        values = torch.cat(out).double().numpy().reshape(s, r, -1).transpose(0, 2, 1)
        attrs = {"source": "neurosafe.twin.DigitalTwin", "kind": "trial prediction"}
        return make_responses(values, stimuli.ids, self.neuron_ids[session], attrs=attrs)

    def _session(self, session: str | None) -> str:
        if session is None:
            if len(self.sessions) > 1:
                raise TwinError(f"this twin has several sessions {self.sessions}: name one")
            return self.sessions[0]
        if session not in self.neuron_ids:
            raise TwinError(f"unknown session {session!r}; this twin has {self.sessions}")
        return session

    def readout_positions(self, session: str | None = None) -> xr.DataArray:
        """Receptive-field centres (neuron, axis=[x, y]) in stimulus pixels (map pixels scaled to the
        image)."""
        session = self._session(session)
        h, w = self.network.map_size
        px = self.network.readouts[session].positions(h, w).cpu().double().numpy()
        _, sh, sw = self.stimulus_shape
        px = (px + 0.5) * np.array([sw / w, sh / h]) - 0.5
        coords = {"neuron_id": ("neuron", self.neuron_ids[session]), "axis": ["x", "y"]}
        return xr.DataArray(px, dims=("neuron", "axis"), coords=coords, name="rf_position")

    # ------------------------------------------------------------------------------------------- files
    def save(self, directory: str | Path) -> Path:
        """Write the folder ``directory`` (new, empty or a saved twin) atomically, as a whole: ``twin.json``
        (config, neuron ids, shapes, history) and ``weights.pt`` (state dict)."""
        directory = Path(directory)
        if directory.is_file() or (directory.is_dir() and {p.name for p in directory.iterdir()} - set(_FILES)):
            raise TwinError(f"{directory} holds other files; save a twin into a folder of its own")
        meta = {"format": _FORMAT, "version": neurosafe.__version__, "config": self.config.to_dict(),
                "neuron_ids": self.neuron_ids, "stimulus_shape": list(self.stimulus_shape), "history": self.history}
        state = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        with atomic_dir(directory) as tmp:
            save_json(tmp / _FILES[0], meta)
            save_state(tmp / _FILES[1], state)
        return directory

    @classmethod
    def load(cls, directory: str | Path, subject: FeatureSubject | None = None, device: str = "cpu") -> DigitalTwin:
        """Rebuild a saved twin (a feature-core twin needs its ``subject`` again)."""
        directory = Path(directory)
        files = directory / _FILES[0], directory / _FILES[1]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise TwinError(f"not a saved twin: missing {missing}")
        try:
            meta = load_json(files[0])
        except DataFileError as err:
            raise TwinError(str(err)) from err
        if meta.get("format") != _FORMAT:
            raise TwinError(f"{files[0]} is not a neurosafe twin (format={meta.get('format')!r})")
        config = TwinConfig.from_dict(meta["config"])
        c, h, w = meta["stimulus_shape"]
        network = TwinNetwork(config, c, (h, w), {s: len(v) for s, v in meta["neuron_ids"].items()}, subject)
        try:
            network.load_state_dict(load_state(files[1]))
        except (DataFileError, RuntimeError) as err:
            raise TwinError(f"{files[1]} does not hold this twin's weights: {err}") from err
        return cls(network.to(device), meta["neuron_ids"], (c, h, w), meta.get("history", ()))
