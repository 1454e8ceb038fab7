"""Planted-agent evaluation of the BToM observer (the numbers in docs/cognitive.md): 500 agents in 25
random 6 x 9 worlds, desires a strict ranking of utilities (0, 6, 12) drawn from the prior, initial beliefs
from the belief simplex in steps of 1/4, beta = 2; the observer is the same model (well specified) and one
that over-estimates rationality (beta = 10).

Run: OMP_NUM_THREADS=1 .venv/bin/python scripts/experiments/cognitive_planted.py [--seed 0]
"""

from __future__ import annotations

import json
import sys

from neurosafe.cognitive import BToM
from neurosafe.cognitive.agent import BeliefSpacePlanner, SimplexGrid, UtilityGrid
from neurosafe.cognitive.planted import planted_agents
from neurosafe.cognitive.safety import evaluate_planted


def main() -> None:
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 0
    model = BToM(beliefs=SimplexGrid(4), desires=UtilityGrid((0.0, 6.0, 12.0), 1.0, distinct=True),
                 planner=BeliefSpacePlanner(2.0))
    agents = planted_agents(500, seed, model, n_worlds=25, height=6, width=9)
    for name, observer in (("well specified", model),
                           ("beta x5", BToM(model.percept, model.beliefs, model.desires, BeliefSpacePlanner(10.0)))):
        ev = evaluate_planted(agents, observer, seed=seed, n_boot=1000).to_dict()
        ev["clarification"] = {k: ev["clarification"][k] for k in ("area", "area_ci")}
        print(name, json.dumps(ev, indent=1, default=float))


if __name__ == "__main__":
    main()
