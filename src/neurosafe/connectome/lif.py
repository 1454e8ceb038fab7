"""Leaky integrate-and-fire network on a connectome, in torch (sparse, CPU or GPU, batched).

The model of Shiu et al. 2024 ("A Drosophila computational brain model reveals sensorimotor processing",
Nature 634:210-219), in mV and ms::

    dv/dt = (v_rest - v + g + I + I_gap) / tau_m        (unless refractory)
    dg/dt = -g / tau_syn                                (unless refractory)
    v > v_threshold  ->  spike; v = v_reset, g = 0; refractory for ``refractory`` ms
    presynaptic spike -> g_post += w_pre,post after ``delay`` ms, w = weight_per_synapse * count * sign

With ``synapse="delta"`` there is no ``g``: a presynaptic spike adds ``w`` to ``v`` directly. Gap junctions
add ``I_gap,i = gap_weight * sum_j E_ij (v_j - v_i)`` (E: electrical synapse counts), computed from ``v`` at
the start of each step and held for the step. External input is a constant current ``I`` (mV) and/or input
spike trains (pre-drawn, or Poisson at a rate) that add ``input_weight`` mV to ``v``, as Shiu et al.'s
PoissonInput; as in their code, neurons receiving input spikes have a refractory period of
``input_refractory``.

Integration and event order follow Brian2's defaults (Stimberg et al. 2019, eLife 8:e47314) exactly, so
spike times agree with Brian2 step for step: each step (i) integrates non-refractory neurons exactly over
``dt`` (the linear ODE's closed form, Brian2's ``method="linear"``), (ii) applies the threshold to
non-refractory neurons, (iii) delivers synaptic and input events to neurons that are not refractory (an
``unless refractory`` variable ignores them, as in Brian2), (iv) resets the neurons that spiked. Refractory
periods and delays are rounded to steps as Brian2 does. The synaptic events of ``delay_steps`` consecutive
steps are gathered at once, event-driven (only the synapses of neurons that fired are touched), which is what
makes the simulator fast.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import torch

from neurosafe.connectome.graph import Connectome
from neurosafe.connectome.subject import ConnectomeSubject
from neurosafe.core.errors import DataValidationError

__all__ = ["SHIU2024", "LIFNetwork", "LIFParams", "SpikeResult"]


@dataclass(frozen=True)
class LIFParams:
    """LIF constants (mV, ms). Defaults: Shiu et al. 2024 (see :data:`SHIU2024`)."""

    v_rest: float = -52.0
    v_reset: float = -52.0
    v_threshold: float = -45.0
    tau_m: float = 20.0
    tau_syn: float = 5.0
    refractory: float = 2.2
    delay: float = 1.8
    weight_per_synapse: float = 0.275
    synapse: str = "exponential"
    gap_weight: float = 0.0
    input_weight: float = 68.75
    input_refractory: float | None = 0.0

    def __post_init__(self) -> None:
        if self.synapse not in ("exponential", "delta"):
            raise DataValidationError(f"synapse must be 'exponential' or 'delta'; got {self.synapse!r}")
        if self.tau_m <= 0 or self.tau_syn <= 0 or self.refractory < 0 or self.delay < 0 or self.gap_weight < 0:
            raise DataValidationError("need tau_m > 0, tau_syn > 0, refractory >= 0, delay >= 0, gap_weight >= 0")
        if self.input_refractory is not None and self.input_refractory < 0:
            raise DataValidationError("input_refractory must be >= 0 or None")


#: Shiu et al. 2024 (Nature 634:210-219; code: github.com/philshiu/Drosophila_brain_model, model.py):
#: v_rest = v_reset = -52 mV, threshold -45 mV, tau_m 20 ms, synaptic tau 5 ms, refractory 2.2 ms, delay
#: 1.8 ms, 0.275 mV per synapse, Poisson input (150 Hz in their runs) with weight 250 x 0.275 mV onto v,
#: no refractory period for Poisson-driven neurons.
SHIU2024 = LIFParams()


def _steps(ms: float, dt: float) -> int:
    """Brian2's ``timestep``: floor with a 1e-3 step tolerance (used for refractory periods)."""
    return int((ms + 1e-3 * dt) / dt)


@dataclass(frozen=True)
class SpikeResult:
    """Simulation output: ``spikes`` ``(steps, batch, neurons)`` (bool, when recorded), ``counts``
    ``(batch, neurons)``, the step ``dt`` and ``duration`` (ms) and the neuron names."""

    spikes: torch.Tensor | None
    counts: torch.Tensor
    dt: float
    duration: float
    neurons: np.ndarray

    def rates(self) -> np.ndarray:
        """Firing rates (Hz) ``(batch, neurons)``."""
        return self.counts.double().cpu().numpy() / (self.duration / 1000.0)

    def spike_trains(self, batch: int = 0) -> dict[int, np.ndarray]:
        """Spike times (ms) of each neuron that fired, ``{neuron index: times}`` (needs recorded spikes)."""
        if self.spikes is None:
            raise DataValidationError("spikes were not recorded: simulate with record_spikes=True")
        steps, neurons = torch.nonzero(self.spikes[:, batch], as_tuple=True)
        steps, neurons = steps.cpu().numpy(), neurons.cpu().numpy()
        order = np.lexsort((steps, neurons))
        steps, neurons = steps[order], neurons[order]
        cuts = np.flatnonzero(np.diff(neurons)) + 1
        return {
            int(group[0]): s * self.dt
            for group, s in zip(np.split(neurons, cuts), np.split(steps, cuts), strict=True)
            if len(group)
        }


def _torch_csr(m: sp.csr_array, device, dtype) -> torch.Tensor:
    """A torch CSR copy of a canonical scipy matrix (valid by construction, so invariant checks are off)."""
    m = sp.csr_array(m)
    m.sort_indices()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        return torch.sparse_csr_tensor(torch.as_tensor(m.indptr, dtype=torch.int64),
                                       torch.as_tensor(m.indices, dtype=torch.int64),
                                       torch.as_tensor(m.data, dtype=dtype), size=m.shape, device=device,
                                       check_invariants=False)


class LIFNetwork(ConnectomeSubject):
    """Spiking network on a connectome (see module docstring); ``simulate`` runs it, ``respond`` makes it a
    Subject (firing rate in Hz under constant input currents of ``input_scale`` mV per unit stimulus)."""

    response_units = "Hz"

    def __init__(
        self,
        connectome: Connectome,
        params: LIFParams = SHIU2024,
        dt: float = 0.1,
        duration: float = 500.0,
        input_neurons: Sequence[str] | None = None,
        input_scale: float = 20.0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float64,
    ) -> None:
        if dt <= 0 or duration < dt:
            raise DataValidationError(f"need dt > 0 and duration >= dt; got dt={dt}, duration={duration}")
        self.connectome, self.params, self.dt, self.duration = connectome, params, float(dt), float(duration)
        self.input_neurons, self.input_scale = input_neurons, float(input_scale)
        if input_neurons is not None:
            connectome.indices(input_neurons)
        self.device, self.dtype = torch.device(device), dtype
        w = connectome.signed_chemical.tocsr() * params.weight_per_synapse  # [pre, post], mV per spike
        w.sort_indices()
        self.out_ptr = torch.as_tensor(w.indptr, dtype=torch.int64, device=self.device)
        self.out_post = torch.as_tensor(w.indices, dtype=torch.int64, device=self.device)
        self.out_weight = torch.as_tensor(w.data, dtype=dtype, device=self.device)
        elec = connectome.electrical.copy()
        elec.setdiag(0)
        elec.eliminate_zeros()
        self.use_gaps = params.gap_weight > 0 and elec.nnz > 0
        self.gaps = _torch_csr(elec * params.gap_weight, self.device, dtype)
        self.gap_degree = torch.as_tensor(np.asarray(elec.sum(axis=1)).ravel() * params.gap_weight, dtype=dtype,
                                          device=self.device)[:, None]
        self.delay_steps = round(params.delay / dt)  # Brian2 rounds synaptic delays to the nearest step

    def with_params(self, **changes) -> LIFNetwork:
        """A copy of this network with some parameters replaced (e.g. ``gap_weight=0.1``)."""
        return LIFNetwork(self.connectome, replace(self.params, **changes), self.dt, self.duration,
                          self.input_neurons, self.input_scale, self.device, self.dtype)

    def _neuron_batch(self, x, batch: int, what: str) -> torch.Tensor:
        """A per-neuron quantity as (neurons, batch) from a scalar, (neurons,) or (batch, neurons)."""
        n = self.connectome.n_neurons
        t = torch.as_tensor(0.0 if x is None else x, dtype=self.dtype, device=self.device)
        if t.ndim == 0 or t.shape == (n,):
            return t.reshape(-1, 1).expand(n, batch) if t.ndim else t.expand(n, batch)
        if t.shape == (batch, n):
            return t.T
        raise DataValidationError(f"{what} must be a scalar, ({n},) or ({batch}, {n}); got {tuple(t.shape)}")

    def simulate(
        self,
        duration: float | None = None,
        current=None,
        input_spikes=None,
        poisson_rate=None,
        batch: int | None = None,
        seed: int = 0,
        record_spikes: bool = True,
    ) -> SpikeResult:
        """Run the network from rest for ``duration`` ms.

        ``current``: constant drive (mV), scalar, ``(neurons,)`` or ``(batch, neurons)``.
        ``input_spikes``: bool ``(steps, neurons)`` or ``(steps, batch, neurons)``; each adds ``input_weight``
        to ``v`` at that step. ``poisson_rate``: Hz per neuron (scalar, ``(neurons,)`` or
        ``(batch, neurons)``), drawn each step with a generator seeded by ``seed``.
        """
        p, n, dt = self.params, self.connectome.n_neurons, self.dt
        duration = self.duration if duration is None else float(duration)
        steps = round(duration / dt)
        if steps < 1:
            raise DataValidationError(f"duration {duration} ms is shorter than one step of {dt} ms")
        shapes = [torch.as_tensor(x).shape for x in (current, poisson_rate) if x is not None]
        if input_spikes is not None:
            shapes.append(torch.as_tensor(input_spikes).shape[1:])
        batch = batch or next((s[0] for s in shapes if len(s) == 2), 1)
        drive = self._neuron_batch(current, batch, "current")
        inputs = None
        if input_spikes is not None:
            inputs = torch.as_tensor(input_spikes, device=self.device).bool()
            if inputs.ndim == 2:
                inputs = inputs[:, None, :].expand(-1, batch, -1)
            if inputs.shape != (steps, batch, n):
                raise DataValidationError(
                    f"input_spikes must be ({steps}, {n}) or ({steps}, {batch}, {n}) for "
                    f"{duration} ms at dt={dt}; got {tuple(inputs.shape)}"
                )
            inputs = inputs.permute(0, 2, 1)  # (steps, neurons, batch)
        poisson = None
        if poisson_rate is not None:
            poisson = self._neuron_batch(poisson_rate, batch, "poisson_rate") * (dt / 1000.0)
            if (poisson < 0).any() or (poisson > 1).any():
                raise DataValidationError("poisson_rate must be >= 0 and at most 1 spike per step (1000 / dt Hz)")
        refractory = torch.full((n, batch), _steps(p.refractory, dt), dtype=torch.int64, device=self.device)
        if p.input_refractory is not None:
            for driven in (inputs.any(0) if inputs is not None else None, poisson > 0 if poisson is not None else None):
                if driven is not None:
                    refractory[driven] = _steps(p.input_refractory, dt)
        generator = torch.Generator(device=self.device).manual_seed(seed)

        # exact one-step propagators of the linear ODE (Brian2 "linear")
        decay_m, decay_s = math.exp(-dt / p.tau_m), math.exp(-dt / p.tau_syn)
        same_tau = p.tau_syn == p.tau_m
        g_to_v = dt / p.tau_m * decay_m if same_tau else p.tau_syn * (decay_s - decay_m) / (p.tau_syn - p.tau_m)
        exponential = p.synapse == "exponential"
        rest = p.v_rest + drive
        rest_part = rest * (1 - decay_m)  # v(t + dt) = rest_part + decay_m * v(t) + g_to_v * g(t)
        v = torch.full((n, batch), p.v_rest, dtype=self.dtype, device=self.device)
        g = torch.zeros_like(v)
        ready = torch.full((n, batch), -(10**9), dtype=torch.int64, device=self.device)  # step a neuron may fire
        delay = self.delay_steps
        chunk = max(delay, 1)
        # spikes of the last `delay` steps are read from the record (or, when not recording, from a ring)
        record = torch.zeros((steps if record_spikes else chunk, n, batch), dtype=torch.bool, device=self.device)
        counts = torch.zeros((n, batch), dtype=torch.int64, device=self.device)
        for start in range(0, steps, chunk):
            stop = min(start + chunk, steps)
            if delay > 0 and start > 0:
                events = self._propagate(record[start - delay : stop - delay] if record_spikes
                                         else record[: stop - start])
            else:
                events = None
            for step in range(start, stop):
                if self.use_gaps:
                    gap_part = (torch.sparse.mm(self.gaps, v) - self.gap_degree * v) * (1 - decay_m)
                    v_new = torch.add(rest_part + gap_part, v, alpha=decay_m)
                else:
                    v_new = torch.add(rest_part, v, alpha=decay_m)
                if exponential:
                    v_new.add_(g, alpha=g_to_v)
                    g.mul_(decay_s)
                active = ready <= step
                fired = (v_new > p.v_threshold) & active
                ready = torch.where(fired, refractory + step, ready)
                free = active ^ fired
                if delay == 0:
                    events = self._propagate(fired[None])
                if events is not None:
                    syn = events[step - start]
                    if exponential:
                        g.add_(syn)
                    else:
                        v_new.add_(syn)
                if inputs is not None:
                    v_new.add_(inputs[step], alpha=p.input_weight)
                if poisson is not None:
                    noise = torch.rand(v.shape, generator=generator, device=self.device, dtype=self.dtype)
                    v_new.add_(noise < poisson, alpha=p.input_weight)
                v = torch.where(free, v_new, p.v_reset)
                g.mul_(free)
                record[step if record_spikes else step - start] = fired
                if not record_spikes:
                    counts += fired
        if record_spikes:
            counts = record.sum(0)
        spikes = record.permute(0, 2, 1) if record_spikes else None
        return SpikeResult(spikes=spikes, counts=counts.T, dt=dt, duration=steps * dt, neurons=self.connectome.neurons)

    def _propagate(self, fired: torch.Tensor) -> torch.Tensor | None:
        """Synaptic input ``(k, neurons, batch)`` from spikes ``(k, neurons, batch)``; None if none fired.

        Event-driven: only the outgoing synapses of the neurons that fired are read (rows of the
        ``[pre, post]`` CSR matrix) and summed into their targets, so the cost grows with the synaptic events.
        """
        step, pre, trial = torch.nonzero(fired, as_tuple=True)
        if len(pre) == 0:
            return None
        k, n, batch = fired.shape
        starts, fanout = self.out_ptr[pre], self.out_ptr[pre + 1] - self.out_ptr[pre]
        spike = torch.repeat_interleave(torch.arange(len(pre), device=self.device), fanout)
        first = torch.cumsum(fanout, 0) - fanout
        synapse = starts[spike] + torch.arange(len(spike), device=self.device) - first[spike]
        target = (step[spike] * n + self.out_post[synapse]) * batch + trial[spike]
        events = torch.zeros(k * n * batch, dtype=self.dtype, device=self.device)
        events.index_add_(0, target, self.out_weight[synapse])
        return events.view(k, n, batch)

    def steady_response(self, currents: np.ndarray) -> np.ndarray:
        """Firing rates (Hz) over ``duration`` under constant currents (no Poisson input: deterministic)."""
        return self.simulate(current=currents, batch=len(currents), record_spikes=False).rates()
