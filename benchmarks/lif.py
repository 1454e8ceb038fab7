"""Speed of neurosafe's torch LIF network vs Brian2 (numpy code generation) on the same networks.

Both simulate the same model (Shiu et al. 2024 parameters), inputs (a constant current and pre-drawn Poisson
spike trains) and step (0.1 ms); the spike trains are checked to be equal. Reported: simulated
neuron-seconds per wall-clock second for each, best of ``--repeats`` runs (Brian2's first run includes its
code generation, so the best run is its steady speed), and their ratio (torch / Brian2).

    python benchmarks/lif.py [--duration 1000] [--repeats 2] [--optic-lobe]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from neurosafe.connectome import SHIU2024, LIFNetwork, load_connectome, random_connectome
from neurosafe.connectome.reference import simulate_brian2

DT = 0.1


def bench(name, connectome, params, duration: float, repeats: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n = connectome.n_neurons
    current = rng.uniform(0, 8, n)
    steps = round(duration / DT)
    driven = rng.random(n) < 0.1
    spikes = (rng.random((steps, n)) < 150 * DT / 1000) & driven
    net = LIFNetwork(connectome, params, dt=DT)
    ours, ours_wall = None, np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        ours = net.simulate(duration, current=current, input_spikes=spikes)
        ours_wall = min(ours_wall, time.perf_counter() - start)
    reference, brian_wall = None, np.inf
    for _ in range(repeats):
        reference, wall = simulate_brian2(
            connectome, params, DT, duration, current=current, input_spikes=spikes
        )
        brian_wall = min(brian_wall, wall)
    trains = ours.spike_trains()
    equal = set(trains) == set(reference) and all(
        len(trains[k]) == len(reference[k]) and np.abs(trains[k] - reference[k]).max() <= DT + 1e-9
        for k in reference
    )
    neuron_seconds = n * duration / 1000.0
    return {
        "network": name,
        "neurons": n,
        "synapses": connectome.chemical.nnz,
        "spikes": int(ours.counts.sum()),
        "torch": neuron_seconds / ours_wall,
        "brian2": neuron_seconds / brian_wall,
        "ratio": brian_wall / ours_wall,
        "equal": equal,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated ms per run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--optic-lobe", action="store_true", help="also the 45,669-cell fly optic lobe (slow)"
    )
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; dt = {DT} ms, "
        f"{args.duration:g} ms simulated"
    )
    networks = [
        ("random 1000 (p=0.1)", random_connectome(1000, 0.1, seed=0), SHIU2024),
        (
            "C. elegans cook2019_herm + gaps",
            load_connectome("cook2019_herm"),
            replace(SHIU2024, weight_per_synapse=1.0, gap_weight=0.05),
        ),
    ]
    if args.optic_lobe:
        networks.append(("fly optic lobe (flyvis)", load_connectome("flyvis_optic_lobe"), SHIU2024))
    header = (
        f"{'network':34s} {'neurons':>8s} {'synapses':>9s} {'spikes':>8s} {'torch':>10s} {'brian2':>10s} "
        f"{'ratio':>6s}  equal"
    )
    print(header + "\n" + "-" * len(header))
    for name, connectome, params in networks:
        r = bench(name, connectome, params, args.duration, args.repeats)
        print(
            f"{r['network']:34s} {r['neurons']:8d} {r['synapses']:9d} {r['spikes']:8d} {r['torch']:10.0f} "
            f"{r['brian2']:10.0f} {r['ratio']:6.2f}  {r['equal']}"
        )
    print(
        "torch / brian2 columns: simulated neuron-seconds per wall-clock second; "
        "ratio = torch speed / Brian2 speed"
    )


if __name__ == "__main__":
    main()
