"""Throughput of the learning-rule simulator: networks trained at once (batched weights) vs one at a time.

The default simulator's settings (200 steps, 10 logs, 4 unit counts + 2 noise levels) on a representative
mix of cells (every rule; an MLP and a CNN; digits and regression). Prints networks per CPU-minute for the
batched groups (8 networks per group, as the small default) and for the same networks simulated one per
group (the peer: a plain per-network loop through the same code), and their ratio, measured in this run.
Two cores run two groups at once (the executor), so networks per minute on 2 cores ~ 2 x per CPU-minute.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/rules_simulator.py
"""

from __future__ import annotations

import time

import torch

from neurosafe.rules.simulate import make_config, parse_architecture, simulate_group


def main() -> None:
    torch.set_num_threads(1)
    cells = [(rule, parse_architecture(a), task) for rule in ("sgd", "momentum", "adam", "fa", "hebbian")
             for a, task in (("mlp-d2-w64", "digits"), ("cnn-d1-w8", "regression"))]
    batched, single = make_config(networks_per_group=8), make_config(networks_per_group=1)
    cpu_b = cpu_s = 0.0
    for rule, arch, task in cells:
        t = time.process_time()
        simulate_group(batched, rule, arch, task)
        cpu_b += time.process_time() - t
        t = time.process_time()
        for rep in range(8):
            simulate_group(single, rule, arch, task, rep)
        cpu_s += time.process_time() - t
    n = 8 * len(cells)
    rate_b, rate_s = 60 * n / cpu_b, 60 * n / cpu_s
    print(f"batched (8 per group): {n} networks in {cpu_b:.1f} CPU-s = {rate_b:.0f} networks per CPU-minute "
          f"(~{2 * rate_b:.0f} per minute on 2 cores)")
    print(f"one at a time:         {n} networks in {cpu_s:.1f} CPU-s = {rate_s:.0f} networks per CPU-minute")
    print(f"ratio batched / one-at-a-time: {rate_b / rate_s:.1f}x")


if __name__ == "__main__":
    main()
