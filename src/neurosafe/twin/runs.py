"""File-level workflows behind ``neurosafe twin fit | eval | scaling``: a recording in, a run folder out.

A fit folder holds the twin (``twin/``, written atomically by ``DigitalTwin.save``), ``split.json`` (the
held-out test stimulus ids, so ``eval`` on the same file scores only unseen stimuli) and ``checkpoint/``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from neurosafe.core import progress as display
from neurosafe.core.checkpoint import fingerprint
from neurosafe.core.executor import Executor
from neurosafe.core.hashing import data_hash
from neurosafe.core.io import atomic_path, load_json, save_json
from neurosafe.data.io import Recording
from neurosafe.twin.config import TwinConfig
from neurosafe.twin.errors import TwinError
from neurosafe.twin.evaluate import evaluate_twin
from neurosafe.twin.model import DigitalTwin
from neurosafe.twin.scaling import MODELS, fit_scaling_law, plot_scaling, scaling_sweep
from neurosafe.twin.train import fit_twin

__all__ = ["evaluate_run", "fit_recording", "holdout_split", "scaling_recording"]

SPLIT = "split.json"
PARTIAL = "partial.json"  # twin scaling: finished budgets, for resuming
TWIN = "twin"


def holdout_split(ids: Sequence[str], test_fraction: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """(train ids, test ids): a seeded random ``test_fraction`` of the stimulus ids held out."""
    if not 0 <= test_fraction < 1:
        raise TwinError(f"test_fraction must lie in [0, 1); got {test_fraction}")
    ids = [str(i) for i in ids]
    n_test = round(test_fraction * len(ids))
    test = set(np.random.default_rng(seed).permutation(len(ids))[:n_test].tolist())
    return [i for k, i in enumerate(ids) if k not in test], [i for k, i in enumerate(ids) if k in test]


def _need_stimuli(rec: Recording) -> None:
    if rec.responses is None or rec.stimuli is None:
        raise TwinError("a twin needs a recording with both responses and the stimuli shown")


def _sel(rec: Recording, ids: Sequence[str]):
    return rec.responses.isel(stimulus=np.isin(rec.responses.stimulus_id.values.astype(str), list(ids)))


def fit_recording(rec: Recording, out: str | Path, config: TwinConfig | None = None, test_fraction: float = 0.2,
                  seed: int = 0, resume: bool = False, callbacks: Sequence = ()) -> dict:
    """Hold out a test split, fit a twin on the rest (checkpointed), save it to ``out``; a summary dict."""
    _need_stimuli(rec)
    out = Path(out)
    train_ids, test_ids = holdout_split(rec.responses.stimulus_id.values, test_fraction, seed)
    split = {"test_ids": test_ids, "test_fraction": test_fraction, "seed": seed, "data_hash": data_hash(rec.responses)}
    save_json(out / SPLIT, split)
    twin = fit_twin(rec.stimuli, _sel(rec, train_ids), config, seed=seed, checkpoint_dir=out / "checkpoint",
                    resume=resume, callbacks=callbacks)
    twin.save(out / TWIN)
    best = max(twin.history, key=lambda h: h["val_correlation"])
    return {"out": str(out), "n_train_stimuli": len(train_ids), "n_test_stimuli": len(test_ids),
            "n_neurons": sum(len(v) for v in twin.neuron_ids.values()), "epochs": len(twin.history),
            "best_epoch": best["epoch"], "best_val_correlation": best["val_correlation"]}


def evaluate_run(run_dir: str | Path, rec: Recording, all_stimuli: bool = False, seed: int = 0,
                 n_boot: int = 200) -> dict:
    """Evaluate a saved twin on a recording: its held-out test stimuli when the file is the one it was fit
    on (``split.json``), else (or with ``all_stimuli``) every stimulus."""
    _need_stimuli(rec)
    run_dir = Path(run_dir)
    twin = DigitalTwin.load(run_dir / TWIN)
    responses, used = rec.responses, "all"
    split_file = run_dir / SPLIT
    if not all_stimuli and split_file.exists():
        split = load_json(split_file)
        if split["data_hash"] == data_hash(rec.responses):
            if not split["test_ids"]:
                raise TwinError(f"{run_dir} was fit on every stimulus of this file (no test split): evaluate on "
                                "another recording, or pass all_stimuli to score the training data")
            responses, used = _sel(rec, split["test_ids"]), "held-out split"
    result = evaluate_twin(twin, rec.stimuli, responses, seed=seed, n_boot=n_boot).to_dict()
    return {"run": str(run_dir), "stimuli": used, "n_stimuli": int(responses.sizes["stimulus"]), **result}


def scaling_recording(rec: Recording, out: str | Path, n_stimuli: Sequence[int] | None = None,
                      repeats: Sequence[int] | None = None, n_neurons: Sequence[int] | None = None,
                      seeds: Sequence[int] = (0,), config: TwinConfig | None = None, test_fraction: float = 0.2,
                      trial_duration: float = 1.0, fraction: float = 0.9, n_boot: int = 200,
                      executor: Executor | None = None, seed: int = 0) -> dict:
    """Scaling sweep on one recording (test split held out), scaling-law fits, ``results.json`` and a figure.

    ``n_stimuli`` defaults to 5 budgets from 1/16 of the training stimuli to all of them. Finished budgets
    are written to ``partial.json`` as they end; a re-run with the same data and settings resumes from it.
    """
    _need_stimuli(rec)
    out = Path(out)
    train_ids, test_ids = holdout_split(rec.responses.stimulus_id.values, test_fraction, seed)
    if not test_ids or "repeat" not in rec.responses.dims:
        raise TwinError("a scaling sweep needs a held-out test split (test_fraction > 0) with repeats")
    if n_stimuli is None:
        n_stimuli = sorted({max(10, round(len(train_ids) / 2**k)) for k in range(4, -1, -1)})
    # one budget at a time (cells are independent: same rows as one sweep), each written to partial.json as it
    # finishes; a re-run with the same data and settings (fingerprint) resumes after the finished budgets
    key = fingerprint("scaling", data_hash(rec.responses), None if config is None else config.to_dict(),
                      test_fraction, trial_duration, seed, repeats, n_neurons, list(seeds))
    partial_path = out / PARTIAL
    previous = load_json(partial_path) if partial_path.exists() else None
    done: dict = previous["budgets"] if previous and previous.get("fingerprint") == key else {}
    with display.stage("twin scaling: stimulus budgets", total=len(n_stimuli)) as bar:
        for n in sorted(n_stimuli, reverse=True):  # the largest first: an impossible budget fails at once
            if str(n) not in done:
                part = scaling_sweep(rec.stimuli, _sel(rec, train_ids), rec.stimuli, _sel(rec, test_ids),
                                     n_stimuli=[n], repeats=repeats, n_neurons=n_neurons, seeds=seeds, config=config,
                                     trial_duration=trial_duration, executor=executor)
                done[str(n)] = json.loads(part.to_json(orient="records"))
                save_json(partial_path, {"fingerprint": key, "budgets": done})
            bar.advance()
    table = pd.DataFrame([row for n in n_stimuli for row in done[str(n)]])
    full = table[table["n_neurons"] == table["n_neurons"].max()]
    fits, problems = {}, {}
    for model in MODELS:
        try:
            fits[model] = fit_scaling_law(full["recording_time"], full["feve"], model, fraction=fraction,
                                          n_boot=n_boot, seed=seed)
        except (TwinError, RuntimeError) as err:
            problems[model] = str(err)
    figure = plot_scaling(table, fits, out / "scaling.png")
    result = {"cells": table.to_dict(orient="records"), "fits": {k: f.to_dict() for k, f in fits.items()},
              "fit_errors": problems, "figure": str(figure)}
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1, default=float))
    return result
