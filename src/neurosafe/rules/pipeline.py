"""The end-to-end runs behind ``neurosafe rules identify`` and ``neurosafe rules fit``: results JSON + figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from neurosafe.core.io import save_json
from neurosafe.rules.figures import plot_accuracy_curves, plot_confusion, plot_profiles
from neurosafe.rules.fit import (
    PlasticityRuleError,
    TaylorRule,
    fit_plasticity_rule,
    oja_coefficients,
    profile_likelihood,
    simulate_plasticity,
)
from neurosafe.rules.identify import RuleIdentificationError, accuracy_curves, identify_rules

__all__ = ["DEFAULT_HELD_OUT", "run_fit", "run_identification"]

DEFAULT_HELD_OUT = ("mlp-d2-w48", "cnn-d2-w12")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def run_identification(obs: xr.DataArray, out: str | Path, *, held_out: Sequence[str] | None = None,
                       time_strides: Sequence[int] = (1, 2, 5), seed: int = 0, n_boot: int = 1000) -> dict:
    """Identify the rules of ``obs``: held-out-architecture accuracy with all units and no noise (all features,
    activity-only, weight-only), the accuracy curves over units recorded, noise and time sampling, figures
    ``confusion.png`` and ``accuracy_vs_units.png`` and ``identification.json`` in ``out``."""
    out = Path(out)
    archs = sorted(set(obs.architecture.values.tolist()))
    if held_out is None:
        held_out = [a for a in DEFAULT_HELD_OUT if a in archs] or None
    strides = [s for s in time_strides if s <= obs.sizes["time"]]
    if not strides or any(s < 1 for s in strides):
        raise RuleIdentificationError(f"time strides must lie in [1, {obs.sizes['time']}]; got {list(time_strides)}")
    main = {fs: identify_rules(obs, held_out=held_out, features=fs, seed=seed, n_boot=n_boot)
            for fs in ("all", "activity", "weights")}
    rows = accuracy_curves(obs, held_out=held_out, feature_sets=("weights", "activity"), time_strides=strides,
                           seed=seed, n_boot=n_boot)
    split = "held-out architectures " + ", ".join(held_out) if held_out else "random 30% of networks"
    fig_conf = plot_confusion(main["all"]["confusion"], main["all"]["rules"], out / "confusion.png",
                              f"all statistics, {split}")
    fig_curves = plot_accuracy_curves(rows, out / "accuracy_vs_units.png", f"test: {split}")
    result = {
        "n_networks": int(obs.sizes["network"]), "architectures": archs, "held_out": list(held_out or []),
        "rules": main["all"]["rules"], "chance": main["all"]["chance"],
        "n_train": main["all"]["n_train"], "n_test": main["all"]["n_test"],
        "accuracy": {fs: m["accuracy"].to_dict() for fs, m in main.items()},
        "confusion": main["all"]["confusion"], "curves": rows,
        "training": {r: {"mean_final_loss": float(np.nanmean(obs.final_loss.values[obs.rule.values == r])),
                         "mean_digits_accuracy": float(np.nanmean(np.where(obs.rule.values == r,
                                                                           obs.accuracy.values, np.nan)))}
                     for r in main["all"]["rules"]},
        "figures": [str(fig_conf), str(fig_curves)],
    }
    result = _jsonable(result)
    save_json(out / "identification.json", result)
    return result


def run_fit(out: str | Path, *, units: int = 200, inputs: int = 10, steps: int = 1000, noise: float = 0.01,
            max_power: int = 2, eta: float = 0.01, profile: Sequence[str] | None = None, profile_points: int = 9,
            seed: int = 0) -> dict:
    """Recover Oja's rule: simulate ``units`` Oja neurons for ``steps`` steps, fit the Taylor-series rule, report
    the coefficients, their errors, the weakest directions and the profile likelihood of the ``profile``
    terms (default: Oja's two terms and the term the activity constrains least); ``plasticity_profile.png``
    and ``plasticity_fit.json`` in ``out``."""
    if units < 1 or inputs < 1 or steps < 2:
        raise PlasticityRuleError(f"need units >= 1, inputs >= 1, steps >= 2; got {units}, {inputs}, {steps}")
    if profile_points < 3:
        raise PlasticityRuleError(f"profile_points must be >= 3; got {profile_points}")
    out = Path(out)
    rule = TaylorRule(max_power=max_power, eta=eta)
    true = oja_coefficients(rule)
    data = simulate_plasticity(true, n_units=units, n_inputs=inputs, steps=steps, rule=rule, noise=noise, seed=seed)
    fit = fit_plasticity_rule(data["x"], data["w0"], data["y"], rule=rule)
    nonzero = np.flatnonzero(true)
    rel = np.abs(fit.theta[nonzero] - true[nonzero]) / np.abs(true[nonzero])
    if profile is None:
        weakest = rule.names[int(np.argmax(np.abs(fit.eigenvectors[:, 0])))]
        profile = [rule.names[i] for i in nonzero] + [weakest]
        profile = list(dict.fromkeys(profile))
    profiles = []
    for term in profile:
        if term not in rule.names:
            raise PlasticityRuleError(f"unknown term {term!r}; terms are {rule.names}")
        k = rule.names.index(term)
        half = max(0.05 * abs(fit.theta[k]), 0.02)
        grid = fit.theta[k] + np.linspace(-half, half, profile_points)
        prof = profile_likelihood(fit, data["x"], data["w0"], data["y"], term, grid)
        prof["true"] = float(true[k])
        profiles.append(prof)
    figure = plot_profiles(profiles, out / "plasticity_profile.png")
    result = _jsonable({
        "data": {"units": units, "inputs": inputs, "steps": steps, "noise": noise, "seed": seed},
        "fit": fit.to_dict(), "true": dict(zip(rule.names, true.tolist(), strict=True)),
        "oja_relative_error": dict(zip([rule.names[i] for i in nonzero], rel.tolist(), strict=True)),
        "max_abs_error_other_terms": float(np.max(np.abs(np.delete(fit.theta - true, nonzero)))),
        "recovered_within_5pct": bool((rel < 0.05).all()),
        "profiles": profiles,
        "figures": [str(figure)],
    })
    save_json(out / "plasticity_fit.json", result)
    return result
