"""One simulation of a connectome with input to chosen neurons, summarised for people and scripts (the
``neurosafe connectome simulate`` command)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from neurosafe.connectome.graph import Connectome
from neurosafe.connectome.lif import SHIU2024, LIFNetwork, LIFParams
from neurosafe.connectome.plots import raster_figure, rate_figure
from neurosafe.connectome.rate import RateModel
from neurosafe.core.errors import DataValidationError

__all__ = ["simulate_connectome"]


def _top(values: np.ndarray, connectome: Connectome, k: int = 10) -> list[dict]:
    order = np.argsort(-values, kind="stable")[:k]
    return [{"neuron": str(connectome.neurons[i]), "type": str(connectome.types[i]), "value": float(values[i])}
            for i in order if values[i] > 0]


def _downstream(values: np.ndarray, driven: np.ndarray, connectome: Connectome) -> dict:
    """What the input did through the network: active neurons that were not driven directly, their cell types and
    the most active of them (issue 18: an example that only lit up its own input cells showed no network)."""
    rest = np.where(driven, 0.0, values)
    active = rest > 0
    return {"downstream_active": int(active.sum()),
            "downstream_types": sorted({str(t) for t in connectome.types[active]}),
            "top_downstream": _top(rest, connectome)}


def simulate_connectome(
    connectome: Connectome,
    inputs: Sequence[str],
    model: str = "lif",
    duration: float = 200.0,
    dt: float | None = None,
    current: float = 0.0,
    poisson_rate: float = 0.0,
    seed: int = 0,
    figure: str | Path | None = None,
    params: LIFParams = SHIU2024,
) -> dict:
    """Drive the ``inputs`` (neuron names or cell types) and simulate ``duration`` ms.

    ``model="lif"``: the LIF network (``params``, default Shiu et al. 2024), the inputs get a constant
    ``current`` (mV) and Poisson spikes at ``poisson_rate`` Hz; ``model="rate"``: the rate network with its
    default parameters, the inputs get ``current`` (a.u.). Returns a summary (most active neurons, counts) and
    writes a raster or rate figure to ``figure``.
    """
    if model not in ("lif", "rate"):
        raise DataValidationError(f"model must be 'lif' or 'rate'; got {model!r}")
    if not inputs:
        raise DataValidationError("name at least one input neuron or cell type")
    idx = connectome.indices(inputs)
    n = connectome.n_neurons
    driven = np.zeros(n, dtype=bool)
    driven[idx] = True
    drive = np.zeros(n)
    drive[idx] = current
    summary: dict = {"connectome": connectome.name, "model": model, "inputs": list(inputs), "n_inputs": len(idx),
                     "n_neurons": n, "duration_ms": duration, "seed": seed}
    if model == "lif":
        dt = dt or 0.1
        rates = np.zeros(n)
        rates[idx] = poisson_rate
        net = LIFNetwork(connectome, params, dt=dt)
        result = net.simulate(duration, current=drive, poisson_rate=rates if poisson_rate > 0 else None, seed=seed)
        rate_hz = result.rates()[0]
        summary |= {"dt_ms": dt, "current_mV": current, "poisson_rate_hz": poisson_rate,
                    "n_spikes": int(result.counts.sum()), "active_neurons": int((rate_hz > 0).sum()),
                    "mean_rate_hz": float(rate_hz.mean()), "top_rates_hz": _top(rate_hz, connectome)}
        summary |= _downstream(rate_hz, driven, connectome)
        if figure is not None:
            summary["figure"] = str(raster_figure(result.spikes[:, 0].cpu().numpy(), dt, connectome.neurons,
                                                  f"{connectome.name}: LIF, input to {', '.join(inputs)}", figure))
    else:
        dt = dt or 1.0
        rate_model = RateModel(connectome, dt=dt, duration=duration)
        with torch.no_grad():
            trace = rate_model(torch.as_tensor(drive[None])).double().numpy()[0]
        final = trace[-1]
        summary |= {"dt_ms": dt, "current": current, "active_neurons": int((final > 0).sum()),
                    "mean_rate": float(final.mean()), "top_rates": _top(final, connectome)}
        summary |= _downstream(final, driven, connectome)
        if figure is not None:
            summary["figure"] = str(rate_figure(trace, dt, connectome.neurons,
                                                f"{connectome.name}: rate model, input to {', '.join(inputs)}", figure,
                                                driven=driven))
    return summary
