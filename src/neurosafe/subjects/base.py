"""The protocols every responding thing implements (DESIGN.md idea 1).

Both are structural (``typing.Protocol``): the synthetic brain in ``neurosafe.data`` satisfies them without
importing ``neurosafe.subjects``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch
import xarray as xr

from neurosafe.data.stimuli import StimulusSet

__all__ = ["DifferentiableSubject", "Subject"]


@runtime_checkable
class Subject(Protocol):
    """Anything that responds to stimuli: a network, a digital twin, the synthetic brain, a connectome.

    ``respond`` returns noise-free responses as a DataArray with dims (stimulus, neuron) whose
    ``stimulus_id`` matches the stimuli; ``site`` picks a layer / area (None: the default site).
    """

    @property
    def sites(self) -> Sequence[str]: ...

    def respond(self, stimuli: StimulusSet, site: str | None = None) -> xr.DataArray: ...


@runtime_checkable
class DifferentiableSubject(Protocol):
    """A subject whose activations can be differentiated w.r.t. its input: what attacks, MEIs, gradient RFs,
    lesions and neural regularizers use (a ``TorchSubject``, the synthetic brain, a digital twin, a
    connectome rate model).

    ``activations(x, sites)`` maps a batch ``x`` already on ``device`` to ``{site: tensor}`` with each site's
    original shape, keeping the autograd graph; ``sites`` lists the valid names, the last being the
    subject's output (its default site).
    """

    @property
    def sites(self) -> Sequence[str]: ...

    @property
    def device(self) -> torch.device: ...

    def activations(self, x: torch.Tensor, sites: Sequence[str]) -> dict[str, torch.Tensor]: ...
