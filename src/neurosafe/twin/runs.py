"""File-level workflows behind ``neurosafe twin fit | eval | scaling``: a recording in, a run folder out.

A fit folder holds the twin (``twin/``, written atomically by ``DigitalTwin.save``), ``split.json`` (the
held-out test stimulus ids, so ``eval`` on the same file scores only unseen stimuli) and ``checkpoint/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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

__all__ = ["compare_recordings", "evaluate_run", "fit_recording", "fit_recordings", "holdout_split", "load_run_twin",
           "scaling_recording", "session_name", "transfer_run"]

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
    twin = load_run_twin(run_dir)
    responses, used = rec.responses, "all"
    split_file = run_dir / SPLIT
    if not all_stimuli and split_file.exists():
        split = load_json(split_file)
        digest = data_hash(rec.responses)
        for part in split.get("sessions", {}).values():  # a multi-session fit: the session of this file
            if part["data_hash"] == digest:
                split = part
        if split.get("data_hash") == digest:
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


# ------------------------------------------------------------------------------ multi-session runs
SUBJECT = "subject.json"


def session_name(rec: Recording, index: int) -> str:
    """A recording's session name: its ``session`` attribute, else ``s<index>`` ('.' replaced)."""
    name = str(rec.responses.attrs.get("session", "") or f"s{index}")
    return name.replace(".", "_")


def _named(recs: Sequence[Recording]) -> dict[str, Recording]:
    if not recs:
        raise TwinError("give at least one recording")
    out: dict[str, Recording] = {}
    for i, rec in enumerate(recs):
        _need_stimuli(rec)
        name = session_name(rec, i)
        if name in out:
            name = f"{name}_{i}"
        out[name] = rec
    return out


def _subject_for(config: TwinConfig, channels: int):
    """The feature core's network: only the package's V1 front end can be rebuilt from a run folder."""
    if config.core.kind != "feature":
        return None, None
    from neurosafe.twin.compare import FRONT_END, front_end_subject

    subject = front_end_subject(channels)
    if config.core.site not in subject.sites:
        raise TwinError(f"a feature core in a run folder reads the V1 front end ({FRONT_END}); it has no site "
                        f"{config.core.site!r}")
    return subject, {"subject": FRONT_END, "in_channels": channels}


def load_run_twin(run_dir: str | Path) -> DigitalTwin:
    """The twin of a run folder, with its feature core's network rebuilt from ``subject.json``."""
    run_dir = Path(run_dir)
    if not (run_dir / TWIN).is_dir():
        raise TwinError(f"{run_dir} is not a twin run folder (no {TWIN}/ inside)")
    subject = None
    if (run_dir / SUBJECT).exists():
        from neurosafe.twin.compare import front_end_subject

        subject = front_end_subject(int(load_json(run_dir / SUBJECT)["in_channels"]))
    return DigitalTwin.load(run_dir / TWIN, subject=subject)


def fit_recordings(recs: Sequence[Recording], out: str | Path, config: TwinConfig | None = None,
                   test_fraction: float = 0.2, seed: int = 0, resume: bool = False, callbacks: Sequence = ()) -> dict:
    """A twin with one core shared across ``recs`` (one readout per session, batches drawn across sessions),
    fit on each session's training split (``test_fraction`` held out, seeded); saved to ``out``."""
    recs = _named(recs)
    config = TwinConfig() if config is None else config
    out = Path(out)
    splits, train = {}, {}
    for name, rec in recs.items():
        tr, te = holdout_split(rec.responses.stimulus_id.values, test_fraction, seed)
        splits[name] = {"test_ids": te, "data_hash": data_hash(rec.responses)}
        train[name] = _sel(rec, tr)
    first = next(iter(recs.values()))
    subject, spec = _subject_for(config, first.stimuli.shape[1])
    save_json(out / SPLIT, {"sessions": splits, "test_fraction": test_fraction, "seed": seed})
    if spec is not None:
        save_json(out / SUBJECT, spec)
    twin = fit_twin({n: r.stimuli for n, r in recs.items()}, train, config, seed=seed, subject=subject,
                    checkpoint_dir=out / "checkpoint", resume=resume, callbacks=callbacks)
    twin.save(out / TWIN)
    best = max(twin.history, key=lambda h: h["val_correlation"])
    return {"out": str(out), "sessions": {n: {"neurons": int(r.responses.sizes["neuron"]),
                                              "train_stimuli": int(train[n].sizes["stimulus"]),
                                              "test_stimuli": len(splits[n]["test_ids"])} for n, r in recs.items()},
            "n_neurons": sum(len(v) for v in twin.neuron_ids.values()), "epochs": len(twin.history),
            "best_epoch": best["epoch"], "best_val_correlation": best["val_correlation"]}


def transfer_run(run_dir: str | Path, rec: Recording, out: str | Path, readout=None, test_fraction: float = 0.2,
                 seed: int = 0, grid: Mapping[str, Sequence[float]] | None = None) -> dict:
    """Freeze the core of the twin in ``run_dir``, fit a new readout on ``rec``'s training split, score the
    held-out split (correlation always; FEVE and fraction of ceiling only where ``rec`` has repeats), and
    save the transferred twin to ``out``. With ``grid`` ({penalty: values}) the readout's penalties are first
    chosen on a validation part of the training split (:func:`neurosafe.twin.tune_readout`), then refit."""
    from neurosafe.twin.compare import score_predictions
    from neurosafe.twin.train import transfer_twin
    from neurosafe.twin.tuning import tune_readout

    _need_stimuli(rec)
    run_dir, out = Path(run_dir), Path(out)
    twin = load_run_twin(run_dir)
    name = session_name(rec, len(twin.sessions))
    if name in twin.sessions:
        name = f"{name}_transfer"
    tr, te = holdout_split(rec.responses.stimulus_id.values, test_fraction, seed)
    if not te:
        raise TwinError("a transfer is scored on held-out stimuli: test_fraction must be > 0")
    tuning = None
    if grid:
        new, tuning = tune_readout(rec.stimuli, _sel(rec, tr), grid, twin=twin, readout=readout, session=name,
                                   seed=seed)
    else:
        new = transfer_twin(twin, rec.stimuli, _sel(rec, tr), session=name, seed=seed, readout=readout)
    save_json(out / SPLIT, {"test_ids": te, "test_fraction": test_fraction, "seed": seed,
                            "data_hash": data_hash(rec.responses), "source_twin": str(run_dir)})
    if (run_dir / SUBJECT).exists():
        save_json(out / SUBJECT, load_json(run_dir / SUBJECT))
    new.save(out / TWIN)
    test = _sel(rec, te)
    pred = new.respond(rec.stimuli.aligned_to(test))
    values = pred.transpose("stimulus", "neuron").values
    scores = score_predictions(values, test, seed=seed)
    return {"out": str(out), "session": name, "readout": new.config.readout.kind,
            "n_train_stimuli": len(tr), "n_test_stimuli": len(te), **scores,
            **({} if tuning is None else {"tuning": tuning.to_dict()})}


def compare_recordings(recs: Sequence[Recording], out: str | Path, twin_dir: str | Path | None = None,
                       config: TwinConfig | None = None, test_fraction: float = 0.2, seed: int = 0,
                       n_boot: int = 2000) -> dict:
    """``neurosafe twin compare``: on one seeded split per session, ridge on pixels, ridge on the V1 front
    end, ridge on the twin core's features and the twin (see :mod:`neurosafe.twin.compare`).

    Without ``twin_dir`` a twin with a core shared across all ``recs`` is fit on their training splits
    (``config``, default :func:`neurosafe.twin.compare.frontend_twin_config`); with it, that twin's core is
    transferred to every recording (new readout on its training split). Writes ``results.json`` and
    ``compare.png`` to ``out``.
    """
    from neurosafe.core.figures import plt, save_figure
    from neurosafe.twin.compare import (
        front_end_features,
        frontend_twin_config,
        median_difference,
        per_neuron_table,
        pixel_features,
        ridge_test_correlation,
        score_predictions,
        test_correlation,
        twin_features,
    )
    from neurosafe.twin.train import transfer_twin

    recs = _named(recs)
    out = Path(out)
    splits = {n: holdout_split(r.responses.stimulus_id.values, test_fraction, seed) for n, r in recs.items()}
    if any(not te for _, te in splits.values()):
        raise TwinError("a comparison is scored on held-out stimuli: test_fraction must be > 0")
    train = {n: _sel(r, splits[n][0]) for n, r in recs.items()}
    test = {n: _sel(r, splits[n][1]) for n, r in recs.items()}
    if twin_dir is None:
        config = frontend_twin_config() if config is None else config
        first = next(iter(recs.values()))
        subject, _ = _subject_for(config, first.stimuli.shape[1])
        shared = fit_twin({n: r.stimuli for n, r in recs.items()}, train, config, seed=seed, subject=subject)
        twins = {n: shared for n in recs}
        mode = "multi-session fit"
    else:
        source = load_run_twin(twin_dir)
        twins = {n: transfer_twin(source, r.stimuli, train[n], session=n, seed=seed) for n, r in recs.items()}
        shared, mode = source, f"transfer from {twin_dir}"
    sessions, figure_rows = {}, []
    for name, rec in recs.items():
        stim = rec.stimuli
        pos = {i: k for k, i in enumerate(stim.ids.astype(str))}
        itr = [pos[i] for i in stim.aligned_to(train[name]).ids.astype(str)]
        ite = [pos[i] for i in stim.aligned_to(test[name]).ids.astype(str)]
        preds = {}
        for model, feats in (("ridge_pixels", pixel_features(stim)), ("ridge_v1_front_end", front_end_features(stim)),
                             ("ridge_twin_core", twin_features(shared if twin_dir is None else twins[name], stim))):
            preds[model], _ = ridge_test_correlation(feats[itr], train[name], feats[ite], test[name])
        twin = twins[name]
        pred = twin.respond(stim.aligned_to(test[name]), site=f"readout.{name}")
        preds["twin"] = pred.transpose("stimulus", "neuron").values
        rows, rs = {}, {}
        for model, p in preds.items():
            rows[model] = score_predictions(p, test[name], seed=seed)
            rs[model] = test_correlation(p, test[name])
        for model in ("ridge_pixels", "ridge_twin_core", "twin"):
            d = median_difference(rs[model], rs["ridge_v1_front_end"], seed=seed, n_boot=n_boot)
            rows[model]["minus_ridge_v1_front_end"] = {"value": d.value, "ci": list(d.ci) if d.ci else None}
        sessions[name] = {"n_neurons": int(rec.responses.sizes["neuron"]), "n_train": len(itr), "n_test": len(ite),
                          "repeats": "repeat" in rec.responses.dims, "models": rows,
                          "per_neuron": per_neuron_table(rs, test[name].neuron_id.values)}
        figure_rows.append((name, {m: rows[m]["median_r"] for m in rows}))
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(figure_rows), 3.2))
    models = list(figure_rows[0][1])
    width = 0.8 / len(models)
    for k, model in enumerate(models):
        ax.bar(np.arange(len(figure_rows)) + k * width, [row[model] for _, row in figure_rows], width, label=model)
    ax.set_xticks(np.arange(len(figure_rows)) + 0.4 - width / 2, [n for n, _ in figure_rows])
    ax.set_ylabel("median test r")
    ax.legend(fontsize=7)
    figure = save_figure(fig, out / "compare.png")
    result = {"mode": mode, "test_fraction": test_fraction, "seed": seed, "config": shared.config.to_dict(),
              "sessions": sessions, "figure": str(figure)}
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1, default=float))
    return result
