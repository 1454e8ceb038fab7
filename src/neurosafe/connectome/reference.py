"""The same LIF network in Brian2 (numpy code generation), the peer that :class:`LIFNetwork` is checked and
benchmarked against. Brian2 (Stimberg et al. 2019, eLife 8:e47314) is a dev dependency, imported on use.

The network is written as Shiu et al. 2024 wrote theirs: a ``NeuronGroup`` integrated with
``method="linear"``, ``unless refractory`` equations, a per-neuron refractory period, ``Synapses`` with
``on_pre`` and a fixed delay; gap junctions are a summed variable ``I_gap``; pre-drawn input spikes come
from a ``SpikeGeneratorGroup`` whose synapses add ``input_weight`` to ``v``.
"""

from __future__ import annotations

import time

import numpy as np

from neurosafe.connectome.graph import Connectome
from neurosafe.connectome.lif import LIFParams
from neurosafe.core.errors import NeurosafeError

__all__ = ["simulate_brian2"]


def simulate_brian2(
    connectome: Connectome,
    params: LIFParams,
    dt: float,
    duration: float,
    current: np.ndarray | None = None,
    input_spikes: np.ndarray | None = None,
) -> tuple[dict[int, np.ndarray], float]:
    """Run the network in Brian2's numpy target; return ``({neuron: spike times in ms}, run wall-time in s)``.

    ``current``: constant drive (mV) per neuron; ``input_spikes``: bool ``(steps, neurons)``.
    """
    try:
        import brian2 as b2
    except ImportError as err:
        raise NeurosafeError(
            "the Brian2 reference needs brian2 (the `dev` extra): pip install 'brian2>=2.7'"
        ) from err
    from brian2 import ms, mV

    b2.prefs.codegen.target = "numpy"
    p, n = params, connectome.n_neurons
    clock = {"dt": dt * ms}
    exponential = p.synapse == "exponential"
    elec = connectome.electrical.copy()
    elec.setdiag(0)
    elec.eliminate_zeros()
    gaps = p.gap_weight > 0 and elec.nnz > 0
    eqs = (
        "dv/dt = (v_rest - v{g}{gap} + I) / tau_m : volt (unless refractory)\nI : volt (constant)\n"
        "rfc : second (constant)\n".format(g=" + g" if exponential else "", gap=" + I_gap" if gaps else "")
    )
    if exponential:
        eqs += "dg/dt = -g / tau_syn : volt (unless refractory)\n"
    if gaps:
        eqs += "I_gap : volt\n"
    namespace = {
        "v_rest": p.v_rest * mV,
        "v_reset": p.v_reset * mV,
        "v_th": p.v_threshold * mV,
        "tau_m": p.tau_m * ms,
        "tau_syn": p.tau_syn * ms,
    }
    group = b2.NeuronGroup(
        n,
        eqs,
        threshold="v > v_th",
        reset="v = v_reset" + ("; g = 0*mV" if exponential else ""),
        refractory="rfc",
        method="linear",
        namespace=namespace,
        **clock,
    )
    group.v = p.v_rest * mV
    group.I = (np.zeros(n) if current is None else np.broadcast_to(np.asarray(current, float), (n,))) * mV
    refractory = np.full(n, p.refractory)
    objects = [group]

    w = connectome.signed_chemical.tocoo()
    syn = b2.Synapses(
        group, group, "w : volt", on_pre=("g += w" if exponential else "v += w"), delay=p.delay * ms, **clock
    )
    syn.connect(i=w.row, j=w.col)
    syn.w = w.data * p.weight_per_synapse * mV
    objects.append(syn)
    if gaps:
        e = elec.tocoo()
        gap = b2.Synapses(
            group, group, "w_gap : 1\nI_gap_post = w_gap * (v_pre - v_post) : volt (summed)", **clock
        )
        gap.connect(i=e.row, j=e.col)
        gap.w_gap = e.data * p.gap_weight
        objects.append(gap)
    if input_spikes is not None and np.any(input_spikes):
        steps, targets = np.nonzero(np.asarray(input_spikes, bool))
        source = b2.SpikeGeneratorGroup(n, targets, steps * dt * ms, **clock)
        drive = b2.Synapses(source, group, on_pre=f"v += {p.input_weight}*mV", **clock)
        drive.connect(j="i")
        objects += [source, drive]
        if p.input_refractory is not None:
            refractory[np.unique(targets)] = p.input_refractory
    group.rfc = refractory * ms
    monitor = b2.SpikeMonitor(group)
    net = b2.Network(*objects, monitor)
    start = time.perf_counter()
    net.run(duration * ms)
    wall = time.perf_counter() - start
    return {int(i): np.asarray(t / ms) for i, t in monitor.spike_trains().items() if len(t)}, wall
