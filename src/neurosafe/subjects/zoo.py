"""Reference networks, small enough to train and probe on a CPU: a CNN family and a fixed V1-like front end.

``get_model(name, seed=0, **kwargs)`` builds a registered network with seeded initial weights (the global
torch RNG is left untouched); every factory takes ``in_channels`` (1 or 3) and ``n_classes``. Zoo names are
one form of the specs that :func:`neurosafe.subjects.resolve` accepts.

- ``cnn_small`` / ``cnn_medium``: conv3x3-ReLU-maxpool blocks (3 blocks of 16-64 / 4 blocks of 32-256
  channels), adaptive average pooling to 2x2 (any input of at least 32 px) and a linear classifier.
- ``v1_frontend``: a fixed Gabor filter bank (quadrature pairs at several orientations and spatial
  frequencies) read out by simple cells (half-wave rectified even and odd filters, both signs) and complex
  cells (quadrature energy), divisively normalized by the local channel-averaged response energy
  (Heeger 1992), then a trainable 1x1-conv bottleneck and classifier. In the spirit of VOneNet's front end
  (Dapello et al. 2020, NeurIPS); simplifications: one Gabor envelope width per spatial frequency instead of
  sampled macaque tuning statistics, no stochastic (Poisson-like) noise layer, normalization instead of
  VOneNet's plain concatenation.
"""

from __future__ import annotations

import difflib
import inspect
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.seeds import child_seed
from neurosafe.data.synthetic import gabor

__all__ = ["V1Frontend", "conv_net", "factory", "get_model", "list_models", "register", "seeded_call"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_LUMA = (0.299, 0.587, 0.114)


def register(name: str) -> Callable:
    """Decorator adding a factory ``f(in_channels=..., n_classes=..., **kwargs) -> nn.Module`` to the zoo."""

    def add(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[name] = factory
        return factory

    return add


def list_models() -> list[str]:
    """Names accepted by :func:`get_model`."""
    return sorted(_REGISTRY)


def factory(name: str) -> Callable[..., nn.Module]:
    """The registered factory of zoo network ``name``; an unknown name raises with close matches."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list_models(), n=3, cutoff=0.4)
        raise NeurosafeError(f"unknown zoo model {name!r}; available: {list_models()}"
                             + (f" (did you mean {close}?)" if close else ""))
    return _REGISTRY[name]


def get_model(name: str, seed: int = 0, **kwargs) -> nn.Module:
    """Build zoo network ``name`` with weights initialised from ``seed`` (kwargs go to its factory)."""
    return seeded_call(factory(name), seed, kwargs)


def seeded_call(build: Callable, seed: int, kwargs: dict):
    """``build(**kwargs it accepts)`` under torch's RNG seeded from ``child_seed(seed, "model")``; the
    caller's RNG state is restored afterwards."""
    try:
        params = inspect.signature(build).parameters.values()
        takes_all = any(p.kind == p.VAR_KEYWORD for p in params)
        names = {p.name for p in params}
    except (TypeError, ValueError):  # builtins without a signature
        takes_all, names = True, set()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(child_seed(seed, "model"))
        return build(**{k: v for k, v in kwargs.items() if takes_all or k in names})


def _check_channels(in_channels: int, n_classes: int) -> None:
    if in_channels not in (1, 3):
        raise NeurosafeError(f"in_channels must be 1 (grey) or 3 (RGB); got {in_channels}")
    if n_classes < 1:
        raise NeurosafeError(f"n_classes must be >= 1; got {n_classes}")


def conv_net(widths: Sequence[int], in_channels: int = 3, n_classes: int = 10) -> nn.Sequential:
    """conv3x3-ReLU-maxpool blocks, adaptive 2x2 average pooling and a linear classifier.

    Sites are ``conv{i}``, ``relu{i}``, ``pool{i}`` (i = 1..len(widths)), ``avgpool``, ``flatten``, ``fc``.
    A plain ``nn.Sequential``, so slicing (``net[:6]``) gives the network up to a site.
    """
    _check_channels(in_channels, n_classes)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels = in_channels
    for i, width in enumerate(widths, start=1):
        layers[f"conv{i}"] = nn.Conv2d(channels, width, kernel_size=3, padding=1)
        layers[f"relu{i}"] = nn.ReLU()
        layers[f"pool{i}"] = nn.MaxPool2d(2)
        channels = width
    layers["avgpool"] = nn.AdaptiveAvgPool2d(2)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(4 * channels, n_classes)
    return nn.Sequential(layers)


@register("cnn_small")
def cnn_small(in_channels: int = 3, n_classes: int = 10) -> nn.Sequential:
    """3 blocks of 16, 32, 64 channels (~25k parameters)."""
    return conv_net((16, 32, 64), in_channels, n_classes)


@register("cnn_medium")
def cnn_medium(in_channels: int = 3, n_classes: int = 10) -> nn.Sequential:
    """4 blocks of 32, 64, 128, 256 channels (~390k parameters)."""
    return conv_net((32, 64, 128, 256), in_channels, n_classes)


# ------------------------------------------------------------------------------------- V1 front end
class GaborBank(nn.Module):
    """Fixed quadrature Gabor pairs on the luminance contrast image; output (B, 2F, H', W'): F even, F odd.

    Each spatial frequency ``sf`` (cycles/px) gets envelope s.d. ``envelope / sf`` px; kernels are zero-mean,
    unit-norm and padded to a common odd size.
    """

    def __init__(self, in_channels: int, orientations: int, spatial_frequencies: Sequence[float],
                 envelope: float, stride: int):
        super().__init__()
        bank = [(o, f) for f in spatial_frequencies for o in np.arange(orientations) * 180 / orientations]
        size = 2 * int(np.ceil(2.5 * envelope / min(spatial_frequencies))) + 1
        c = (size - 1) / 2
        even = [gabor((size, size), c, c, envelope / f, o, f, 0.0) for o, f in bank]
        odd = [gabor((size, size), c, c, envelope / f, o, f, -90.0) for o, f in bank]
        kernels = np.stack(even + odd)[:, None].astype(np.float32)
        self.register_buffer("kernels", torch.from_numpy(kernels))
        self.register_buffer("luma", torch.tensor(_LUMA if in_channels == 3 else (1.0,)).view(1, -1, 1, 1))
        self.stride = stride
        self.n_filters = len(bank)

    def forward(self, x: Tensor) -> Tensor:
        lum = (x * self.luma).sum(1, keepdim=True) - 0.5
        return nn.functional.conv2d(lum, self.kernels, stride=self.stride, padding=self.kernels.shape[-1] // 2)


class SimpleCells(nn.Module):
    """Half-wave rectified even and odd filter outputs of both signs (four phases)."""

    def forward(self, quadrature: Tensor) -> Tensor:
        return torch.relu(torch.cat([quadrature, -quadrature], dim=1))


class ComplexCells(nn.Module):
    """Energy of each quadrature pair: sqrt(even^2 + odd^2) (Adelson & Bergen 1985)."""

    def forward(self, quadrature: Tensor) -> Tensor:
        even, odd = quadrature.chunk(2, dim=1)
        return torch.sqrt(even**2 + odd**2 + 1e-12)


class DivisiveNormalization(nn.Module):
    """r / (sigma + sqrt(local mean over channels and a pool x pool neighbourhood of r^2)) (Heeger 1992)."""

    def __init__(self, sigma: float, pool: int):
        super().__init__()
        self.sigma, self.pool = sigma, pool

    def forward(self, r: Tensor) -> Tensor:
        energy = nn.functional.avg_pool2d((r**2).mean(1, keepdim=True), self.pool, stride=1,
                                          padding=self.pool // 2, count_include_pad=False)
        return r / (self.sigma + torch.sqrt(energy))


class V1Frontend(nn.Module):
    """Fixed V1-like front end plus a small trainable classifier head (see the module docstring).

    Sites: ``gabor``, ``simple``, ``complex``, ``normalize`` (simple and complex channels, normalized),
    ``bottleneck``, ``relu``, ``avgpool``, ``flatten``, ``fc``.
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 10, orientations: int = 8,
                 spatial_frequencies: Sequence[float] = (0.05, 0.1, 0.2), envelope: float = 0.35,
                 stride: int = 2, sigma: float = 0.05, norm_pool: int = 5, bottleneck: int = 32):
        super().__init__()
        _check_channels(in_channels, n_classes)
        if orientations < 1 or not spatial_frequencies or min(spatial_frequencies) <= 0:
            raise NeurosafeError("v1_frontend needs >= 1 orientation and positive spatial frequencies")
        self.gabor = GaborBank(in_channels, orientations, spatial_frequencies, envelope, stride)
        self.simple = SimpleCells()
        self.complex = ComplexCells()
        self.normalize = DivisiveNormalization(sigma, norm_pool)
        self.bottleneck = nn.Conv2d(5 * self.gabor.n_filters, bottleneck, kernel_size=1)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4 * bottleneck, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        q = self.gabor(x)
        v1 = self.normalize(torch.cat([self.simple(q), self.complex(q)], dim=1))
        return self.fc(self.flatten(self.avgpool(self.relu(self.bottleneck(v1)))))


@register("v1_frontend")
def v1_frontend(in_channels: int = 3, n_classes: int = 10, **kwargs) -> V1Frontend:
    """Fixed Gabor simple/complex cells with divisive normalization, and a trainable head."""
    return V1Frontend(in_channels, n_classes, **kwargs)
