"""Run a study: record -> twin -> train (baseline, brain-regularized, controls) x seeds -> evaluate -> report.

Every stage is cached under ``runs/<name>/cache`` by a content hash of its inputs (DESIGN.md), so a killed
run resumes where it stopped (training also resumes mid-network from its per-epoch checkpoint);
``use_cache=False`` recomputes everything.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import neurosafe
from neurosafe.core.errors import DataValidationError
from neurosafe.core.hashing import data_hash, file_hash
from neurosafe.core.io import atomic_path
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.data.io import Recording, load_netcdf, load_recording, save_netcdf
from neurosafe.data.tasks import digits_dataset
from neurosafe.finetune import TrainConfig, evaluate_accuracy, train_classifier
from neurosafe.finetune.regularizers import make_regularizer
from neurosafe.finetune.targets import NeuralTargets, make_control
from neurosafe.metrics import rdm, split_half_reliability
from neurosafe.metrics.bootstrap import percentile_ci, weighted_pearson
from neurosafe.study.cache import StageCache
from neurosafe.study.config import StudyConfig
from neurosafe.study.effects import metric_distributions, paired_effects, rdm_spearman
from neurosafe.study.evaluation import EvaluationData, evaluate_network
from neurosafe.subjects import resolve

__all__ = ["StudyResult", "run_study"]

BRAIN = "brain"
BASELINE = "baseline"


@dataclass(frozen=True)
class StudyResult:
    folder: Path
    results: dict


def _split_recording(rec: Recording, cfg: StudyConfig) -> tuple[Recording, Recording]:
    """Real data: a seeded split of the recording's stimuli into twin-training and held-out test parts."""
    if rec.responses is None or rec.stimuli is None:
        raise DataValidationError(f"{cfg.data}: a study needs responses with their stimuli")
    n = rec.responses.sizes["stimulus"]
    perm = np.random.default_rng(cfg.seed).permutation(n)
    n_test = min(cfg.recording.n_test, n // 3)
    parts = []
    for idx in (np.sort(perm[n_test:]), np.sort(perm[:n_test])):
        resp = rec.responses.isel(stimulus=idx)
        parts.append(Recording(resp, rec.stimuli.select(resp.stimulus_id.values)))
    return parts[0], parts[1]


def _record(cfg: StudyConfig, cache: StageCache) -> tuple[Recording, Recording]:
    source = ({"data": file_hash(cfg.data), "image_size": cfg.brain.image_size} if cfg.data
              else cfg.brain.model_dump())  # real data by content, never by path or size
    key = cache.key("record", source=source, recording=cfg.recording.model_dump(), seed=cfg.seed)
    paths = [cache.path("record", key, f"{part}.nc") for part in ("train", "test")]
    if all(cache.has(p) for p in paths):
        parts = [cache.read(p, load_netcdf) for p in paths]
        if all(r is not None for r in parts):
            return parts[0], parts[1]
    size = cfg.brain.image_size
    if cfg.data is not None:
        train, test = _split_recording(load_recording(cfg.data), cfg)
        train = Recording(train.responses, train.stimuli.resized(size, grey=True))
        test = Recording(test.responses, test.stimuli.resized(size, grey=True))
    else:
        brain = SyntheticBrain(cfg.brain.n_neurons, area=cfg.brain.area, seed=cfg.brain.seed, image_size=size)
        r = cfg.recording
        train_st = natural_patches(r.n_train, size, seed=cfg.seed + 101)
        test_st = natural_patches(r.n_test, size, seed=cfg.seed + 202)
        train = Recording(brain.record(train_st, r.repeats_train, seed=cfg.seed + 1), train_st)
        test = Recording(brain.record(test_st, r.repeats_test, seed=cfg.seed + 2), test_st)
    for rec, path in zip((train, test), paths, strict=True):
        save_netcdf(rec, path)
    return train, test


def _targets(cfg: StudyConfig, cache: StageCache, train: Recording, test: Recording, upstream: str
             ) -> tuple[NeuralTargets, dict]:
    """Regularizer targets: a fitted twin's predictions on new stimuli (the twin as a denoiser that supplies
    unlimited targets, Li et al. 2019), or the training recording's trial averages."""
    if not cfg.twin.enabled:
        return NeuralTargets.from_responses(train.stimuli, train.responses), {"source": "recording"}
    from neurosafe.twin import TwinConfig, evaluate_twin, fit_twin
    from neurosafe.twin.config import TwinTrainConfig

    key = cache.key("twin", upstream=upstream, twin=cfg.twin.model_dump(), seed=cfg.seed)
    path = cache.path("twin", key, "targets.nc")
    info_path = cache.path("twin", key, "json")
    if cache.has(path) and cache.has(info_path):
        rec, info = cache.read(path, load_netcdf), cache.load_json(info_path)
        if rec is not None and info is not None:
            return NeuralTargets.from_responses(rec.stimuli, rec.responses, "twin"), info
    config = TwinConfig(train=TwinTrainConfig(epochs=cfg.twin.max_epochs, progress=False, device="cpu"))
    twin = fit_twin(train.stimuli, train.responses, config=config, seed=cfg.seed,
                    checkpoint_dir=cache.root / f"twin-{key}-ckpt", resume=cache.enabled)
    new = natural_patches(cfg.twin.n_target_stimuli, cfg.brain.image_size, seed=cfg.seed + 303)
    predicted = twin.respond(new)
    save_netcdf(Recording(predicted, new), path)
    quality = evaluate_twin(twin, test.stimuli, test.responses, seed=cfg.seed, n_boot=0)
    info = {"source": "twin", "n_target_stimuli": len(new), "epochs": len(twin.history),
            "test_feve": quality.feve.value, "test_fraction_of_ceiling": quality.fraction_of_ceiling.value}
    cache.save_json(info_path, info)
    return NeuralTargets.from_responses(new, predicted, "twin"), info


def _site(cfg: StudyConfig, model: torch.nn.Module) -> str:
    if cfg.regularizer.site:
        return cfg.regularizer.site
    names = [n for n, _ in model.named_modules() if n.startswith("relu")]
    return names[0] if names else next(n for n, _ in model.named_modules() if n)


def _train(cfg: StudyConfig, cache: StageCache, condition: str, seed: int, targets: NeuralTargets,
           upstream: str, task: tuple) -> torch.nn.Module:
    x, y = task[0], task[1]
    model = resolve(cfg.task.model, seed=seed, in_channels=1, n_classes=10)
    key = cache.key("train", upstream=upstream, condition=condition, seed=seed, task=cfg.task.model_dump(),
                    regularizer=cfg.regularizer.model_dump())
    final = cache.path("net", key, "pt")
    if cache.has(final) and (state := cache.load_state(final)) is not None:
        model.load_state_dict(state)
        return model.eval()
    regs = []
    if condition != BASELINE:
        tgt = targets if condition == BRAIN else make_control(condition, targets, seed=seed)
        r = cfg.regularizer
        regs = [make_regularizer(r.kind, model, _site(cfg, model), tgt, weight=r.weight, batch_size=r.batch_size,
                                 warmup_epochs=r.warmup_epochs)]
    t = cfg.task
    result = train_classifier(model, x, y, regs, TrainConfig(epochs=t.epochs, batch_size=t.batch_size, lr=t.lr,
                                                             progress=False),
                              seed=seed, checkpoint=cache.path("ckpt", key, "pt"), resume=cache.enabled,
                              fingerprint=key)
    cache.save_state(final, result.model.state_dict())
    return result.model.eval()


def _evaluate(cfg: StudyConfig, cache: StageCache, model: torch.nn.Module, data: EvaluationData, key_parts: dict
              ) -> dict[str, np.ndarray]:
    key = cache.key("eval", evaluation=cfg.evaluation.model_dump(), sites=list(data.sites), **key_parts)
    path = cache.path("eval", key, "pt")
    if cache.has(path) and (state := cache.load_state(path)) is not None:
        return {k: v.numpy() for k, v in state.items()}
    out = evaluate_network(model, data, seed=key_parts["seed"])
    cache.save_state(path, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()})
    return out


def _brain_rdm(responses) -> np.ndarray:
    """Crossnobis RDM (cross-validated over repeats: unbiased under trial noise, Walther et al. 2016) on the
    repeats that are complete for every stimulus (real data pad missing repeats with NaN at the end)."""
    complete = responses.notnull().all(("stimulus", "neuron")).values
    if complete.sum() < 2:
        raise DataValidationError(
            f"the test recording needs at least 2 repeats complete for every stimulus; it has {int(complete.sum())}")
    return rdm(responses.isel(repeat=np.flatnonzero(complete)), distance="crossnobis").values


def _summaries(dists: dict[str, dict[str, np.ndarray]], ci_level: float = 0.95) -> dict:
    return {m: {c: {"value": float(v[0]), "ci": percentile_ci(v[1:], ci_level) if len(v) > 1 else None}
                for c, v in by_c.items()} for m, by_c in dists.items()}


def run_study(cfg: StudyConfig, out_root: str | Path = "runs", use_cache: bool = True,
              progress: bool | None = None) -> StudyResult:
    """Run every stage of ``cfg``; write ``results.json`` to ``out_root/name`` (``neurosafe.report`` renders it)."""

    t0 = time.perf_counter()
    folder = Path(out_root) / cfg.name
    cache = StageCache(folder / "cache", enabled=use_cache)
    train, test = _record(cfg, cache)
    up_record = data_hash(train.responses, test.responses)
    targets, twin_info = _targets(cfg, cache, train, test, up_record)
    up_targets = data_hash(targets.responses.numpy(), targets.stimuli.numpy())
    t = cfg.task
    x_tr, y_tr, x_te, y_te = digits_dataset(size=cfg.brain.image_size, n_test=t.n_test, seed=cfg.seed)
    n_eval = min(cfg.evaluation.n_eval, len(x_te))
    conditions = [BASELINE, BRAIN, *cfg.controls]
    probe = resolve(t.model, seed=0, in_channels=1, n_classes=10)
    site = _site(cfg, probe)
    sites = tuple(n for n, _ in probe.named_modules() if n.startswith("relu")) or (site,)
    ev = cfg.evaluation
    data = EvaluationData(torch.from_numpy(x_te[:n_eval]), torch.from_numpy(y_te[:n_eval]), test.stimuli,
                          test.responses, sites, tuple(ev.pgd_eps), ev.pgd_steps, tuple(ev.corruptions), ev.severity,
                          pool=ev.pool)
    evals: dict[str, list[dict]] = {c: [] for c in conditions}
    accuracy: dict[str, list[float]] = {c: [] for c in conditions}
    jobs = [(c, s) for c in conditions for s in cfg.seeds]
    for condition, seed in tqdm(jobs, desc="networks", disable=progress is False):
        model = _train(cfg, cache, condition, seed, targets, up_targets, (x_tr, y_tr))
        accuracy[condition].append(evaluate_accuracy(model, x_te, y_te))
        evals[condition].append(_evaluate(cfg, cache, model, data, {
            "upstream": up_targets, "condition": condition, "seed": seed, "weights": data_hash(
                *[p.detach().numpy() for p in model.parameters()])}))
    ceiling = float(split_half_reliability(test.responses, n_boot=0, seed=cfg.seed).value)
    brain_rdm = _brain_rdm(test.responses)
    dists = metric_distributions(evals, data.brain_mean, brain_rdm, ceiling, sites, site, tuple(ev.pgd_eps),
                                 n_boot=ev.n_boot, seed=cfg.seed)
    results = {
        "name": cfg.name, "seed": cfg.seed, "seeds": cfg.seeds, "conditions": conditions,
        "regularized_site": site, "sites": list(sites), "ceiling_split_half": ceiling,
        "targets": twin_info, "test_accuracy": accuracy,
        "metrics": _summaries(dists),
        "effects": paired_effects(dists, BRAIN),
        "per_seed": {m: {c: [float(v) for v in _per_seed(evals[c], m, data, brain_rdm, ceiling)]
                         for c in conditions} for m in ("clean_accuracy", f"rsa/{site}", f"ridge/{site}")},
        "config": json.loads(cfg.model_dump_json()),
        "provenance": {"neurosafe": neurosafe.__version__, "torch": torch.__version__,
                       "record_hash": up_record, "targets_hash": up_targets},
    }
    results["run"] = {"wall_time_s": round(time.perf_counter() - t0, 1), "cache_hits": len(cache.hits)}
    with atomic_path(folder / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=2, sort_keys=True))
    return StudyResult(folder, results)


def _per_seed(runs: list[dict], metric: str, data: EvaluationData, brain_rdm: np.ndarray, ceiling: float
              ) -> list[float]:
    """The metric for each seed separately (point estimates), to show the spread over training seeds."""
    idx = np.arange(len(data.brain_mean))
    out = []
    for e in runs:
        if metric == "clean_accuracy":
            out.append(float(e["correct_clean"].mean()))
        elif metric.startswith("rsa/"):
            out.append(rdm_spearman(e[f"rdm/{metric[4:]}"], brain_rdm, idx))
        else:
            r = weighted_pearson(np.ones((1, len(idx))), e[f"pred/{metric[6:]}"], data.brain_mean)
            out.append(float(np.nanmedian(r)) / ceiling)
    return out
