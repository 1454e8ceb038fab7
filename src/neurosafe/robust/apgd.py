"""Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
parameter-free attacks", Algorithm 1): PGD with momentum and a step size that halves, restarting from the
best point, whenever progress stalls at checkpoints. No step size to tune, which is what makes it a
reliable evaluation.

Details as in the paper: eta^(0) = 2 eps, momentum alpha = 0.75, rho = 0.75, checkpoints
w_j = ceil(p_j N) with p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06). Condition 2
("step size unchanged and best loss unchanged since the last checkpoint") reads "not halved at the last
checkpoint", as in the authors' code. Simplifications: the random start is the PGD one (uniform in the
L-inf box, or Gaussian direction with uniform radius for L2); the L2 version projects onto the ball and then
clips to [0, 1] instead of projecting onto their intersection; after a restart from the best point the
momentum is reset.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from neurosafe.robust._engine import Engine, check_budget, check_steps, project, step_direction
from neurosafe.robust._engine import random_start as random_start_point
from neurosafe.robust._inputs import AttackError, restore_type
from neurosafe.robust.objectives import Objective

__all__ = ["apgd", "apgd_checkpoints"]

ALPHA = 0.75
RHO = 0.75


def apgd_checkpoints(steps: int) -> list[int]:
    """The iterations w_1 < w_2 < ... <= steps at which APGD checks its progress (p_j rounded to 1e-9 before
    the ceiling, so that e.g. 0.57 * 100 gives 57, not 58 from floating-point error)."""
    p = [0.0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    points = {math.ceil(round(q * steps, 9)) for q in p[1:]}
    return sorted(w for w in points if 0 < w <= steps)


def apgd(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    eps: float,
    norm: str = "linf",
    steps: int = 100,
    loss: str | Objective | None = None,
    random_start: bool = True,
    restarts: int = 1,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> Any:
    """APGD with ``loss`` "ce" (APGD-CE, the default with labels), "dlr" (APGD-DLR), "margin",
    "output_change" (the default without labels) or any per-example objective. Returns, per example, an
    iterate that fooled the model when one was found, else the iterate with the highest objective (in the
    type of ``x``)."""
    eps = check_budget(eps, norm)
    check_steps(steps, restarts)
    engine = Engine(model, x, y, loss, False, device)
    if not random_start and getattr(engine.objective, "needs_random_start", False):
        raise AttackError(f"{engine.objective!r} has zero gradient at the clean input; use random_start=True")
    if eps == 0:
        return restore_type(engine.x.clone(), x)
    checkpoints = set(apgd_checkpoints(steps))

    def run(xb: torch.Tensor, target: torch.Tensor, x_k: torch.Tensor) -> torch.Tensor:
        n = len(xb)
        eta = torch.full((n,), 2.0 * eps, device=xb.device)
        loss_k, out, grad = engine.loss_and_grad(x_k, target)
        best_x, best_loss, best_grad = x_k.clone(), loss_k.clone(), grad.clone()
        fooled = engine.success(out, target)
        adv = x_k.clone()
        x_prev = x_k
        increases = torch.zeros(n, device=xb.device)
        best_at_check, halved_last, last_check = best_loss.clone(), torch.zeros_like(fooled), 0
        for k in range(steps):
            z = project(xb, x_k + _col(eta, x_k) * step_direction(grad, norm), eps, norm)
            x_new = (
                z
                if k == 0
                else project(xb, x_k + ALPHA * (z - x_k) + (1 - ALPHA) * (x_k - x_prev), eps, norm)
            )
            loss_new, out, grad = engine.loss_and_grad(x_new, target)
            increases += loss_new > loss_k
            better = loss_new > best_loss
            best_x[better], best_loss[better], best_grad[better] = (
                x_new[better],
                loss_new[better],
                grad[better],
            )
            succ = engine.success(out, target)
            adv[succ] = x_new[succ]
            fooled |= succ
            x_prev, x_k, loss_k = x_k, x_new, loss_new
            if k + 1 in checkpoints:
                stalled = increases < RHO * (k + 1 - last_check)
                no_progress = ~halved_last & (best_loss <= best_at_check)
                halve = stalled | no_progress
                eta[halve] /= 2
                x_k, x_prev = x_k.clone(), x_prev.clone()
                x_k[halve] = best_x[halve]
                x_prev[halve] = best_x[halve]
                grad[halve], loss_k[halve] = best_grad[halve], best_loss[halve]
                increases.zero_()
                best_at_check, halved_last, last_check = best_loss.clone(), halve, k + 1
        adv[~fooled] = best_x[~fooled]
        return adv

    def per_batch(xb: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        start = (lambda v: random_start_point(v, eps, norm, gen)) if random_start else torch.clone
        return engine.with_restarts(run, xb, target, start, restarts)

    return engine.run(per_batch, batch_size, seed, progress, f"APGD-{steps} {norm} eps={eps:.4g}")


def _col(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-example vector shaped to broadcast over the example's other axes."""
    return v.view(-1, *([1] * (like.ndim - 1)))
