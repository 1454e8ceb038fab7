"""Reproduce the numbers of docs/navigation.md: labyrinth twins (held out, 5-fold over bouts), the
exploration-efficiency figure, the Turing test, and the Ho et al. 2022 twins (5-fold over participants).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python scripts/experiments/navigation_twins.py runs/navigation

About 7 min (labyrinth, GRU included) + 4 min (Ho) on a loaded 2-core machine. Same as
`neurosafe irl navigation DATA --out DIR` on each data folder.
"""

import sys
import time
from pathlib import Path

from neurosafe.cli.common import to_jsonable
from neurosafe.core.io import save_json
from neurosafe.data.labyrinth import load_labyrinth
from neurosafe.lossinfer.ho2022 import load_ho2022
from neurosafe.lossinfer.navigation_run import run_ho2022_navigation, run_labyrinth

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/navigation")
    t0 = time.time()

    def say(msg: str) -> None:
        print(f"{time.time() - t0:7.1f}s {msg}", file=sys.stderr, flush=True)

    lab = run_labyrinth(load_labyrinth(DATA / "labyrinth-rosenberg2021"), out / "labyrinth", progress=say)
    save_json(out / "labyrinth" / "result.json", to_jsonable(lab))
    ho = run_ho2022_navigation(load_ho2022(DATA / "gridworld-ho2022"), out / "ho2022", progress=say)
    save_json(out / "ho2022" / "result.json", to_jsonable(ho))
    say(f"done: {out}")
