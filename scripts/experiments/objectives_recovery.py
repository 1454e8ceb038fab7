"""Model recovery for the objective zoo, then the real-data tables with the matched recovery accuracy.

Candidates: 6 objectives x 2 seeds (16-32-64 channels, training patches of data_seed 0). Synthetic brains
(held out: 12-24-48 channels, other seeds, other training patches (data_seed 1)) in two disjoint sets:
DEVELOPMENT brains (seeds 100-101 per objective), on which the decision rule is chosen, and HELD-OUT brains
(seeds 200-204 per objective), on which it is reported. A brain's neurons are responsive units (non-constant
on natural patches) of its last two conv layers (relu2 and relu3, single positions of a 4 x 4 pooled map),
without replacement, 4 Poisson repeats at 5 spikes mean. The engine compares every candidate layer (relu1-3,
best layer chosen on a held-out half of the stimuli) with ridge, CKA and the shape distance; every
candidate's committed score per brain x data size is kept so that decision rules can be applied after.
Matched recoveries: the same brains recorded on the Cowley V4 images (640 x 50 neurons) and on the 92
Kriegeskorte images (92 x 200 neurons, RSA metrics only, as the real data are RDMs).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python scripts/experiments/objectives_recovery.py runs/objectives-exp

Environment: PART=k NPART=n splits the networks / brains over n processes (part 0 assembles once every
part's CSVs are complete; FINAL=1 only assembles). Resumable: trained networks sit in OUT/store (the model
store, names objective:NAME[:wW]:seedK), each brain's scores in OUT/scores/<set>_<brain>.csv.

Writes OUT/recovery.json, OUT/confusion.png, OUT/identifiability*.png, OUT/real.json, OUT/real_*.png.
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
from neurosafe.core.errors import DataValidationError
from neurosafe.core.io import atomic_path
from neurosafe.core.seeds import child_seed
from neurosafe.data.datasets import load_cowley2023, load_kriegeskorte92
from neurosafe.data.stimuli import natural_patches
from neurosafe.objectives import OBJECTIVES, ObjectiveConfig, model_name, objective_of, train_zoo
from neurosafe.objectives.engine import SITES, compare_objectives, features_of, plot_comparison
from neurosafe.objectives.recovery import (
    RecoveryResult,
    apply_rule,
    plot_confusion,
    plot_identifiability,
    recovery_experiment,
    select_rule,
    with_rules,
)
from neurosafe.subjects.store import list_stored, load_stored

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/objectives-exp")
STORE = OUT / "store"
CAND_SEEDS = (0, 1)
DEV_SEEDS = (100,)
TEST_SEEDS = (200, 201, 202, 203)
N_STIMULI = (100, 300, 2000)
N_NEURONS = (200,)
TARGET = (2000, 200)
METRICS = ("ridge", "cka")
RULES = ("mean:ridge", "mean:cka", "mean:ridge+cka", "max:ridge", "profile:ridge", "profile:cka",
         "profile:ridge+cka")
RSA_RULES = ("mean:rsa", "mean:rsa_pearson", "mean:rsa+rsa_pearson", "profile:rsa", "profile:rsa+rsa_pearson")
BRAIN_SITES = ("relu2", "relu3")
RIDGE = {"alphas": tuple(np.logspace(-2, 6, 5)), "n_folds": 3}
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
EPOCHS = int(os.environ.get("EPOCHS", 8))
N_IMAGES = int(os.environ.get("N_IMAGES", 4000))
CAND = ObjectiveConfig(n_images=N_IMAGES, epochs=EPOCHS, batch_size=64, supervised_epochs=10)
BRAIN = CAND.model_copy(update={"widths": (12, 24, 48), "data_seed": 1})
PART, NPART = int(os.environ.get("PART", 0)), int(os.environ.get("NPART", 1))


def write(name: str, payload: dict) -> None:
    with atomic_path(OUT / name) as tmp:
        tmp.write_text(json.dumps(to_jsonable(payload), indent=2))


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def real_sets() -> dict:
    sets = {}
    if (DATA / "v4-cowley2023").is_dir():
        rec = load_cowley2023(DATA / "v4-cowley2023")
        sets["cowley"] = (rec.stimuli.resized(16, grey=True), rec)
    if (DATA / "rsa92-kriegeskorte2008").is_dir():
        rec = load_kriegeskorte92(DATA / "rsa92-kriegeskorte2008")
        sets["k92"] = (rec.stimuli.resized(16, grey=True), rec)
    return sets


def train(configs: list[tuple[ObjectiveConfig, tuple[int, ...]]]) -> None:
    """Train (or find in the store) this part's share of every (objective, seed) cell."""
    for config, seeds in configs:
        cells = [(o, s) for s in seeds for o in OBJECTIVES]
        for o, s in [c for k, c in enumerate(cells) if k % NPART == PART]:
            t = time.time()
            train_zoo((o,), (s,), config, STORE, OUT / "checkpoints", progress=False)
            log(f"trained {o} seed {s} widths {config.widths} ({time.time() - t:.0f} s)")


def candidate_features(candidates: dict, sets: dict) -> dict:
    """{stimulus set: (stimuli, {network: (objective, {site: features})})}, computed once per process."""
    patches = natural_patches(max(N_STIMULI), 16, seed=child_seed(0, "recovery stimuli"))
    out = {}
    for key, stim in (("patches", patches), *((k, v[0]) for k, v in sets.items())):
        out[key] = (stim, {n: (o, features_of(m, stim, SITES, 2)) for n, (o, m) in candidates.items()})
    return out


def brain_scores(kind: str, brains: list[tuple[int, str]], feats: dict) -> None:
    """Each brain's candidate scores on the natural-patch grid and the matched real-stimulus runs."""
    folder = OUT / "scores"
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in brains:
        path = folder / f"{kind}_{i:03d}.csv"
        if path.exists():
            continue
        t = time.time()
        net = [(objective_of(name), load_stored(name, 1, STORE))]
        kw = {"repeats": 4, "noise": "poisson", "site": BRAIN_SITES, "brain_pool": 4, "seed": 0,
              "first_brain": i + (1000 if kind == "test" else 0), "ridge_options": RIDGE, "progress": False}
        stim, cands = feats["patches"]
        parts = [recovery_experiment(cands, net, N_STIMULI, N_NEURONS, metrics=METRICS, stimuli=stim, **kw).scores
                 .assign(stimuli="patches")]
        if "cowley" in feats:
            stim, cands = feats["cowley"]
            parts.append(recovery_experiment(cands, net, (len(stim),), (50,), metrics=METRICS, stimuli=stim,
                                             **kw).scores.assign(stimuli="cowley"))
        if "k92" in feats:
            stim, cands = feats["k92"]
            try:
                parts.append(recovery_experiment(cands, net, (len(stim),), (200,), metrics=("rsa", "rsa_pearson"),
                                                 stimuli=stim, **kw).scores.assign(stimuli="k92"))
            except DataValidationError as err:  # a layer constant on an image: no RDM; say so in the log
                log(f"{kind} brain {i}: 92-image RSA recovery skipped: {err}")
        with atomic_path(path) as tmp:
            pd.concat(parts, ignore_index=True).to_csv(tmp, index=False)
        log(f"{kind} brain {i} ({name}) scored in {time.time() - t:.0f} s")


def result_of(kind: str, stimuli: str) -> RecoveryResult:
    sc = pd.concat([pd.read_csv(f) for f in sorted((OUT / "scores").glob(f"{kind}_*.csv"))], ignore_index=True)
    sc = sc[sc.stimuli == stimuli].drop(columns="stimuli")
    picks = sc[["brain", "true", "n_stimuli", "n_neurons"]].drop_duplicates().assign(rule="none", picked="",
                                                                                      correct=False)
    return RecoveryResult(picks, tuple(sorted(OBJECTIVES)), {"set": kind, "stimuli": stimuli}, sc)


def real_scores(res, label: str) -> pd.DataFrame:
    t = res.table
    return pd.DataFrame({"brain": -1, "true": label, "n_stimuli": res.info["n_stimuli"],
                         "n_neurons": res.info["n_neurons"] or 0, "network": t.network, "objective": t.objective,
                         "metric": t.metric, "site": t.site, "value": t.value,
                         "higher_is_better": t.higher_is_better.astype(bool)})


def assemble(candidates: dict, sets: dict) -> None:
    objectives = tuple(sorted(OBJECTIVES))
    dev, test = result_of("dev", "patches"), result_of("test", "patches")
    chosen, dev_table = select_rule(dev, RULES, *TARGET)
    log(f"rule chosen on development brains at {TARGET}: {chosen}\n{dev_table}")
    test = with_rules(test, RULES, development=dev)
    test = RecoveryResult(test.picks[test.picks.rule != "none"], objectives, test.info, test.scores)
    plot_confusion(test, *TARGET, OUT / "confusion.png", rule=chosen)
    plot_identifiability(test, OUT / "identifiability.png", rule=chosen)
    plot_identifiability(test, OUT / "identifiability_ridge.png", rule="mean:ridge")
    summary = {"chosen_rule": chosen, "target": TARGET, "development": dev_table.to_dict(orient="records"),
               "n_dev_brains": int(dev.scores.brain.nunique()), "n_test_brains": int(test.scores.brain.nunique()),
               "accuracy_by_rule": {r: test.accuracy(r).to_dict(orient="records") for r in RULES},
               "confusion": test.confusion(*TARGET, rule=chosen).to_dict(orient="index"),
               "row_rates": test.row_rates(*TARGET, rule=chosen).to_dict(orient="records"),
               "config": {"candidates": CAND.model_dump(), "brains": BRAIN.model_dump(),
                          "candidate_seeds": CAND_SEEDS, "dev_seeds": DEV_SEEDS, "test_seeds": TEST_SEEDS,
                          "brain_sites": BRAIN_SITES, "metrics": METRICS}}
    real = {}
    for key, stim_kind, rules, metrics in (("cowley", "cowley", RULES, METRICS),
                                           ("k92", "k92", RSA_RULES, ("rsa", "rsa_pearson"))):
        if key not in sets:
            continue
        mdev, mtest = result_of("dev", stim_kind), result_of("test", stim_kind)
        size = (int(mdev.scores.n_stimuli.iloc[0]), int(mdev.scores.n_neurons.iloc[0]))
        mchosen, mdev_table = select_rule(mdev, rules, *size)
        mtest = with_rules(mtest, rules, development=mdev)
        matched = {r: mtest.accuracy(r).iloc[0].to_dict() for r in rules}
        stim, rec = sets[key]
        runs = ([("cowley_v4_210325", {"responses": rec.responses})] if key == "cowley" else
                [("kriegeskorte92_human_it", {"rdms": rec.extras["human_it"], "groups": "subject"}),
                 ("kriegeskorte92_monkey_it", {"rdms": rec.extras["monkey_it"]})])
        for label, kw in runs:
            res = compare_objectives(candidates, stim, metrics=metrics, n_boot=100, seed=0, progress=False, **kw)
            plot_comparison(res, OUT / f"real_{label}.png", title=label)
            picks = {r: apply_rule(real_scores(res, label), r, objectives, mdev.scores).picked.iloc[0]
                     for r in rules}
            real[label] = {**res.to_dict(), "matched_size": size, "matched_rule": mchosen,
                           "matched_dev": mdev_table.to_dict(orient="records"), "matched_accuracy": matched,
                           "picks_by_rule": picks}
            log(f"{label}: chosen rule {mchosen} picks {picks[mchosen]}; matched accuracy {matched[mchosen]}")
    write("real.json", real)
    write("recovery.json", summary)
    log("all done")


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train([(CAND, CAND_SEEDS), (BRAIN, DEV_SEEDS), (BRAIN, TEST_SEEDS)])
    log(f"part {PART}: networks trained ({time.time() - t0:.0f} s)")
    if os.environ.get("TRAIN_ONLY") == "1":
        return
    # every part needs every candidate: wait for the other parts' candidates in the store
    cells = [(o, s) for s in CAND_SEEDS for o in OBJECTIVES]
    cand = [model_name(o, s, CAND.widths) for o, s in cells]
    while not all(_stored(n) for n in cand):
        time.sleep(20)
    candidates = {n: (objective_of(n), load_stored(n, 1, STORE)) for n in cand}
    sets = real_sets()
    feats = candidate_features(candidates, sets)
    for kind, seeds in (("dev", DEV_SEEDS), ("test", TEST_SEEDS)):
        cells = [(o, s) for s in seeds for o in OBJECTIVES]
        names = [(k, model_name(o, s, BRAIN.widths)) for k, (o, s) in enumerate(cells)]
        mine = [(k, n) for k, n in names if k % NPART == PART]
        while not all(_stored(n) for _, n in mine):
            time.sleep(20)
        if os.environ.get("FINAL") != "1":
            brain_scores(kind, mine, feats)
    if PART != 0:
        return
    n_all = len(DEV_SEEDS) * len(OBJECTIVES) + len(TEST_SEEDS) * len(OBJECTIVES)
    while len(list((OUT / "scores").glob("*.csv"))) < n_all:
        log(f"{len(list((OUT / 'scores').glob('*.csv')))} of {n_all} brains scored; waiting for the other parts")
        time.sleep(60)
    assemble(candidates, sets)
    log(f"total {time.time() - t0:.0f} s")


def _stored(name: str) -> bool:
    return name in list_stored(STORE)


if __name__ == "__main__":
    main()
