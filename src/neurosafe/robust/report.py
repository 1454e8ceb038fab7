"""``robustness_report``: every robustness measure of a model or subject as ``Score`` records.

For a classifier (labels given): clean and adversarial accuracy at each epsilon (with the random-noise
baseline and the gradient-masking checks), corruption accuracy and relative corruption error
(Hendrycks & Dietterich 2019), calibration (ECE, Brier, NLL) and OOD detection (max-softmax and energy
AUROC and FPR at 95% TPR). For a regression model such as a digital twin or the synthetic brain (no labels):
the L2 change of its predicted responses under attack, under noise of the same size and under corruptions.
Confidence intervals bootstrap stimuli (``n_boot`` resamples of :mod:`neurosafe.metrics.bootstrap`, seeded:
Scores of two models on the same stimuli pair up); the ECE is bias-corrected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import xarray as xr

from neurosafe.core.seeds import child_seed
from neurosafe.metrics import (
    Score,
    auroc,
    brier_score,
    calibration_score,
    fpr_at_tpr,
    mean_score,
    negative_log_likelihood,
    provenance,
)
from neurosafe.metrics.bootstrap import bootstrap_statistic
from neurosafe.robust._engine import Engine, predict
from neurosafe.robust._inputs import AttackError
from neurosafe.robust.attacks import random_noise
from neurosafe.robust.checks import gradient_masking_checks
from neurosafe.robust.corruptions import CORRUPTIONS
from neurosafe.robust.evaluation import corruption_curve, corruption_summary, per_example_scores
from neurosafe.robust.ood import OOD_SETS, energy_score, max_softmax_score, ood_images
from neurosafe.robust.sweep import attack as run_attack

__all__ = ["PARTS", "robustness_report"]

PARTS = ("adversarial", "corruption", "calibration", "ood")


class _Builder:
    """Makes Scores with shared provenance (data hash, seed) and bootstrap settings."""

    def __init__(self, images: np.ndarray, n_boot: int, seed: int) -> None:
        self.images, self.n_boot, self.seed = images, n_boot, seed

    def provenance(self, name: str, params: dict, **extra: Any) -> dict:
        return provenance(name, params | {"n_boot": self.n_boot}, data=self.images, seed=self.seed, **extra)

    def mean(self, name: str, values: np.ndarray, params: dict, higher_is_better: bool, **extra: Any) -> Score:
        score = mean_score(values, name, self.seed, self.n_boot, higher_is_better=higher_is_better)
        return replace(score, provenance=self.provenance(name, params, **extra))

    def score(self, name: str, value: float, params: dict, higher_is_better: bool,
              per_unit: xr.DataArray | None = None) -> Score:
        prov = provenance(name, params, data=self.images, seed=self.seed)
        return Score(value=value, per_unit=per_unit, higher_is_better=higher_is_better, provenance=prov)


def robustness_report(
    subject_or_model: Any,
    stimuli: Any,
    labels: Any = None,
    *,
    eps: Sequence[float] = (1 / 255, 2 / 255, 4 / 255, 8 / 255),
    norm: str = "linf",
    attack: str = "pgd",
    steps: int = 20,
    restarts: int = 1,
    parts: Sequence[str] = PARTS,
    corruptions: Sequence[str] = CORRUPTIONS,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    ood_sets: Sequence[str] = OOD_SETS,
    n_bins: int = 15,
    surrogate: Any = None,
    checks: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> dict[str, Score]:
    """Robustness of ``subject_or_model`` (an nn.Module, a function or a DifferentiableSubject) on
    ``stimuli`` (images in [0, 1], array/tensor/StimulusSet) with integer ``labels`` (None: regression).

    Keys: ``accuracy_clean``, ``accuracy_<attack>_<norm>_eps<e>``, ``accuracy_noise_<norm>_eps<e>``,
    ``mean_corruption_accuracy``, ``relative_corruption_error``, ``expected_calibration_error``,
    ``brier_score``, ``negative_log_likelihood``, ``ood_auroc_<msp|energy>``, ``ood_fpr95_<msp|energy>``;
    without labels ``output_change_<attack|noise>_<norm>_eps<e>`` and ``corruption_output_change``.
    Gradient-masking checks (``checks``) go into the adversarial scores' provenance and warn on failure.
    """
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise AttackError(f"unknown report parts {unknown}; choose from {PARTS}")
    engine = Engine(subject_or_model, stimuli, labels, None, False, device)
    model, x = engine.model, engine.x
    y = None if labels is None else engine.labels
    classifies = y is not None
    build = _Builder(x.cpu().numpy(), n_boot, seed)
    kw = {"batch_size": batch_size, "device": device}
    scores: dict[str, Score] = {}
    if classifies:
        scores["accuracy_clean"] = build.mean("accuracy_clean", per_example_scores(model, x, y, **kw), {}, True)
    if "adversarial" in parts:
        scores |= _adversarial(build, model, x, y, eps, norm, attack, steps, restarts, surrogate, checks, seed,
                               progress, kw)
    if "corruption" in parts:
        scores |= _corruption(build, model, x, y, corruptions, severities, seed, kw)
    if classifies and ({"calibration", "ood"} & set(parts)):
        logits = predict(model, x, **kw)
        if logits.ndim != 2:
            raise AttackError(f"calibration and OOD need logits (batch, classes); got shape {tuple(logits.shape)}")
        if "calibration" in parts:
            scores |= _calibration(build, torch.softmax(logits.double(), 1).numpy(), y.numpy(), n_bins)
        if "ood" in parts:
            scores |= _ood(build, model, x, logits.numpy(), ood_sets, seed, kw)
    return scores


def _adversarial(build: _Builder, model: Any, x: torch.Tensor, y: torch.Tensor | None, eps: Sequence[float],
                 norm: str, attack: str, steps: int, restarts: int, surrogate: Any, checks: bool, seed: int,
                 progress: bool, kw: dict) -> dict[str, Score]:
    eps = sorted(float(e) for e in eps)
    attack_kwargs = {"steps": steps, "restarts": restarts, "progress": progress, **kw} if attack != "fgsm" else kw
    measure = "accuracy" if y is not None else "output_change"
    per_eps: dict[str, list[np.ndarray]] = {"attack": [], "noise": []}
    for e in eps:
        x_adv = run_attack(attack, model, x, y, eps=e, norm=norm, seed=seed, **attack_kwargs)
        per_eps["attack"].append(per_example_scores(model, x, y, x_adv, **kw))
        per_eps["noise"].append(per_example_scores(model, x, y, random_noise(x, eps=e, norm=norm, seed=seed), **kw))
    found = {}
    if checks:
        # the checks compare attack strength: error rate for classifiers, squared output change otherwise
        def strength(v: np.ndarray) -> float:
            return float(1 - v.mean()) if y is not None else float((v**2).mean())

        strengths = {k: [strength(v) for v in vals] for k, vals in per_eps.items()}
        found = gradient_masking_checks(model, x, y, eps=eps, norm=norm, attack_name=attack, surrogate=surrogate,
                                        seed=seed, strengths=strengths, **attack_kwargs)
    summary = {name: c.to_dict() for name, c in found.items()}
    out = {}
    for i, e in enumerate(eps):
        for which, label in (("attack", attack), ("noise", "noise")):
            name = f"{measure}_{label}_{norm}_eps{e:.4g}"
            params = {"attack": label, "norm": norm, "eps": e}
            if which == "attack" and attack != "noise":
                params |= {"steps": steps, "restarts": restarts} if attack != "fgsm" else {}
            out[name] = build.mean(name, per_eps[which][i], params, y is not None,
                                   **({"gradient_masking_checks": summary} if which == "attack" else {}))
    return out


def _corruption(build: _Builder, model: Any, x: torch.Tensor, y: torch.Tensor | None, kinds: Sequence[str],
                severities: Sequence[int], seed: int, kw: dict) -> dict[str, Score]:
    curve = corruption_curve(model, x, y, kinds=kinds, severities=severities, seed=seed, **kw)
    params = {"corruptions": list(kinds), "severities": list(severities)}
    if y is None:
        per_kind = curve.mean("severity")
        return {"corruption_output_change": build.score("corruption_output_change", float(per_kind.mean()), params,
                                                        False, per_unit=per_kind)}
    clean = float(per_example_scores(model, x, y, **kw).mean())
    summary = corruption_summary(curve, clean)
    return {"mean_corruption_accuracy": build.score("mean_corruption_accuracy", summary["mean_corruption_accuracy"],
                                                    params, True, per_unit=curve.mean("severity")),
            "relative_corruption_error": build.score("relative_corruption_error",
                                                     float(summary["relative_error"].mean()), params, False,
                                                     per_unit=summary["relative_error"])}


def _calibration(build: _Builder, probs: np.ndarray, labels: np.ndarray, n_bins: int) -> dict[str, Score]:
    """ECE (bias-corrected, :func:`calibration_score`), Brier score and NLL with bootstraps over stimuli."""
    ece = calibration_score(probs, labels, seed=build.seed, n_boot=build.n_boot, n_bins=n_bins)
    out = {"expected_calibration_error": replace(ece, provenance=build.provenance("expected_calibration_error",
                                                                                  {"n_bins": n_bins}))}
    for name, fn in {"brier_score": brier_score, "negative_log_likelihood": negative_log_likelihood}.items():
        values = bootstrap_statistic(lambda idx, fn=fn: fn(probs[idx], labels[idx]), len(labels), build.n_boot,
                                     build.seed)
        out[name] = Score.from_bootstrap(values, len(labels), higher_is_better=False,
                                         provenance=build.provenance(name, {}))
    return out


def _ood(
    build: _Builder, model: Any, x: torch.Tensor, logits: np.ndarray, sets: Sequence[str], seed: int, kw: dict
) -> dict[str, Score]:
    if not sets:
        return {}
    scorers = {"msp": max_softmax_score, "energy": energy_score}
    results: dict[str, dict[str, list[float]]] = {s: {"auroc": [], "fpr95": []} for s in scorers}
    for k, kind in enumerate(sets):
        images = ood_images(kind, x.cpu().numpy(), seed=child_seed(seed, "ood_images", k))
        out_logits = predict(model, images, **kw).numpy()
        for s, fn in scorers.items():
            results[s]["auroc"].append(auroc(fn(logits), fn(out_logits)))
            results[s]["fpr95"].append(fpr_at_tpr(fn(logits), fn(out_logits), 0.95))
    out = {}
    for s, res in results.items():
        for metric, values in res.items():
            per_set = xr.DataArray(values, dims=("ood_set",), coords={"ood_set": list(sets)})
            name = f"ood_{metric}_{s}"
            out[name] = build.score(name, float(np.mean(values)), {"score": s, "ood_sets": list(sets)},
                                    metric == "auroc", per_unit=per_set)
    return out
