"""Transfer of a multi-session twin to held-out Cowley et al. 2023 V4 sessions, against ridge baselines.

Protocol (issue 17's acceptance): every session is split 80/20 by stimulus (``holdout_split``, seed 0).
For each held-out session H in the four WE sessions (190925, 190927, 190928, 190929) and 210224: a twin
(``frontend_twin_config``: frozen V1 front end -> small trained core shared across sessions -> one
readout per session) is fit on the TRAINING stimuli of the other five sessions (210325 included); its core
is frozen and only a new readout is fit on H's training stimuli (``transfer_twin``: a factorized readout
trained with early stopping, and a linear readout fitted by ridge with LOO CV); everything is scored on
H's held-out 20%. Baselines on the same split: ridge on grey pixels (32 px) and ridge on the V1 front end
(``normalize`` at 56 px RGB, average-pooled 4x4 -> 7x7x120 features). The paired difference of median
test r (twin - ridge on the V1 front end) has a bootstrap CI over neurons (2,000 resamples).
Then a twin on all six sessions' training stimuli is scored on 210325's held-out stimuli with repeats:
FEVE (median and pooled) and fraction of ceiling, with CIs.

Run: ``OMP_NUM_THREADS=1 nice -n 10 python benchmarks/twin_transfer.py [--seeds 0,1,2] [--out FILE]``.
The V1 front-end map of every image is computed once and memoised (``CachedSubject``); CPU time is
about 10-30 min per seed on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from neurosafe.data import load_cowley2023
from neurosafe.twin import ReadoutConfig, fit_twin, transfer_twin
from neurosafe.twin.compare import (
    front_end_features,
    front_end_subject,
    frontend_twin_config,
    median_difference,
    pixel_features,
    ridge_test_correlation,
    score_predictions,
    test_correlation,
)
from neurosafe.twin.runs import holdout_split

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "v4-cowley2023"
SESSIONS = ("210325", "190925", "190927", "190928", "190929", "210224")
HELD_OUT = ("190925", "190927", "190928", "190929", "210224")


class CachedSubject:
    """The V1 front end with its activations average-pooled by ``pool`` and memoised per image (the front
    end is fixed); used with the core's own ``pool=1`` this equals the recipe's ``pool`` in the core."""

    def __init__(self, pool: int):
        self.inner = front_end_subject(3)
        self.pool = pool
        self.model = self.inner.model
        self.device = self.inner.device
        self.cache: dict[tuple[str, str], torch.Tensor] = {}

    def activations(self, x: torch.Tensor, sites):
        keys = [hashlib.sha1(img.detach().cpu().numpy().tobytes()).hexdigest() for img in x]
        out = {}
        for site in sites:
            missing = [i for i, k in enumerate(keys) if (k, site) not in self.cache]
            if missing:
                with torch.no_grad():
                    acts = self.inner.activations(x[missing], [site])[site]
                    acts = torch.nn.functional.avg_pool2d(acts, self.pool) if self.pool > 1 else acts
                for i, a in zip(missing, acts, strict=True):
                    self.cache[(keys[i], site)] = a
            out[site] = torch.stack([self.cache[(k, site)] for k in keys])
        return out


def predict(twin, stim, resp) -> np.ndarray:
    pred = twin.respond(stim.aligned_to(resp))
    return pred.sel(neuron=[list(pred.neuron_id.values).index(n) for n in resp.neuron_id.values]).values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0", help="Comma-separated seeds of the ensemble of twins.")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--out", default="twin_transfer_results.json")
    parser.add_argument("--held-out", default=",".join(HELD_OUT))
    parser.add_argument("--skip-210325", action="store_true")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    torch.set_num_threads(max(1, torch.get_num_threads()))
    t0 = time.perf_counter()
    recs = {s: load_cowley2023(DATA, session=s) for s in SESSIONS}
    splits = {s: holdout_split(r.responses.stimulus_id.values, 0.2, seed=0) for s, r in recs.items()}

    def part(s, k):
        ids = set(splits[s][k])
        r = recs[s].responses
        return r.isel(stimulus=np.isin(r.stimulus_id.values.astype(str), list(ids)))

    train = {s: part(s, 0) for s in SESSIONS}
    test = {s: part(s, 1) for s in SESSIONS}
    stim = {s: recs[s].stimuli for s in SESSIONS}
    config = frontend_twin_config(epochs=args.epochs)
    subject = CachedSubject(config.core.pool)
    config = config.replace(core=config.core.__class__(**{**config.core.__dict__, "pool": 1}))
    print(f"loaded in {time.perf_counter() - t0:.0f} s; config {config.to_dict()}", flush=True)

    def baselines(s):
        st = stim[s]
        tr, te = st.aligned_to(train[s]), st.aligned_to(test[s])
        v1 = front_end_features(st, subject=subject.inner)
        idx = {i: k for k, i in enumerate(st.ids.astype(str))}
        itr = [idx[i] for i in tr.ids.astype(str)]
        ite = [idx[i] for i in te.ids.astype(str)]
        _, r_v1 = ridge_test_correlation(v1[itr], train[s], v1[ite], test[s])
        px = pixel_features(st)
        _, r_px = ridge_test_correlation(px[itr], train[s], px[ite], test[s])
        return r_px, r_v1

    results: dict = {"protocol": __doc__.split("\n\n")[1], "seeds": seeds, "config": config.to_dict(),
                     "held_out": {}, "210325": None}
    for held in args.held_out.split(","):
        start = time.perf_counter()
        others = [s for s in SESSIONS if s != held]
        preds = {"factorized": [], "linear": []}
        for seed in seeds:
            twin = fit_twin({s: stim[s] for s in others}, {s: train[s] for s in others}, config, seed=seed,
                            subject=subject)
            print(f"[{held}] seed {seed}: core fit in {len(twin.history)} epochs, best val r "
                  f"{max(h['val_correlation'] for h in twin.history):.3f} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
            fact = transfer_twin(twin, stim[held], train[held], session=held, seed=seed)
            lin = transfer_twin(twin, stim[held], train[held], session=held, seed=seed,
                                readout=ReadoutConfig(kind="linear", pool=1))
            preds["factorized"].append(predict(fact, stim[held], test[held]))
            preds["linear"].append(predict(lin, stim[held], test[held]))
        r_px, r_v1 = baselines(held)
        row = {"n_neurons": int(train[held].sizes["neuron"]), "n_train": int(train[held].sizes["stimulus"]),
               "n_test": int(test[held].sizes["stimulus"]),
               "ridge_pixels": {"median_r": float(np.nanmedian(r_px)), "mean_r": float(np.nanmean(r_px))},
               "ridge_v1": {"median_r": float(np.nanmedian(r_v1)), "mean_r": float(np.nanmean(r_v1))}}
        for name, p in preds.items():
            r = test_correlation(np.mean(p, axis=0), test[held])
            d = median_difference(r, r_v1, seed=0)
            row[f"twin_{name}"] = {"median_r": float(np.nanmedian(r)), "mean_r": float(np.nanmean(r)),
                                   "minus_ridge_v1": d.value, "ci": d.ci,
                                   "beats_ridge_v1": bool(d.ci is not None and d.ci[0] > 0),
                                   "fraction_neurons_better": float(np.nanmean(r > r_v1))}
        row["seconds"] = time.perf_counter() - start
        results["held_out"][held] = row
        print(json.dumps({held: row}, indent=1), flush=True)
        Path(args.out).write_text(json.dumps(results, indent=1))

    if not args.skip_210325:
        start = time.perf_counter()
        preds = []
        for seed in seeds:
            twin = fit_twin(stim, train, config, seed=seed, subject=subject)
            preds.append(predict(twin, stim["210325"], test["210325"]))
        twin_scores = score_predictions(np.mean(preds, axis=0), test["210325"], seed=0)
        st = stim["210325"]
        v1 = front_end_features(st, subject=subject.inner)
        idx = {i: k for k, i in enumerate(st.ids.astype(str))}
        itr = [idx[i] for i in st.aligned_to(train["210325"]).ids.astype(str)]
        ite = [idx[i] for i in st.aligned_to(test["210325"]).ids.astype(str)]
        pred_v1, _ = ridge_test_correlation(v1[itr], train["210325"], v1[ite], test["210325"])
        results["210325"] = {"twin_multi_session": twin_scores, "ridge_v1": score_predictions(pred_v1, test["210325"]),
                             "seconds": time.perf_counter() - start}
        print(json.dumps({"210325": results["210325"]}, indent=1, default=str), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1, default=str))
    print("\n| held-out session | neurons | ridge pixels | ridge V1 | twin (factorized) | diff [95% CI] | "
          "twin (ridge readout) | diff [95% CI] |")
    print("|---|---|---|---|---|---|---|---|")
    for held, row in results["held_out"].items():
        cells = [held, str(row["n_neurons"]), f"{row['ridge_pixels']['median_r']:.3f}",
                 f"{row['ridge_v1']['median_r']:.3f}"]
        for name in ("factorized", "linear"):
            t = row[f"twin_{name}"]
            cells += [f"{t['median_r']:.3f}", f"{t['minus_ridge_v1']:+.3f} [{t['ci'][0]:+.3f}, {t['ci'][1]:+.3f}]"]
        print("| " + " | ".join(cells) + " |")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
