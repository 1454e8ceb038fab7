"""Readouts with priors on real V4 (Cowley, Stan, Pillow & Smith 2023, GPL-3.0): the multi-session twin
of ``benchmarks/twin_transfer.py`` with its factorized readout, a Gaussian readout with a learned
population prior on receptive-field positions (Lurz et al. 2021), and a factorized readout whose
smoothness and sparsity penalties are tuned on a validation split of the training images (Klindt et al.
2017). Scored on 210325's held-out 20% (the session with repeats): median r, FEVE (median, pooled) and
fraction of ceiling, each with a bootstrap CI (fraction of ceiling: over neurons and images,
``neurosafe.metrics.fraction_of_ceiling``); and, with ``--transfer``, transfer to held-out sessions
(core fit on the others' training images, new readout on the held-out session's training images) against
ridge on the V1 front end, as in ``benchmarks/twin_transfer.py``.

The fixed V1 front end (``normalize`` at 56 px RGB, average-pooled 4x4 -> 120 x 7 x 7) is computed once per
image and cached in ``--cache`` (a float32 npz, keyed by image hash); every twin reads it through a
lookup subject (the core's own pool is 1), exactly what ``CachedSubject`` in the benchmark does in memory.

Run (budgeted for a loaded 2-core machine):
``OMP_NUM_THREADS=1 nice -n 10 python scripts/experiments/readout_priors_cowley.py --out runs/readouts.json``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from neurosafe.core.io import atomic_path
from neurosafe.data import load_cowley2023
from neurosafe.twin.compare import front_end_subject

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "v4-cowley2023"
SESSIONS = ("210325", "190925", "190927", "190928", "190929", "210224")
SITE = "normalize"


def _key(img: torch.Tensor) -> str:
    return hashlib.sha1(img.detach().cpu().numpy().tobytes()).hexdigest()


def resized(images: np.ndarray, size: int = 56) -> torch.Tensor:
    """What the twin's preprocessing hands a feature core (RGB, area-resized, no standardisation)."""
    return F.interpolate(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)), size=(size, size),
                         mode="area")


class LookupSubject:
    """The V1 front end average-pooled by ``pool``, read from a per-image cache (computed on a miss)."""

    def __init__(self, pool: int = 4):
        self.inner = front_end_subject(3)
        self.pool = pool
        self.model = self.inner.model
        self.device = self.inner.device
        self.cache: dict[str, torch.Tensor] = {}
        self.misses = 0

    @torch.no_grad()
    def compute(self, x: torch.Tensor) -> torch.Tensor:
        acts = self.inner.activations(x, [SITE])[SITE]
        return F.avg_pool2d(acts, self.pool) if self.pool > 1 else acts

    def activations(self, x: torch.Tensor, sites):
        keys = [_key(img) for img in x]
        missing = [i for i, k in enumerate(keys) if k not in self.cache]
        if missing:
            self.misses += len(missing)
            for i, a in zip(missing, self.compute(x[missing]), strict=True):
                self.cache[keys[i]] = a
        out = torch.stack([self.cache[k] for k in keys])
        return {site: out for site in sites}

    def load(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as f:
            for k, v in zip(f["keys"], f["features"], strict=True):
                self.cache[str(k)] = torch.from_numpy(v)

    def save(self, path: Path) -> None:
        keys = sorted(self.cache)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, keys=np.array(keys), features=torch.stack([self.cache[k] for k in keys]).numpy())


def build_cache(recs: dict, subject: LookupSubject, path: Path, batch: int = 64) -> None:
    for s, rec in recs.items():
        t = time.perf_counter()
        x = resized(rec.stimuli.images)
        for i in range(0, len(x), batch):
            subject.activations(x[i : i + batch], [SITE])
        print(f"front end {s}: {len(x)} images in {time.perf_counter() - t:.0f} s", flush=True)
        subject.save(path)


def _part(rec, ids, keep=True):
    r = rec.responses
    return r.isel(stimulus=np.isin(r.stimulus_id.values.astype(str), list(ids)) == keep)


def _predict(twin, stim, resp) -> np.ndarray:
    pred = twin.respond(stim.aligned_to(resp))
    return pred.sel(neuron=[list(pred.neuron_id.values).index(n) for n in resp.neuron_id.values]).values


def _features(subject: LookupSubject, stim) -> np.ndarray:
    return subject.activations(resized(stim.images), [SITE])[SITE].flatten(1).double().numpy()


def _fit_or_load(folder: Path, stim, train, config, subject):
    """A multi-session twin saved in ``folder`` (same config), else fitted (seed 0) and saved there."""
    from neurosafe.twin import DigitalTwin, fit_twin

    if (folder / "twin.json").exists():
        twin = DigitalTwin.load(folder, subject=subject)
        if twin.config.to_dict() == config.to_dict():
            return twin
    twin = fit_twin(stim, train, config, seed=0, subject=subject)
    twin.save(folder)
    return twin


def run(recs: dict, subject: LookupSubject, args) -> None:
    from neurosafe.twin import ReadoutConfig, fit_twin, transfer_twin, tune_readout
    from neurosafe.twin.compare import (
        frontend_twin_config,
        median_difference,
        ridge_test_correlation,
        score_predictions,
        test_correlation,
    )
    from neurosafe.twin.runs import holdout_split

    t0 = time.perf_counter()
    splits = {s: holdout_split(r.responses.stimulus_id.values, 0.2, seed=0) for s, r in recs.items()}
    train = {s: _part(recs[s], splits[s][0]) for s in recs}
    test = {s: _part(recs[s], splits[s][1]) for s in recs}
    stim = {s: recs[s].stimuli for s in recs}
    base = frontend_twin_config(epochs=args.epochs)
    base = base.replace(core=base.core.__class__(**{**base.core.__dict__, "pool": 1}))
    prior = ReadoutConfig(kind="gaussian", gauss_type="full", position_prior=args.prior, l1=1e-4,
                          init_sigma=0.2, init_mu_range=0.3)
    fact_grid = {"l1": [1e-5, 1e-4, 1e-3], "smooth": [0.0, 1e-2, 1e-1]}
    prior_grid = {"position_prior": [0.0, 0.01, 0.1, 1.0]}
    results: dict = {"protocol": __doc__.split("\n\n")[0], "config": base.to_dict(), "prior_readout": vars(prior),
                     "grids": {"factorized": fact_grid, "gaussian_prior": prior_grid}, "210325": {}, "transfer": {}}
    out = Path(args.out)

    def save():
        with atomic_path(out) as tmp:
            tmp.write_text(json.dumps(results, indent=1, default=str))

    def ridge_v1(s):
        st = stim[s]
        tr, te = st.aligned_to(train[s]), st.aligned_to(test[s])
        return ridge_test_correlation(_features(subject, tr), train[s], _features(subject, te), test[s])

    def log(msg):
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", flush=True)

    # ---- 210325: the multi-session twin (all six sessions' training images), scored on its held-out 20%
    if not args.skip_210325:
        row = results["210325"]
        if args.only:
            row["only"] = args.only
        pred_v1, _ = ridge_v1("210325")
        row["ridge_v1"] = score_predictions(pred_v1, test["210325"], seed=0)
        log(f"ridge V1 on 210325: {row['ridge_v1']}")
        twin = _fit_or_load(out.parent / "twin_factorized", stim, train, base, subject)
        row["twin_factorized"] = score_predictions(_predict(twin, stim["210325"], test["210325"]), test["210325"])
        row["twin_factorized"]["epochs"] = len(twin.history)
        log(f"multi-session twin, factorized: {row['twin_factorized']}")
        save()
        gauss = _fit_or_load(out.parent / "twin_gaussian_prior", stim, train, base.replace(readout=prior), subject)
        row["twin_gaussian_prior"] = score_predictions(_predict(gauss, stim["210325"], test["210325"]),
                                                       test["210325"])
        row["twin_gaussian_prior"]["epochs"] = len(gauss.history)
        log(f"multi-session twin, gaussian + learned prior: {row['twin_gaussian_prior']}")
        save()
        steps = (("factorized_refit", base.readout, None), ("factorized_tuned", base.readout, fact_grid),
                 ("gaussian_prior_tuned", prior, prior_grid))
        for name, ro, grid in [st for st in steps if not args.only or st[0] in args.only.split(",")]:
            if grid is None:  # the control: the same re-fit with the recipe's penalties, untuned
                moved, extra = transfer_twin(twin, stim["210325"], train["210325"], session="210325", seed=0), {}
            else:
                moved, tuning = tune_readout(stim["210325"], train["210325"], grid, twin=twin, readout=ro,
                                             session="210325", seed=0)
                extra = {"tuning": tuning.to_dict()}
            row[f"readout_{name}"] = score_predictions(_predict(moved, stim["210325"], test["210325"]),
                                                       test["210325"]) | extra
            log(f"210325 readout re-fit on the frozen multi-session core, {name}: {row[f'readout_{name}']}")
            save()

    # ---- transfer to held-out sessions (core on the other five sessions' training images)
    for held in [h for h in args.transfer.split(",") if h]:
        others = [s for s in recs if s != held]
        core = fit_twin({s: stim[s] for s in others}, {s: train[s] for s in others}, base, seed=0, subject=subject)
        log(f"[{held}] core fit in {len(core.history)} epochs")
        _, r_v1 = ridge_v1(held)
        row = {"n_neurons": int(train[held].sizes["neuron"]), "ridge_v1_median_r": float(np.nanmedian(r_v1))}
        for name in ("factorized", "linear_ridge", "factorized_tuned", "gaussian_prior_tuned"):
            tuning = None
            if name == "factorized":
                model = transfer_twin(core, stim[held], train[held], session=held, seed=0)
            elif name == "linear_ridge":
                model = transfer_twin(core, stim[held], train[held], session=held, seed=0,
                                      readout=ReadoutConfig(kind="linear", pool=1))
            else:
                ro, grid = (base.readout, fact_grid) if name == "factorized_tuned" else (prior, prior_grid)
                model, tuning = tune_readout(stim[held], train[held], grid, twin=core, readout=ro, session=held)
            r = test_correlation(_predict(model, stim[held], test[held]), test[held])
            d = median_difference(r, r_v1, seed=0)
            row[name] = {"median_r": float(np.nanmedian(r)), "minus_ridge_v1": d.value, "ci": d.ci,
                         "beats_ridge_v1": bool(d.ci is not None and d.ci[0] > 0)}
            if tuning is not None:
                row[name]["chosen"] = tuning.chosen
            log(f"[{held}] {name}: {row[name]}")
        results["transfer"][held] = row
        save()
    save()
    log("done")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", default="runs/readout17/frontend_cache.npz")
    parser.add_argument("--stage", default="all", choices=("features", "all"))
    parser.add_argument("--out", default="runs/readout17/readouts.json")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--transfer", default="", help="comma-separated held-out sessions for the transfer table")
    parser.add_argument("--prior", type=float, default=0.01, help="position prior strength of the joint fit")
    parser.add_argument("--skip-210325", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated 210325 readout steps to run (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache = Path(args.cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    recs = {s: load_cowley2023(DATA, session=s) for s in SESSIONS}
    subject = LookupSubject(4)
    if cache.exists():
        subject.load(cache)
    build_cache(recs, subject, cache)
    if args.stage == "features":
        return
    run(recs, subject, args)


if __name__ == "__main__":
    main()
