"""Learning-rule identification sweep (Nayebi et al. 2020), resumable. Results and figures in --out.

Small default run (560 networks, minutes on 2 cores):
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python scripts/experiments/rules_sweep.py --out runs/rules_small
Full run (2,400 networks; hours on 2 cores; rerun the same command to resume after an interruption):
    OMP_NUM_THREADS=1 nice -n 10 nohup .venv/bin/python scripts/experiments/rules_sweep.py --full \
        --out runs/rules_full > runs/rules_full.log 2>&1 &
Prints the throughput (networks simulated per minute of wall time, this process only) and the accuracies.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from neurosafe.rules.pipeline import run_identification
from neurosafe.rules.simulate import SimulationConfig, simulate_rules


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--full", action="store_true", help="the >= 1,000-network sweep")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = SimulationConfig.full(seed=args.seed) if args.full else SimulationConfig(seed=args.seed)
    t0, cpu0 = time.time(), time.process_time()
    obs = simulate_rules(config, args.out)
    wall, cpu = time.time() - t0, time.process_time() - cpu0
    print(f"simulated {config.n_networks} networks ({obs.sizes['network']} stored) in {wall:.0f} s wall, "
          f"{cpu:.0f} s CPU: {60 * config.n_networks / max(wall, 1e-9):.0f} networks/min wall, "
          f"{60 * config.n_networks / max(cpu, 1e-9):.0f} networks per CPU-minute", flush=True)
    result = run_identification(obs, args.out, seed=args.seed)
    result["throughput"] = {"networks": config.n_networks, "wall_s": wall, "cpu_s": cpu}
    print(json.dumps({k: result[k] for k in ("n_networks", "held_out", "chance", "accuracy", "training")},
                     indent=1))
    for row in result["curves"]:
        print(row)


if __name__ == "__main__":
    main()
