"""BToM inference speed: one food-truck scenario (10 x 15 map, 3 truck types, a 20-step path, the hidden
spot behind a wall), belief simplex in steps of 1/10 (66 initial beliefs over the 3 worlds the agent
considers) x 5^3 = 125 desires = 8,250 hypotheses, exact enumeration, one core.

- neurosafe ``btom_infer`` (belief-space planner, shortest-distance fixed point within each information set);
- the peer: the same planner with textbook synchronous Bellman sweeps (``method="sweeps"``), same answer.

Prints wall times (best of 3) and the ratio peer / neurosafe (> 1: neurosafe is faster), and checks that the
two posteriors agree; then times the ChiRho counterfactual on the planning agent (``agent_counterfactual``).
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/btom.py [--resolution 20]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import time
from importlib.resources import files

import numpy as np

from neurosafe.cognitive import BToM, load_scenario
from neurosafe.cognitive.agent import BeliefSpacePlanner


def _best(fn, repeats=3):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    resolution = int(sys.argv[sys.argv.index("--resolution") + 1]) if "--resolution" in sys.argv else 10
    scenario = load_scenario(files("neurosafe.cognitive") / "scenarios" / "foodtruck.json")
    scenario = scenario.model_copy(update={"model": scenario.model.model_copy(
        update={"belief_resolution": resolution})})
    fast = BToM.variant("btom", scenario)
    slow = BToM(beliefs=fast.beliefs, desires=fast.desires, planner=BeliefSpacePlanner(fast.planner.beta,
                                                                                        method="sweeps"))
    t_fast, post = _best(lambda: fast.infer(scenario))
    t_slow, ref = _best(lambda: slow.infer(scenario), repeats=1)
    n_b = len(fast.beliefs.grid(scenario.hypotheses(), 0)[0])
    print(f"map {scenario.world.shape[0]} x {scenario.world.shape[1]}, path {len(scenario.path)} steps, "
          f"belief resolution 1/{resolution} ({n_b} beliefs) x {len(fast.desires.grid(3)[0])} desires")
    print(f"neurosafe btom_infer: {t_fast:.3f} s; Bellman sweeps: {t_slow:.3f} s; ratio {t_slow / t_fast:.1f}x")
    print(f"max |posterior difference| = {np.abs(post.joint - ref.joint).max():.2e}")
    print("desire ratings:", dict(zip(post.types, np.round(post.desire_rating[-1], 2).tolist(), strict=True)))
    # the counterfactual on the planning agent (ChiRho twin worlds; 2,000 posterior draws; horizon 45 steps)
    from neurosafe.cognitive import agent_counterfactual

    agent_counterfactual(scenario, {"visible": 1}, "looks:B", n_samples=50)  # imports
    t_cf, cf = _best(lambda: agent_counterfactual(scenario, {"visible": 1}, "looks:B", n_samples=2000))
    print(f"counterfactual P(looks:B | do(visible=1), path) = {cf.value:.4f} (factual {cf.factual_value:.0f}): "
          f"{t_cf:.3f} s for 2,000 draws ({t_cf / t_fast:.1f}x one exact inference)")


if __name__ == "__main__":
    main()
