"""Robustness curves: accuracy (classification) or mean objective (regression) against epsilon, as xarray."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr

from neurosafe.robust._engine import Engine, eval_mode
from neurosafe.robust._inputs import AttackError, as_images
from neurosafe.robust.apgd import apgd
from neurosafe.robust.attacks import fgsm, pgd, random_noise

__all__ = ["ATTACKS", "attack", "evaluate", "robustness_curve"]

ATTACKS = ("pgd", "apgd", "fgsm", "noise")


def attack(
    name: str, model: Any, x: Any, y: Any, *, eps: float, norm: str = "linf", seed: int = 0, **kwargs: Any
) -> Any:
    """Run an attack by name: ``pgd``, ``apgd``, ``fgsm`` or ``noise`` (random perturbation of size eps)."""
    if name == "pgd":
        return pgd(model, x, y, eps=eps, norm=norm, seed=seed, **kwargs)
    if name == "apgd":
        if "objective" in kwargs:
            kwargs["loss"] = kwargs.pop("objective")
        return apgd(model, x, y, eps=eps, norm=norm, seed=seed, **kwargs)
    if name == "fgsm":
        return fgsm(model, x, y, eps=eps, norm=norm, **kwargs)
    if name == "noise":
        return random_noise(x, eps=eps, norm=norm, seed=seed)
    raise AttackError(f"unknown attack {name!r}; choose one of {ATTACKS}")


@torch.no_grad()
def evaluate(
    model: Any,
    x_adv: Any,
    y: Any = None,
    *,
    x_clean: Any = None,
    objective: Any = None,
    batch_size: int = 256,
    device: str | torch.device = "auto",
) -> np.ndarray:
    """Per-example score of (possibly perturbed) inputs: correctness (1/0) when ``y`` holds labels and the
    objective classifies, else the objective against the clean outputs of ``x_clean``."""
    engine = Engine(model, x_adv, y, objective, False, device)
    clean = None if x_clean is None else as_images(x_clean, "clean inputs")
    values = []
    with eval_mode(engine.module):
        for i in range(0, len(engine.x), batch_size):
            index = slice(i, i + batch_size)
            xb = engine.x[index].to(engine.device)
            if engine.labels is None:
                if clean is None:
                    raise AttackError("evaluating an output change needs the clean inputs (x_clean)")
                target = engine.targets(clean[index].to(engine.device), index)
            else:
                target = engine.targets(xb, index)
            loss, success = engine.evaluate(xb, target)
            values.append((~success).float() if engine.classifies else loss)
    return torch.cat(values).cpu().numpy().astype(np.float64)


def robustness_curve(
    model: Any,
    x: Any,
    y: Any = None,
    eps: Sequence[float] = (1 / 255, 2 / 255, 4 / 255, 8 / 255),
    *,
    attack_name: str = "pgd",
    norm: str = "linf",
    seed: int = 0,
    objective: Any = None,
    **attack_kwargs: Any,
) -> xr.DataArray:
    """Accuracy (labels given) or mean objective (e.g. the output change of a twin) after the attack at each
    epsilon, over dim ``epsilon`` (eps = 0 gives the clean value); attrs hold the attack set-up."""
    eps = sorted(float(e) for e in eps)
    if not eps:
        raise AttackError("robustness_curve needs at least one epsilon")
    engine = Engine(model, x, y, objective, False, "auto")
    values = []
    for e in eps:
        kwargs = dict(attack_kwargs) if attack_name == "noise" else {**attack_kwargs, "objective": objective}
        x_adv = attack(attack_name, model, x, y, eps=e, norm=norm, seed=seed, **kwargs)
        values.append(evaluate(model, x_adv, y, x_clean=x, objective=objective).mean())
    attrs = {"attack": attack_name, "norm": norm, "seed": seed, "n_inputs": len(engine.x),
             "objective": repr(engine.objective),
             **{k: v for k, v in attack_kwargs.items() if isinstance(v, int | float | str | bool)}}
    return xr.DataArray(np.array(values), dims=("epsilon",), coords={"epsilon": eps},
                        name="accuracy" if engine.classifies else "objective", attrs=attrs)
