"""Model recovery of training objectives and the objective comparison on real data (issue 15, items 1-3).

Trains the objective zoo (6 objectives x 2 candidate seeds at 16-32-64 channels; 6 x 2 brain networks at
12-24-48 channels on other natural patches: held out by seed, width and training images; 16 px patches,
sized for two shared CPU cores), compares the candidates with Cowley V4 (session 210325) and the
Kriegeskorte 92-image IT RDMs, then runs the recovery grid (stimuli x neurons, Poisson noise, 4 repeats;
one brain at a time). Resumable: trained networks stay in the store, finished brains in the CSV.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python scripts/experiments/objectives_recovery.py runs/objectives-exp

Environment: SKIP_REAL=1 skips the real-data stage; PART=k NPART=n splits the brains over n processes
(part 0 then assembles the figures once every part's CSV is complete; FINAL=1 only assembles).

Writes OUT/recovery.json, OUT/confusion.png, OUT/identifiability.png, OUT/real.json, OUT/real_*.png.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neurosafe.cli.common import to_jsonable
from neurosafe.core.io import atomic_path
from neurosafe.data.datasets import load_cowley2023, load_kriegeskorte92
from neurosafe.objectives import OBJECTIVES, ObjectiveConfig, objective_of, train_zoo
from neurosafe.objectives.engine import compare_objectives, plot_comparison
from neurosafe.objectives.recovery import RecoveryResult, plot_confusion, plot_identifiability, recovery_experiment
from neurosafe.subjects.store import load_stored

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/objectives-exp")
STORE = OUT / "store"
CAND_SEEDS = (0, 1)
BRAIN_SEEDS = (100, 101)
N_STIMULI = (92, 100, 300, 640, 2000)
N_NEURONS = (50, 200)
METRICS = ("ridge", "cka", "shape")
RIDGE = {"alphas": tuple(np.logspace(-2, 6, 5)), "n_folds": 3}
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CAND = ObjectiveConfig(n_images=1500, epochs=3, batch_size=64, supervised_epochs=5)
BRAIN = CAND.model_copy(update={"widths": (12, 24, 48), "data_seed": 1})


def write(name: str, payload: dict) -> None:
    with atomic_path(OUT / name) as tmp:
        tmp.write_text(json.dumps(to_jsonable(payload), indent=2))


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def real_data(candidates: dict) -> None:
    if (OUT / "real.json").exists():
        return
    real = {}
    if (DATA / "v4-cowley2023").is_dir():
        rec = load_cowley2023(DATA / "v4-cowley2023")
        stim = rec.stimuli.resized(16, grey=True)
        res = compare_objectives(candidates, stim, rec.responses, n_boot=100, seed=0, progress=False)
        plot_comparison(res, OUT / "real_cowley.png", title="Cowley V4 210325")
        real["cowley_v4_210325"] = res.to_dict()
        log(f"cowley: {res.winners} consensus {res.consensus} W {res.kendall_w} {res.kendall_w_ci}")
    if (DATA / "rsa92-kriegeskorte2008").is_dir():
        rec = load_kriegeskorte92(DATA / "rsa92-kriegeskorte2008")
        stim = rec.stimuli.resized(16, grey=True)
        for key, groups in (("human_it", "subject"), ("monkey_it", None)):
            res = compare_objectives(candidates, stim, rdms=rec.extras[key], groups=groups, n_boot=100, seed=0,
                                     progress=False)
            plot_comparison(res, OUT / f"real_kriegeskorte_{key}.png", title=f"Kriegeskorte 92: {key}")
            real[f"kriegeskorte92_{key}"] = res.to_dict()
            log(f"kriegeskorte {key}: {res.winners} consensus {res.consensus} W {res.kendall_w} {res.kendall_w_ci}")
    write("real.json", real)


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    cand = train_zoo(OBJECTIVES, CAND_SEEDS, CAND, STORE, OUT / "checkpoints", progress=False)
    log(f"candidates trained ({time.time() - t0:.0f} s)")
    candidates = {n: (objective_of(n), load_stored(n, 1, STORE)) for n in cand}
    if os.environ.get("SKIP_REAL") != "1":  # SKIP_REAL=1: a second process runs the recovery meanwhile
        real_data(candidates)
    brains = train_zoo(OBJECTIVES, BRAIN_SEEDS, BRAIN, STORE, OUT / "checkpoints", progress=False)
    log(f"brains trained ({time.time() - t0:.0f} s)")
    brain_nets = [(objective_of(n), load_stored(n, 1, STORE)) for n in brains]
    # the grid, one brain at a time (resumable); PART=k of NPART processes takes brains i % NPART == k
    part_no, n_parts = int(os.environ.get("PART", 0)), int(os.environ.get("NPART", 1))
    picks_file = OUT / f"recovery_picks_{part_no}.csv"
    done = pd.read_csv(picks_file) if picks_file.exists() else pd.DataFrame()
    finished = {b for f in OUT.glob("recovery_picks_*.csv") for b in pd.read_csv(f).brain}
    for i, brain in enumerate(brain_nets):
        if i % n_parts != part_no or i in finished or os.environ.get("FINAL") == "1":
            continue
        t1 = time.time()
        part = recovery_experiment(candidates, [brain], N_STIMULI, N_NEURONS, repeats=4, noise="poisson",
                                   metrics=METRICS, sites=("relu3",), brain_pool=4, seed=0, first_brain=i,
                                   ridge_options=RIDGE, allow_repeats=True,
                                   progress=False)
        done = pd.concat([done, part.picks], ignore_index=True)
        with atomic_path(picks_file) as tmp:
            done.to_csv(tmp, index=False)
        log(f"brain {i} ({brain[0]}) done in {time.time() - t1:.0f} s")
    if part_no != 0:
        return
    # the matched check for the 92-image RDMs: RSA-only recovery at 92 stimuli
    if not (OUT / "recovery_rsa92.csv").exists() and os.environ.get("FINAL") != "1":
        r92 = recovery_experiment(candidates, brain_nets, (92,), (200,), metrics=("rsa", "rsa_pearson"), seed=0,
                                  brain_pool=4, allow_repeats=True, progress=False)
        r92.picks.to_csv(OUT / "recovery_rsa92.csv", index=False)
        log("rsa92 recovery: " + r92.accuracy("rsa").to_string())
    done = pd.concat([pd.read_csv(f) for f in sorted(OUT.glob("recovery_picks_*.csv"))], ignore_index=True)
    if len(set(done.brain)) < len(brain_nets):
        log(f"{len(set(done.brain))} of {len(brain_nets)} brains done; run again with FINAL=1 when all parts end")
        return
    result = RecoveryResult(done, tuple(sorted({o for o, _ in candidates.values()})),
                            {"metrics": list(METRICS), "sites": ["relu3"], "candidate_seeds": list(CAND_SEEDS),
                             "brain_seeds": list(BRAIN_SEEDS), "brain_widths": list(BRAIN.widths),
                             "noise": "poisson", "repeats": 4})
    plot_confusion(result, max(N_STIMULI), max(N_NEURONS), OUT / "confusion.png")
    plot_identifiability(result, OUT / "identifiability.png")
    plot_identifiability(result, OUT / "identifiability_ridge.png", rule="ridge")
    rules = sorted(result.picks.rule.unique())
    write("recovery.json", {**result.to_dict(),
                            "accuracy_by_rule": {r: result.accuracy(r).to_dict(orient="records") for r in rules}})
    log(f"all done ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
