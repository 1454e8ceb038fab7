"""Gradient attacks inside an L-inf or L2 ball, inputs kept in [0, 1]: FGSM and PGD, plus the random-noise
baseline of the same size (a sanity check: a real attack must beat it).

- FGSM: Goodfellow, Shlens & Szegedy 2015, "Explaining and harnessing adversarial examples".
- PGD: Madry et al. 2018, "Towards deep learning models resistant to adversarial attacks": projected
  steepest ascent from a random point of the ball, with restarts. Optional per-example early stopping
  freezes an example at the first iterate that fools the model (a stronger evaluation than Madry's final
  iterate; off by default so that results equal the reference implementations).

``model`` is an ``nn.Module``, a function of image tensors or a ``DifferentiableSubject`` (its output: its last site);
``objective`` any per-example objective to maximise (see ``neurosafe.robust.objectives``): classification
(``"ce"``, ``"margin"``, ``"dlr"``; targeted or not) or a change of the model's output / of a layer's
representation (``"output_change"``, the default when ``y`` is None).
"""

from __future__ import annotations

from typing import Any

import torch

from neurosafe.robust._engine import Engine, check_budget, check_steps, project, step_direction
from neurosafe.robust._engine import random_start as random_start_point
from neurosafe.robust._inputs import AttackError, as_images, restore_type
from neurosafe.robust.objectives import Objective

__all__ = ["fgsm", "pgd", "random_noise"]


def pgd(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    eps: float,
    norm: str = "linf",
    steps: int = 20,
    step_size: float | None = None,
    random_start: bool = True,
    restarts: int = 1,
    early_stop: bool = False,
    objective: str | Objective | None = None,
    targeted: bool = False,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> Any:
    """Projected gradient ascent of ``objective`` within ``||x_adv - x|| <= eps``; returns the adversarial
    inputs in the type of ``x`` (tensor, numpy array or StimulusSet).

    ``y``: integer labels (the target classes when ``targeted``), or None to attack the change of the
    model's output. ``step_size`` defaults to 2.5 eps / steps (the rule of Madry et al.'s robustness
    library), ``restarts`` runs from fresh random starts (seeded by ``seed``) and keeps, per example, the
    first success or the highest objective. ``device="auto"``: the model's device.
    """
    eps = check_budget(eps, norm)
    check_steps(steps, restarts)
    step = 2.5 * eps / steps if step_size is None else float(step_size)
    if step <= 0 and eps > 0:
        raise AttackError(f"step_size must be > 0; got {step_size}")
    engine = Engine(model, x, y, objective, targeted, device)
    if not random_start and getattr(engine.objective, "needs_random_start", False):
        raise AttackError(f"{engine.objective!r} has zero gradient at the clean input; use random_start=True")
    if eps == 0:
        return restore_type(engine.x.clone(), x)

    def run(xb: torch.Tensor, target: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
        if not early_stop:
            for _ in range(steps):
                _, _, grad = engine.loss_and_grad(x_adv, target)
                x_adv = project(xb, x_adv + step * step_direction(grad, norm), eps, norm)
            return x_adv
        active = torch.arange(len(xb), device=xb.device)
        for _ in range(steps):
            _, out, grad = engine.loss_and_grad(x_adv[active], target[active])
            keep = ~engine.success(out, target[active])
            active, grad = active[keep], grad[keep]
            if len(active) == 0:
                break
            x_adv[active] = project(xb[active], x_adv[active] + step * step_direction(grad, norm), eps, norm)
        return x_adv

    def per_batch(xb: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        start = (lambda v: random_start_point(v, eps, norm, gen)) if random_start else torch.clone
        return engine.with_restarts(run, xb, target, start, restarts)

    return engine.run(per_batch, batch_size, seed, progress, f"PGD-{steps} {norm} eps={eps:.4g}")


def fgsm(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    eps: float,
    norm: str = "linf",
    objective: str | Objective | None = None,
    targeted: bool = False,
    batch_size: int = 256,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> Any:
    """Fast gradient (sign) method: one step of size ``eps`` along sign(grad) (L-inf) or grad / ||grad||
    (L2, the fast gradient method), clipped to [0, 1]. Equal to one PGD step from the clean input."""
    return pgd(model, x, y, eps=eps, norm=norm, steps=1, step_size=eps, random_start=False, objective=objective,
               targeted=targeted, batch_size=batch_size, device=device, progress=progress)


def random_noise(x: Any, *, eps: float, norm: str = "linf", seed: int = 0) -> Any:
    """Random perturbation of exactly the attack's size (before clipping to [0, 1]): a random corner of the
    L-inf box (+/- eps per pixel) or a random direction on the L2 sphere of radius eps."""
    eps = check_budget(eps, norm)
    images = as_images(x)
    gen = torch.Generator(device=images.device).manual_seed(int(seed))
    noise = torch.empty_like(images).normal_(generator=gen)
    noise = step_direction(noise, norm) * eps
    return restore_type((images + noise).clamp(0.0, 1.0), x)
