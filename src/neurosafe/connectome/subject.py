"""Connectome models as :class:`~neurosafe.subjects.Subject` s: a stimulus is an input-current pattern.

A stimulus image's values (flattened, channel-major, in [0, 1]) are the input currents of the model's
``input_neurons`` (all neurons when None), times ``input_scale``; ``respond`` simulates each stimulus with
that constant input and returns the steady response of every neuron. Sites are ``"all"`` and each cell type.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import xarray as xr

from neurosafe.connectome.graph import Connectome
from neurosafe.core.errors import DataValidationError
from neurosafe.data.recording import make_responses
from neurosafe.data.stimuli import StimulusSet

__all__ = ["ConnectomeSubject", "currents_to_stimuli"]


def currents_to_stimuli(values: np.ndarray, ids: Sequence[str] | None = None) -> StimulusSet:
    """Pack input-current patterns ``(n_stimuli, n_inputs)`` with values in [0, 1] into a StimulusSet
    (images of shape ``(1, 1, n_inputs)``), the form ``respond`` takes."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise DataValidationError(f"current patterns must be (n_stimuli, n_inputs); got shape {values.shape}")
    return StimulusSet(values[:, None, None, :], ids=ids)


class ConnectomeSubject(ABC):
    """Mixin: ``sites`` and ``respond`` for a connectome model that implements ``steady_response``."""

    connectome: Connectome
    input_neurons: Sequence[str] | None
    input_scale: float
    response_units: str = ""

    @property
    def sites(self) -> tuple[str, ...]:
        return ("all", *self.connectome.cell_types)

    def site_mask(self, site: str | None) -> np.ndarray:
        """Which neurons a site holds (None: ``"all"``); an unknown site raises."""
        site = site or "all"
        if site not in self.sites:
            raise DataValidationError(
                f"unknown site {site!r}; sites are 'all' and the cell types of "
                f"{self.connectome.name!r} (e.g. {self.sites[1:4]})"
            )
        return np.ones(self.connectome.n_neurons, bool) if site == "all" else self.connectome.types == site

    def input_index(self, n_values: int) -> np.ndarray:
        """Indices of the neurons that a stimulus's ``n_values`` values drive (see module docstring)."""
        c = self.connectome
        targets = np.arange(c.n_neurons) if self.input_neurons is None else c.indices(self.input_neurons)
        if n_values != len(targets):
            raise DataValidationError(
                f"each stimulus has {n_values} values but the model has {len(targets)} input neurons; "
                "build stimuli with currents_to_stimuli or set input_neurons"
            )
        return targets

    def input_currents(self, stimuli: StimulusSet) -> np.ndarray:
        """Per-neuron constant currents ``(n_stimuli, n_neurons)`` for the stimuli (see module docstring)."""
        pixels = stimuli.images.reshape(len(stimuli), -1).astype(np.float64)
        currents = np.zeros((len(stimuli), self.connectome.n_neurons))
        currents[:, self.input_index(pixels.shape[1])] = pixels * self.input_scale
        return currents

    @abstractmethod
    def steady_response(self, currents: np.ndarray) -> np.ndarray:
        """Response ``(n_stimuli, n_neurons)`` to constant per-neuron currents."""

    def respond(self, stimuli: StimulusSet, site: str | None = None) -> xr.DataArray:
        keep = self.site_mask(site)
        site = site or "all"
        c = self.connectome
        values = self.steady_response(self.input_currents(stimuli))
        return make_responses(
            values[:, keep],
            stimulus_ids=stimuli.ids,
            neuron_ids=c.neurons[keep],
            dims=("stimulus", "neuron"),
            attrs={
                "area": site,
                "species": c.metadata.get("species", ""),
                "units": self.response_units,
                "connectome": c.name,
            },
            neuron_coords={"cell_type": c.types[keep]},
        )
