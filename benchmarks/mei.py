"""MEIs for 100 units of the synthetic brain: all units in one batch vs one unit at a time (Walker et al. 2019's
per-neuron procedure), same settings, same seeds, in the same run; prints the speed-up and checks that both
give the same images (batching is exact: each image's objective depends only on its own unit, and every
random draw is per unit).

Run: .venv/bin/python benchmarks/mei.py [--units 100] [--steps 200] [--seeds 4] [--threads 1] [--device cpu]
The machine that ran it, the thread count and the device are printed with the numbers.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from neurosafe.data import SyntheticBrain
from neurosafe.interp import AscentConfig, most_exciting_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    brain = SyntheticBrain(n_neurons=args.units, seed=0)
    brain.module.to(args.device)
    config = AscentConfig(steps=args.steps)
    units = np.arange(args.units)

    def run(batch_size: int | None):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        result = most_exciting_inputs(brain, units=units, n_seeds=args.seeds, config=config, batch_size=batch_size)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return result, time.perf_counter() - t0

    run(None)  # warm-up (allocations, kernels)
    batched, t_batched = run(None)
    single, t_single = run(1)
    a, b = batched["seed_activation"].values, single["seed_activation"].values
    same = np.allclose(a, b, rtol=1e-3, atol=1e-6)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, device {args.device}, "
          f"threads {torch.get_num_threads()}")
    print(f"{args.units} units x {args.seeds} seeds x {args.steps} steps")
    print(f"one unit at a time: {t_single:.2f} s")
    print(f"batched:            {t_batched:.2f} s")
    print(f"speed-up: {t_single / t_batched:.1f}x; same MEI responses: {same} "
          f"(max relative difference {np.max(np.abs(a - b) / np.abs(b).clip(1e-9)):.2e})")


if __name__ == "__main__":
    main()
