"""Model recovery for the objective zoo, then the real-data tables with the matched recovery accuracy.

Candidates: 6 objectives x 2 seeds (16-32-64 channels, training patches of data_seed 0). Synthetic brains
(held out from the candidates: 12-24-48 channels, other seeds, other training patches (data_seed 1)):
development brains of seeds 300-307 (48 brains) and held-out brains of seeds 100, 200, 201, 202 (24
brains). Protocol (v3): the decision rule (which metrics; mean / max / profile / pattern) is CHOSEN on the
development brains at 2,000 stimuli x 200 neurons (fitted rules scored leave-one-brain-out) and fitted on
all of them, then REPORTED once on the 24 held-out brains. A brain's neurons are responsive units
(non-constant on natural patches) of its last conv layer (relu3, single positions of a 4 x 4 pooled map),
topped up from relu2 when relu3 has too few responsive units (sparse networks), without replacement,
4 Poisson repeats at 5 spikes mean. The engine compares every candidate layer (relu1-3, best
layer chosen on a held-out half of the stimuli) with ridge and CKA; every candidate's score at every layer
per brain x data size is kept so that decision rules can be applied after.
Matched recoveries: the same brains recorded on the Cowley V4 images (640 x 50 neurons) and on the 92
Kriegeskorte images (92 x 200 neurons, RSA metrics only, as the real data are RDMs).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python scripts/experiments/objectives_recovery.py runs/objectives-exp

Environment: PART=k NPART=n splits the training over n processes; the brains are then scored from a work
queue (lock files in OUT/scores), so any number of processes share it; ASSEMBLE=1 makes a process wait for
every brain and assemble the results (FINAL=1: assemble only, from the brains scored so far;
DEV_SEEDS / TEST_SEEDS (comma-separated) set the development and held-out brain seeds; SKIP_REAL=1:
recovery.json only). EPOCHS (6) and N_IMAGES (4000) set the training. Resumable: trained networks sit in
OUT/store (the model store, names objective:NAME[:wW]:seedK), each brain's scores in OUT/scores/<set>_<brain>.csv.

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
DEV_SEEDS = tuple(int(x) for x in os.environ.get("DEV_SEEDS", "300,301,302,303,304,305,306,307").split(","))
TEST_SEEDS = tuple(int(x) for x in os.environ.get("TEST_SEEDS", "100,200,201,202").split(","))
N_STIMULI = (100, 300, 2000)
N_NEURONS = (200,)
TARGET = (2000, 200)
METRICS = ("ridge", "cka")
RULES = ("mean:ridge", "mean:cka", "mean:ridge+cka", "max:ridge", "profile:ridge", "profile:cka",
         "profile:ridge+cka", "pattern:ridge", "pattern:cka", "pattern:ridge+cka")
RSA_RULES = ("mean:rsa", "mean:rsa_pearson", "mean:rsa+rsa_pearson", "profile:rsa", "profile:rsa+rsa_pearson",
             "pattern:rsa", "pattern:rsa+rsa_pearson")
BRAIN_SITES = ("relu3", "relu2")  # relu3 units first, relu2 only to make up 200
RIDGE = {"alphas": tuple(np.logspace(-2, 6, 5)), "n_folds": 3}
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
EPOCHS = int(os.environ.get("EPOCHS", 6))
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


def all_scores(stimuli: str) -> pd.DataFrame:
    """Every scored brain's candidate scores on one stimulus set, with the brain's training seed."""
    frames = []
    for kind, seeds in (("dev", DEV_SEEDS), ("test", TEST_SEEDS)):
        for f in _score_files(kind):
            k = int(f.stem.split("_")[1])
            frames.append(pd.read_csv(f).assign(brain_seed=seeds[k // len(OBJECTIVES)]))
    sc = pd.concat(frames, ignore_index=True)
    return sc[sc.stimuli == stimuli].drop(columns="stimuli")


def result_of(sc: pd.DataFrame, seeds: tuple[int, ...]) -> RecoveryResult:
    sc = sc[sc.brain_seed.isin(seeds)].drop(columns="brain_seed")
    picks = sc[["brain", "true", "n_stimuli", "n_neurons"]].drop_duplicates().assign(rule="none", picked="",
                                                                                      correct=False)
    return RecoveryResult(picks, tuple(sorted(OBJECTIVES)), {"seeds": list(seeds)}, sc)


def held_out(sc: pd.DataFrame, rules: tuple[str, ...], size: tuple[int, int]) -> dict:
    """The rule chosen on the development brains (DEV_SEEDS), fitted on all of them and reported on the
    held-out brains (TEST_SEEDS)."""
    dev, test = result_of(sc, DEV_SEEDS), result_of(sc, TEST_SEEDS)
    chosen, table = select_rule(dev, rules, *size)
    test = with_rules(test, rules, development=dev)
    test = RecoveryResult(test.picks[test.picks.rule != "none"], test.objectives, test.info, test.scores)
    log(f"development seeds {DEV_SEEDS}: chosen {chosen}\n{table}")
    pooled = test.picks[test.picks.rule == chosen].assign(rule="held-out")
    return {"dev": dev, "chosen": chosen, "dev_table": table, "result": test,
            "pooled": RecoveryResult(pooled, test.objectives, {})}


def real_comparison(candidates: dict, sets: dict, key: str) -> dict[str, tuple[dict, pd.DataFrame]]:
    """The engine on the real data (cached in OUT/real_<label>.json / .csv): {label: (result dict, table)}."""
    stim, rec = sets[key]
    metrics = METRICS if key == "cowley" else ("rsa", "rsa_pearson")
    runs = ([("cowley_v4_210325", {"responses": rec.responses})] if key == "cowley" else
            [("kriegeskorte92_human_it", {"rdms": rec.extras["human_it"], "groups": "subject"}),
             ("kriegeskorte92_monkey_it", {"rdms": rec.extras["monkey_it"]})])
    out = {}
    for label, kw in runs:
        if not (OUT / f"real_{label}.csv").exists():
            res = compare_objectives(candidates, stim, metrics=metrics, n_boot=100, seed=0, progress=False, **kw)
            plot_comparison(res, OUT / f"real_{label}.png", title=label)
            write(f"real_{label}.json", res.to_dict())
            with atomic_path(OUT / f"real_{label}.csv") as tmp:  # every site's score: what pattern rules read
                res.layer_table.to_csv(tmp, index=False)
        out[label] = (json.loads((OUT / f"real_{label}.json").read_text()), pd.read_csv(OUT / f"real_{label}.csv"))
    return out


def real_scores(t: pd.DataFrame, label: str, size: tuple[int, int]) -> pd.DataFrame:
    """The real data's candidate scores in the form of a brain's, at the matched recovery's data size (the
    real recording is the one 'brain' a rule fitted on the matched development brains is applied to)."""
    return pd.DataFrame({"brain": -1, "true": label, "n_stimuli": size[0], "n_neurons": size[1],
                         "network": t.network, "objective": t.objective, "metric": t.metric, "site": t.site,
                         "value": t.value, "committed": t.committed.astype(bool),
                         "higher_is_better": t.higher_is_better.astype(bool)})


def _fold_summary(h: dict, size: tuple[int, int], rules: tuple[str, ...]) -> dict:
    return {"dev_seeds": DEV_SEEDS, "test_seeds": TEST_SEEDS, "chosen_rule": h["chosen"],
            "development": h["dev_table"].to_dict(orient="records"),
            "accuracy_by_rule": {r: h["result"].accuracy(r).to_dict(orient="records") for r in rules},
            "held_out": {"accuracy": h["pooled"].accuracy("held-out").to_dict(orient="records"),
                         "confusion": h["pooled"].confusion(*size, rule="held-out").to_dict(orient="index"),
                         "row_rates": h["pooled"].row_rates(*size, rule="held-out").to_dict(orient="records")}}


def assemble(candidates: dict, sets: dict) -> None:
    objectives = tuple(sorted(OBJECTIVES))
    h = held_out(all_scores("patches"), RULES, TARGET)
    plot_confusion(h["pooled"], *TARGET, OUT / "confusion.png", rule="held-out")
    plot_identifiability(h["pooled"], OUT / "identifiability.png", rule="held-out")
    plot_identifiability(h["result"], OUT / "identifiability_ridge.png", rule="mean:ridge")
    summary = {"target": TARGET, **_fold_summary(h, TARGET, RULES),
               "config": {"candidates": CAND.model_dump(), "brains": BRAIN.model_dump(),
                          "candidate_seeds": CAND_SEEDS, "dev_seeds": DEV_SEEDS, "test_seeds": TEST_SEEDS,
                          "brain_sites": BRAIN_SITES, "metrics": METRICS}}
    write("recovery.json", summary)
    real = {}
    for key, rules in (("cowley", RULES), ("k92", RSA_RULES)):
        if key not in sets or os.environ.get("SKIP_REAL") == "1":
            continue
        sc = all_scores(key)
        size = (int(sc.n_stimuli.iloc[0]), int(sc.n_neurons.iloc[0]))
        mh = held_out(sc, rules, size)
        final_rule = mh["chosen"]  # chosen and fitted on the development brains, as on the patches
        for label, (res, table) in real_comparison(candidates, sets, key).items():
            picks = {r: apply_rule(real_scores(table, label, size), r, objectives, mh["dev"].scores
                                   ).picked.iloc[0] for r in rules}
            real[label] = {**res, "matched_size": size, "rule_for_real": final_rule,
                           "picks_by_rule": picks, "matched": _fold_summary(mh, size, rules)}
            log(f"{label}: rule {final_rule} picks {picks[final_rule]}; matched held-out accuracy "
                f"{real[label]['matched']['held_out']['accuracy']}")
    write("real.json", real)
    log("all done")


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train([(CAND, CAND_SEEDS), (BRAIN, DEV_SEEDS), (BRAIN, TEST_SEEDS)])
    log(f"part {PART}: networks trained ({time.time() - t0:.0f} s)")
    if os.environ.get("TRAIN_ONLY") == "1":
        return
    if os.environ.get("REAL_ONLY") == "1":  # the real-data comparisons alone (cached for the assembly)
        cand = [model_name(o, s, CAND.widths) for s in CAND_SEEDS for o in OBJECTIVES]
        candidates = {n: (objective_of(n), load_stored(n, 1, STORE)) for n in cand}
        sets = real_sets()
        for key in sets:
            real_comparison(candidates, sets, key)
        log(f"real-data comparisons done ({time.time() - t0:.0f} s)")
        return
    # every part needs every candidate: wait for the other parts' candidates in the store
    cells = [(o, s) for s in CAND_SEEDS for o in OBJECTIVES]
    cand = [model_name(o, s, CAND.widths) for o, s in cells]
    while not all(_stored(n) for n in cand):
        time.sleep(20)
    candidates = {n: (objective_of(n), load_stored(n, 1, STORE)) for n in cand}
    sets = real_sets()
    feats = candidate_features(candidates, sets)
    # a work queue over every brain (dev first, then held-out brains last-first): a process claims a brain
    # with a lock file, so any number of processes can share the scoring
    queue = []
    for kind, seeds in (("dev", DEV_SEEDS), ("test", TEST_SEEDS)):
        cells = [(o, s) for s in seeds for o in OBJECTIVES]
        named = [(kind, k, model_name(o, s, BRAIN.widths)) for k, (o, s) in enumerate(cells)]
        queue += named if kind == "dev" else named[::-1]
    (OUT / "scores").mkdir(parents=True, exist_ok=True)
    while os.environ.get("FINAL") != "1":
        left = [(kind, k, n) for kind, k, n in queue if not (OUT / "scores" / f"{kind}_{k:03d}.lock").exists()
                and not (OUT / "scores" / f"{kind}_{k:03d}.csv").exists()]
        if not left:
            break
        ready = [item for item in left if _stored(item[2])]
        if not ready:
            time.sleep(20)
            continue
        kind, k, name = ready[0]
        try:
            os.close(os.open(OUT / "scores" / f"{kind}_{k:03d}.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        brain_scores(kind, [(k, name)], feats)
    if os.environ.get("ASSEMBLE") != "1" and os.environ.get("FINAL") != "1":
        return
    n_all = len(DEV_SEEDS) * len(OBJECTIVES) + len(TEST_SEEDS) * len(OBJECTIVES)
    while len(_score_files("dev") + _score_files("test")) < n_all and os.environ.get("FINAL") != "1":
        log(f"{len(_score_files('dev') + _score_files('test'))} of {n_all} brains scored; waiting")
        time.sleep(60)
    assemble(candidates, sets)
    log(f"total {time.time() - t0:.0f} s")


def _score_files(kind: str) -> list[Path]:
    n = len(OBJECTIVES) * len(DEV_SEEDS if kind == "dev" else TEST_SEEDS)
    return [f for f in sorted((OUT / "scores").glob(f"{kind}_*.csv")) if int(f.stem.split("_")[1]) < n]


def _stored(name: str) -> bool:
    return name in list_stored(STORE)


if __name__ == "__main__":
    main()
