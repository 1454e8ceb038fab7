"""Cores: the shared feature extractors of a twin, mapping images (B, C, H, W) to feature maps.

- :class:`StackedCore`: a stack of conv -> batch norm -> ELU layers trained end to end, with a Laplacian
  smoothness penalty on the first layer's filters (Lurz et al. 2021, ICLR; neuralpredictors'
  ``Stacked2dCore``). 'same' zero padding keeps the map on the image grid, so a readout position is an
  image position.
- :class:`FeatureCore`: the activations of one site of a frozen, task-trained network (Cadena et al. 2019,
  PLoS Comput Biol), followed by a trainable batch norm. The network comes as a subject with
  ``activations(x, [site]) -> {site: tensor}`` (``neurosafe.subjects.TorchSubject``).
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from neurosafe.twin.config import FeatureCoreConfig, StackedCoreConfig
from neurosafe.twin.errors import TwinError

__all__ = ["FeatureCore", "FeatureSubject", "StackedCore", "build_core"]

_LAPLACE = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])


class FeatureSubject(Protocol):
    """What a feature core needs from a subject: differentiable activations of named sites."""

    def activations(self, x: torch.Tensor, sites: list[str]) -> dict[str, torch.Tensor]: ...


class TrainingInplaceELU(nn.ELU):
    """ELU that overwrites its input while training (the batch norm before it keeps only its input for the
    backward pass, and ELU's gradient follows from its output): one activation tensor fewer to allocate
    and write per layer and step, the same values; out of training (evaluation, probing with hooks) it
    leaves its input alone, so a tensor captured at the batch norm stays as it was."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(x, self.alpha, inplace=self.training)


class _StandardLayout(torch.autograd.Function):
    """The identity on values: a channels-last map -> the standard (contiguous) layout, its gradient sent
    back channels-last. Layers trained channels-last keep one memory format in both passes this way (a
    standard-layout gradient meeting channels-last activations sends batch norm's and ELU's backward down
    slow mixed-format paths)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous(memory_format=torch.channels_last)


class StackedCore(nn.Module):
    """Conv (no bias, 'same' padding) -> BatchNorm -> ELU, ``len(kernel_sizes)`` times.

    The output is always in the standard (contiguous) layout. With channels-last weights (``fit_twin``
    trains this way on the CPU: oneDNN's channels-last convolutions) the layers run channels-last and the
    output is converted once, its gradient converted back (:class:`_StandardLayout`).
    """

    frozen_encoder = False

    def __init__(self, in_channels: int, config: StackedCoreConfig):
        super().__init__()
        self.config = config
        layers = []
        for i, k in enumerate(config.kernel_sizes):
            conv = nn.Conv2d(in_channels if i == 0 else config.channels, config.channels, k, padding=k // 2, bias=False)
            block = nn.Sequential(conv, nn.BatchNorm2d(config.channels))
            if config.final_nonlinearity or i < len(config.kernel_sizes) - 1:
                block.append(TrainingInplaceELU())
            layers.append(block)
        self.layers = nn.ModuleList(layers)
        self.register_buffer("laplace_kernel", _LAPLACE[None, None].clone(), persistent=False)

    @property
    def out_channels(self) -> int:
        return self.config.channels

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(f"core.layer{i}" for i in range(len(self.layers)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The parameter-free part of the core (none here: identity)."""
        return x

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """The trainable part of the core (all of it here)."""
        return self(x)

    def forward_sites(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output, keyed by site name."""
        out = {}
        for name, layer in zip(self.sites, self.layers, strict=True):
            x = layer(x)
            out[name] = x
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x if x.is_contiguous() else _StandardLayout.apply(x)

    def regularizer(self) -> torch.Tensor:
        """Laplacian (L2) smoothness of the first layer's filters, weighted by ``config.laplace``."""
        w = self.layers[0][0].weight
        lap = F.conv2d(w.reshape(-1, 1, *w.shape[-2:]), self.laplace_kernel, padding=1)
        return self.config.laplace * lap.pow(2).sum()


class FeatureCore(nn.Module):
    """Frozen activations of ``subject`` at ``config.site``, a trainable batch norm (Cadena 2019) and
    optional trainable conv layers on top.

    The subject's network is not a registered submodule: its weights are neither trained nor saved with
    the twin, and it stays in evaluation mode. Gradients still flow to the input (for MEIs and attacks).
    """

    frozen_encoder = True

    def __init__(self, subject: FeatureSubject, config: FeatureCoreConfig, probe: torch.Tensor):
        super().__init__()
        if not callable(getattr(subject, "activations", None)):
            raise TwinError(f"a feature core needs a subject with activations(x, sites) (e.g. a TorchSubject); "
                            f"got {type(subject).__name__}")
        self.config = config
        self._subject = [subject]  # a list hides it from nn.Module registration
        model = getattr(subject, "model", None)
        if isinstance(model, nn.Module):
            model.eval().requires_grad_(False)
        with torch.no_grad():
            feats = self.encode(probe)
        if feats.ndim != 4:
            raise TwinError(f"site {config.site!r} gives activations of shape {tuple(feats.shape)}; a feature core "
                            "needs a spatial map (batch, channels, height, width): pick a convolutional layer")
        self.norm = nn.BatchNorm2d(feats.shape[1])
        top = config.trainable_layers()
        self.top = None if top is None else StackedCore(feats.shape[1], top)

    @property
    def subject(self) -> FeatureSubject:
        return self._subject[0]

    @property
    def out_channels(self) -> int:
        return self.norm.num_features if self.top is None else self.top.out_channels

    @property
    def sites(self) -> tuple[str, ...]:
        return ("core.features", *(() if self.top is None else self.top.sites))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen network's (pooled) activations: fixed, so training may compute them once."""
        device = getattr(self.subject, "device", x.device)  # a TorchSubject keeps its model on its device
        acts = self.subject.activations(x.to(device), [self.config.site])
        if self.config.site not in acts:
            raise TwinError(f"the subject returned no activations for site {self.config.site!r}")
        feats = acts[self.config.site].to(x.device)
        return F.avg_pool2d(feats, self.config.pool) if self.config.pool > 1 and feats.ndim == 4 else feats

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """The trainable part: batch norm and the optional layers on top."""
        feats = self.norm(x)
        return feats if self.top is None else self.top(feats)

    def forward_sites(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.norm(self.encode(x))
        return {"core.features": feats, **({} if self.top is None else self.top.forward_sites(feats))}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(x))

    def regularizer(self) -> torch.Tensor:
        return self.norm.weight.new_zeros(()) if self.top is None else self.top.regularizer()


def build_core(config: StackedCoreConfig | FeatureCoreConfig, in_channels: int, image_size: tuple[int, int],
               subject: FeatureSubject | None = None) -> StackedCore | FeatureCore:
    """The core a config describes; a feature core needs its ``subject`` (the task-trained network)."""
    if isinstance(config, StackedCoreConfig):
        return StackedCore(in_channels, config)
    if subject is None:
        raise TwinError(f"a feature core (site {config.site!r}) needs the subject (network) it reads: pass subject=")
    return FeatureCore(subject, config, torch.zeros(2, in_channels, *image_size))
