"""Run a study: record -> twin -> train (baseline, brain-regularized, controls) x seeds -> evaluate -> report.

Every stage is cached under ``runs/<name>/cache`` by a content hash of its inputs (DESIGN.md), so a killed
run resumes where it stopped (training also resumes mid-network from its per-epoch checkpoint);
``use_cache=False`` recomputes everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr

import neurosafe
from neurosafe.core import progress as display
from neurosafe.core.devices import resolve_device
from neurosafe.core.errors import DataValidationError
from neurosafe.core.executor import get_executor
from neurosafe.core.hashing import data_hash, file_hash
from neurosafe.core.seeds import child_seed
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.data.io import Recording, load_netcdf, load_recording, save_netcdf
from neurosafe.data.tasks import digits_dataset
from neurosafe.finetune import NeuralTargets, make_control, train_classifier
from neurosafe.metrics import Score
from neurosafe.study.cache import StageCache, cached_results, save_study_entry, scores_from_state, scores_to_state
from neurosafe.study.config import StudyConfig, StudyConfigError
from neurosafe.study.effects import Key, brain_rdm, condition_scores, network_scores, paired_effects, scorable
from neurosafe.study.evaluation import EvaluationData, evaluate_network
from neurosafe.study.results import StudyResults
from neurosafe.subjects import resolve

__all__ = ["StudyResult", "run_study"]

BRAIN = "brain"
BASELINE = "baseline"


@dataclass(frozen=True)
class StudyResult:
    folder: Path
    results: StudyResults


def _split_recording(rec: Recording, cfg: StudyConfig) -> tuple[Recording, Recording]:
    """Real data: a seeded split of the recording's stimuli into twin-training and held-out test parts (grey)."""
    if rec.responses is None or rec.stimuli is None:
        raise DataValidationError(f"{cfg.data}: a study needs responses with their stimuli")
    n = rec.responses.sizes["stimulus"]
    perm = np.random.default_rng(cfg.seed).permutation(n)
    n_test = min(cfg.recording.n_test, n // 3)
    parts = []
    for idx in (np.sort(perm[n_test:]), np.sort(perm[:n_test])):
        resp = rec.responses.isel(stimulus=idx)
        parts.append(Recording(resp, rec.stimuli.aligned_to(resp).resized(cfg.brain.image_size, grey=True)))
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
    else:
        brain = SyntheticBrain(cfg.brain.n_neurons, area=cfg.brain.area, seed=cfg.brain.seed, image_size=size)
        r = cfg.recording
        train_st = natural_patches(r.n_train, size, seed=child_seed(cfg.seed, "train stimuli"))
        test_st = natural_patches(r.n_test, size, seed=child_seed(cfg.seed, "test stimuli"))
        train = Recording(brain.record(train_st, r.repeats_train, seed=child_seed(cfg.seed, "train trials")), train_st)
        test = Recording(brain.record(test_st, r.repeats_test, seed=child_seed(cfg.seed, "test trials")), test_st)
    for rec, path in zip((train, test), paths, strict=True):
        save_netcdf(rec, path)
    return train, test


def _targets(cfg: StudyConfig, cache: StageCache, train: Recording, test: Recording, upstream: str,
             threads: int | None = None) -> tuple[NeuralTargets, dict]:
    """Regularizer targets: a fitted twin's predictions on new stimuli (the twin as a denoiser that supplies
    unlimited targets, Li et al. 2019), or the training recording's trial averages."""
    if not cfg.twin.enabled:
        return NeuralTargets.from_responses(train.stimuli, train.responses), {"source": "recording"}
    from neurosafe.twin import evaluate_twin, fit_twin

    if threads:
        torch.set_num_threads(threads)
    key = cache.key("twin", upstream=upstream, twin=cfg.twin.model_dump(), seed=cfg.seed)
    path = cache.path("twin", key, "targets.nc")
    info_path = cache.path("twin", key, "json")
    if cache.has(path) and cache.has(info_path):
        rec, info = cache.read(path, load_netcdf), cache.load_json(info_path)
        if rec is not None and info is not None:
            return NeuralTargets.from_responses(rec.stimuli, rec.responses, "twin"), info
    twin = fit_twin(train.stimuli, train.responses, config=cfg.twin.config, seed=cfg.seed,
                    checkpoint_dir=cache.root / f"twin-{key}-ckpt", resume=cache.enabled)
    new = natural_patches(cfg.twin.n_target_stimuli, cfg.brain.image_size, seed=child_seed(cfg.seed, "twin targets"))
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
        regs = [cfg.regularizer.build(model, tgt, _site(cfg, model))]
    result = train_classifier(model, x, y, regs, cfg.task.train, seed=seed, checkpoint=cache.path("ckpt", key, "pt"),
                              resume=cache.enabled, fingerprint=key)
    cache.save_state(final, result.model.state_dict())
    return result.model.eval()


def _evaluate(cfg: StudyConfig, cache: StageCache, model: torch.nn.Module, data: EvaluationData, key_parts: dict,
              device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    key = cache.key("eval", evaluation=cfg.evaluation.model_dump(), sites=list(data.sites), **key_parts)
    path = cache.path("eval", key, "pt")
    if cache.has(path) and (state := cache.load_state(path)) is not None:
        return {k: v.numpy() for k, v in state.items()}
    out = evaluate_network(model, data, seed=cfg.seed, device=device)
    cache.save_state(path, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()})
    return out


@dataclass(frozen=True)
class _NetworkTask:
    """One executor task: train (or load) the network of (condition, seed), evaluate it, score it."""

    cfg: StudyConfig
    cache: StageCache
    targets: NeuralTargets
    upstream: str
    task: tuple
    data: EvaluationData
    reference_rdm: xr.DataArray
    primary_site: str
    threads: int | None = None
    scoring: str = ""  # hash of what the statistics see besides the network: held-out responses, brain RDM

    def __call__(self, job: tuple[str, int]) -> dict[Key, Score]:
        if self.threads:
            torch.set_num_threads(self.threads)
        condition, seed = job
        model = _train(self.cfg, self.cache, condition, seed, self.targets, self.upstream, self.task)
        weights = data_hash(*[p.detach().numpy() for p in model.parameters()])
        parts = {"upstream": self.upstream, "condition": condition, "seed": seed, "weights": weights}
        # the statistics (bootstrap CIs of every metric) are a cached stage too: a re-run reads Score records
        key = self.cache.key("scores", evaluation=self.cfg.evaluation.model_dump(), sites=list(self.data.sites),
                             primary_site=self.primary_site, study_seed=self.cfg.seed, scoring=self.scoring, **parts)
        path = self.cache.path("scores", key, "pt")
        if self.cache.has(path) and (state := self.cache.load_state(path)) is not None:
            return scores_from_state(state)
        ev = _evaluate(self.cfg, self.cache, model, self.data, parts, device=resolve_device(self.cfg.device))
        scores = network_scores(ev, self.data.responses, self.reference_rdm, self.data.sites, self.data.pgd_eps,
                                self.primary_site, seed=self.cfg.seed, n_boot=self.cfg.evaluation.n_boot)
        self.cache.save_state(path, scores_to_state(scores))
        return scores


def run_study(cfg: StudyConfig, out_root: str | Path = "runs", use_cache: bool = True, progress: bool | None = None,
              backend: str = "local", workers: int | None = None) -> StudyResult:
    """Run every stage of ``cfg`` and write ``results.json`` (Score records, see
    :mod:`neurosafe.study.results`) to ``out_root/name``; ``neurosafe.report`` renders it.

    The twin fit and the networks (conditions x seeds) are tasks of the executor ``backend`` ("local" or
    "ray", ``workers`` parallel tasks; each Ray task uses one torch thread); results do not depend on it.
    Progress (:mod:`neurosafe.core.progress`) goes to stderr, four stages; ``progress=False`` silences it.
    """
    with display.switched(progress):
        return _run_study(cfg, out_root, use_cache, backend, workers)


def _run_study(cfg: StudyConfig, out_root: str | Path, use_cache: bool, backend: str, workers: int | None
               ) -> StudyResult:
    t0 = time.perf_counter()
    folder = Path(out_root) / cfg.name
    cache = StageCache(folder / "cache", enabled=use_cache)
    executor = get_executor(backend, workers=workers)  # an unknown backend is refused even when all is cached
    if use_cache and (hit := cached_results(cfg, folder, backend, workers, started=t0)) is not None:
        return StudyResult(folder, hit)  # every stage cached: read the whole study's results, compute nothing
    threads = None if backend == "local" else 1
    steps = 4
    # the task network and its regularized site are checked before any stage runs (not after training)
    probe = resolve(cfg.task.model, seed=0, in_channels=1, n_classes=10)
    site = _site(cfg, probe)
    layers = [n for n, _ in probe.named_modules() if n]
    if site not in layers:
        raise StudyConfigError(f"regularizer.site: {cfg.task.model} has no layer {site!r}; its layers are "
                               f"{', '.join(layers)}")
    sites = tuple(n for n, _ in probe.named_modules() if n.startswith("relu")) or (site,)
    with display.stage("record the brain", total=1, step=1, steps=steps) as bar:
        train, test = _record(cfg, cache)
        bar.advance()
    up_record = data_hash(train.responses, test.responses)
    with display.stage("fit the digital twin" if cfg.twin.enabled else "regularizer targets", total=1, step=2,
                        steps=steps) as bar:
        [(targets, twin_info)] = executor.map(lambda args: _targets(*args, threads=threads),
                                              [(cfg, cache, train, test, up_record)])
        bar.advance()
    up_targets = data_hash(targets.responses.numpy(), targets.stimuli.numpy())
    x_tr, y_tr, x_te, y_te = digits_dataset(size=cfg.brain.image_size, n_test=cfg.task.n_test, seed=cfg.seed)
    n_eval = min(cfg.evaluation.n_eval, len(x_te))
    conditions = [BASELINE, BRAIN, *cfg.controls]
    ev = cfg.evaluation
    data = EvaluationData(torch.from_numpy(x_te[:n_eval]), torch.from_numpy(y_te[:n_eval]), test.stimuli,
                          scorable(test.responses), sites, tuple(ev.pgd_eps), ev.pgd_steps, tuple(ev.corruptions),
                          ev.severity, pool=ev.pool)
    reference = brain_rdm(data.responses)
    task = _NetworkTask(cfg, cache, targets, up_targets, (x_tr, y_tr), data, reference, site, threads,
                        scoring=data_hash(data.responses, reference, x_te[:n_eval], y_te[:n_eval]))
    jobs = [(c, s) for c in conditions for s in cfg.seeds]
    scores = executor.map(task, display.track(jobs, "train, evaluate and score networks", step=3, steps=steps))
    per_network: dict[str, dict[int, dict[Key, Score]]] = {c: {} for c in conditions}
    for (condition, seed), network in zip(jobs, scores, strict=True):
        per_network[condition][seed] = network
    with display.stage("statistics over seeds and conditions", total=1, step=4, steps=steps) as bar:
        records = condition_scores(per_network, seed=cfg.seed)
        effects = paired_effects(records, BRAIN)
        bar.advance()
    wall = round(time.perf_counter() - t0, 1)
    # provenance of the numbers: when and how long they took to compute, kept across cached re-runs
    computed_key = cache.key("computed", config=cfg.model_dump(mode="json"), record=up_record, targets=up_targets)
    computed_path = cache.path("computed", computed_key, "json")
    computed = cache.load_json(computed_path) if cache.has(computed_path) else None
    if computed is None:
        computed = {"wall_time_s": wall, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "backend": backend, "workers": workers}
        cache.save_json(computed_path, computed)
    info = {
        "name": cfg.name, "seed": cfg.seed, "seeds": cfg.seeds, "conditions": conditions, "treated": BRAIN,
        "regularized_site": site, "sites": list(sites), "targets": twin_info,
        "brain": _brain_name(cfg),
        "config": cfg.model_dump(mode="json"),
        "provenance": {"neurosafe": neurosafe.__version__, "torch": torch.__version__,
                       "record_hash": up_record, "targets_hash": up_targets},
        # this invocation, and (computed) the one that computed the numbers: a cached re-run keeps the latter
        "run": {"wall_time_s": wall, "cache_hits": len(cache.hits), "backend": backend, "workers": workers,
                "computed": computed},
    }
    results = StudyResults(records, effects, info)
    results.save(folder / "results.json")
    save_study_entry(cache, cfg, results)
    return StudyResult(folder, results)


def _brain_name(cfg: StudyConfig) -> str:
    """The brain a study was run on, in words (the report names it)."""
    if cfg.data is not None:
        return f"recording {Path(cfg.data).name}"
    b = cfg.brain
    return f"synthetic {b.area} brain (neurosafe.data.SyntheticBrain, {b.n_neurons} neurons, seed {b.seed})"
