"""The one protocol every responding thing implements (DESIGN.md idea 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import xarray as xr

from neurosafe.data.stimuli import StimulusSet

__all__ = ["Subject"]


@runtime_checkable
class Subject(Protocol):
    """Anything that responds to stimuli: a network, a digital twin, the synthetic brain, a connectome.

    ``respond`` returns noise-free responses as a DataArray with dims (stimulus, neuron) whose
    ``stimulus_id`` matches the stimuli; ``site`` picks a layer / area (None: the default site).
    """

    @property
    def sites(self) -> Sequence[str]: ...

    def respond(self, stimuli: StimulusSet, site: str | None = None) -> xr.DataArray: ...
