"""Ensembles of twins: the mean prediction of twins fitted with different seeds (as in Lurz et al. 2021 and
the Sensorium baselines, where averaging a few seeds is a cheap, reliable gain on small data)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from neurosafe.data.stimuli import StimulusSet
from neurosafe.twin.errors import TwinError
from neurosafe.twin.model import DigitalTwin

__all__ = ["TwinEnsemble"]


class TwinEnsemble:
    """Twins with the same sessions and neurons, answering with their mean prediction (a ``Subject``)."""

    def __init__(self, twins: Sequence[DigitalTwin]):
        twins = list(twins)
        if not twins or not all(isinstance(t, DigitalTwin) for t in twins):
            raise TwinError("an ensemble needs one or more fitted DigitalTwins")
        if any(t.neuron_ids != twins[0].neuron_ids for t in twins[1:]):
            raise TwinError("the twins of an ensemble must predict the same sessions and neurons")
        self.twins = twins

    @property
    def sessions(self) -> tuple[str, ...]:
        return self.twins[0].sessions

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(f"readout.{s}" for s in self.sessions)

    def respond(self, stimuli: StimulusSet, site: str | None = None) -> xr.DataArray:
        """Mean over the twins of ``DigitalTwin.respond`` (readout sites only: cores differ between seeds)."""
        if site is not None and site not in self.sites:
            raise TwinError(f"an ensemble answers at its readout sites {self.sites} (or None); got {site!r}")
        outs = [t.respond(stimuli, site) for t in self.twins]
        mean = outs[0].copy(data=np.mean([o.values for o in outs], axis=0))
        mean.attrs["source"] = f"neurosafe.twin.TwinEnsemble({len(self.twins)} twins)"
        return mean
