"""The machinery every gradient attack shares: targets, losses and gradients, threat-model geometry
(steps, projections, random starts), restarts and batching with a progress bar."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from neurosafe.core import progress as display
from neurosafe.core.errors import DataValidationError
from neurosafe.core.hooks import eval_mode
from neurosafe.robust._inputs import AttackError, as_images, restore_type
from neurosafe.robust.objectives import resolve_objective
from neurosafe.subjects import DifferentiableSubject, as_differentiable, network

__all__ = ["Engine", "call_model", "check_budget", "eval_mode", "output", "predict", "project", "random_start",
           "step_direction"]

NORMS = ("linf", "l2")


def check_budget(eps: float, norm: str) -> float:
    """Validate the threat model: a finite, non-negative epsilon and a known norm."""
    if norm not in NORMS:
        raise AttackError(f"unknown norm {norm!r}; choose 'linf' or 'l2'")
    try:
        eps = float(eps)
    except (TypeError, ValueError) as err:
        raise AttackError(f"epsilon must be a number; got {eps!r}") from err
    if not math.isfinite(eps) or eps < 0:
        raise AttackError(f"epsilon must be finite and >= 0; got {eps}")
    return eps


def check_steps(steps: int, restarts: int) -> None:
    """Validate an iterative attack's iterations and random restarts (positive integers)."""
    if int(steps) != steps or steps < 1:
        raise AttackError(f"steps must be a positive integer; got {steps}")
    if int(restarts) != restarts or restarts < 1:
        raise AttackError(f"restarts must be a positive integer; got {restarts}")


def _per_example(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (like.ndim - 1)))


def step_direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """Steepest-ascent direction of unit norm: sign(grad) for L-inf, grad / ||grad||_2 for L2."""
    if norm == "linf":
        return grad.sign()
    return grad / _per_example(grad.flatten(1).norm(dim=1) + 1e-10, grad)


def project(x: torch.Tensor, x_adv: torch.Tensor, eps: float | torch.Tensor, norm: str) -> torch.Tensor:
    """Project onto the eps-ball around ``x`` and then onto the image box [0, 1]."""
    delta = x_adv - x
    if norm == "linf":
        delta = delta.clamp(-eps, eps)
    else:
        scale = (eps / delta.flatten(1).norm(dim=1)).clamp(max=1.0)
        delta = delta * _per_example(scale, delta)
    return (x + delta).clamp(0.0, 1.0)


def random_start(x: torch.Tensor, eps: float, norm: str, gen: torch.Generator) -> torch.Tensor:
    """A random point of the ball: uniform in the L-inf box; for L2 a Gaussian direction with a radius
    uniform in [0, eps] (as Madry et al. 2018's reference code; it favours points near x over uniform
    sampling of the ball)."""
    if norm == "linf":
        delta = torch.empty_like(x).uniform_(-eps, eps, generator=gen)
    else:
        delta = torch.empty_like(x).normal_(generator=gen)
        norms = delta.flatten(1).norm(dim=1)
        radius = torch.empty_like(norms).uniform_(0, 1, generator=gen)
        delta = delta * _per_example(radius * eps / norms, delta)
    return (x + delta).clamp(0.0, 1.0)


def output(subject: DifferentiableSubject) -> Callable[[torch.Tensor], torch.Tensor]:
    """The differentiable map inputs -> the subject's output (its last site), the thing attacks move."""
    site = subject.sites[-1]
    return lambda x: subject.activations(x, [site])[site]


def call_model(model: Any, x: torch.Tensor) -> Any:
    """``model(x)``, with a model that cannot take these inputs reported as a clear error."""
    try:
        return model(x)
    except (RuntimeError, TypeError, ValueError) as err:
        raise AttackError(
            f"the model failed on inputs of shape {tuple(x.shape)} ({type(err).__name__}: "
            f"{str(err).splitlines()[0]}); does it expect other image sizes or channels?"
        ) from err


@torch.no_grad()
def predict(model: Any, x: Any, batch_size: int = 256, device: str | torch.device = "auto") -> torch.Tensor:
    """The model's outputs for inputs in [0, 1], batched, in evaluation mode, on the CPU."""
    subject = as_differentiable(model, device)
    images, forward = as_images(x), output(subject)
    with eval_mode(network(subject)):
        return torch.cat([call_model(forward, images[i : i + batch_size].to(subject.device)).detach().cpu()
                          for i in range(0, len(images), batch_size)])


class Engine:
    """One attack call: the model as a ``DifferentiableSubject`` (``model``), its output as a differentiable
    callable (``forward``), the objective, validated inputs/targets."""

    def __init__(self, model: Any, x: Any, y: Any, objective: Any, targeted: bool, device: str | torch.device):
        self.model = as_differentiable(model, device)
        self.module, self.forward = network(self.model), output(self.model)
        self.original = x
        self.x = as_images(x)
        self.device = self.model.device
        self.objective = resolve_objective(objective, y is not None, targeted)
        self.labels = self._check_targets(y)
        self.classifies = hasattr(self.objective, "success")
        self._checked = False

    def _check_targets(self, y: Any) -> torch.Tensor | None:
        needs_labels = getattr(self.objective, "needs_labels", False)
        if y is None:
            if needs_labels:
                raise AttackError(f"the objective {self.objective!r} needs labels; got y=None")
            return None
        y = torch.as_tensor(np.asarray(y)) if not isinstance(y, torch.Tensor) else y.detach()
        if y.ndim == 0 or len(y) != len(self.x):
            raise DataValidationError(f"got {1 if y.ndim == 0 else len(y)} labels/targets for {len(self.x)} inputs")
        if needs_labels:
            if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool or y.ndim != 1:
                raise DataValidationError(f"labels must be a 1-d array of integer classes; got dtype {y.dtype}, "
                                          f"shape {tuple(y.shape)}")
            return y.long()
        return y.float() if y.is_floating_point() else y  # reference outputs, or a custom objective's targets

    # --------------------------------------------------------------------------------- evaluation
    def _forward(self, x_adv: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = call_model(self.forward, x_adv)
        if not self._checked:
            if hasattr(self.objective, "check"):
                self.objective.check(out, target)
            self._checked = True
        return out

    def targets(self, xb: torch.Tensor, index: slice) -> torch.Tensor:
        """Labels of the batch, or the clean outputs when attacking a change of output."""
        if self.labels is not None:
            return self.labels[index].to(self.device)
        with torch.no_grad():
            return call_model(self.forward, xb).detach()

    def loss_and_grad(
        self, x_adv: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-example objective, outputs and the gradient of the objective w.r.t. the inputs."""
        x_adv = x_adv.detach().requires_grad_(True)
        with torch.enable_grad():
            out = self._forward(x_adv, target)
            if not out.requires_grad:
                raise AttackError(
                    "the model's output carries no gradient w.r.t. its input (does it run under "
                    "torch.no_grad, detach, or go through numpy?); gradient attacks need a "
                    "differentiable model"
                )
            loss = self.objective(out, target)
            if not isinstance(loss, torch.Tensor) or loss.shape != (len(x_adv),):
                shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
                raise AttackError(
                    f"the objective must return one value per example, shape ({len(x_adv)},); got {shape}"
                )
            (grad,) = torch.autograd.grad(loss.sum(), x_adv, allow_unused=True)
        if grad is None:
            raise AttackError("the model's output does not depend on its input; nothing to attack")
        return loss.detach(), out.detach(), grad

    @torch.no_grad()
    def evaluate(self, x_adv: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example objective and success (all False for objectives without a notion of success)."""
        out = self._forward(x_adv, target)
        return self.objective(out, target), self.success(out, target)

    def success(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.classifies:
            return self.objective.success(out, target)
        return torch.zeros(len(out), dtype=torch.bool, device=out.device)

    # ----------------------------------------------------------------------------------- driving
    def with_restarts(
        self,
        run: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
        xb: torch.Tensor,
        target: torch.Tensor,
        start: Callable[[torch.Tensor], torch.Tensor],
        restarts: int,
    ) -> torch.Tensor:
        """Run ``run(x, target, x_start)`` ``restarts`` times; per example keep the first successful result,
        else the one with the highest objective. Examples already fooled are not restarted."""
        if restarts == 1:
            return run(xb, target, start(xb))
        best = xb.clone()
        best_loss = torch.full((len(xb),), -torch.inf, device=xb.device)
        done = torch.zeros(len(xb), dtype=torch.bool, device=xb.device)
        for _ in range(restarts):
            todo = torch.nonzero(~done).flatten()
            if len(todo) == 0:
                break
            adv = run(xb[todo], target[todo], start(xb[todo]))
            loss, succ = self.evaluate(adv, target[todo])
            better = succ | (loss > best_loss[todo])
            best[todo[better]] = adv[better]
            best_loss[todo[better]] = loss[better]
            done[todo[succ]] = True
        return best

    def run(
        self,
        per_batch: Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor],
        batch_size: int,
        seed: int,
        progress: bool,
        desc: str,
    ) -> Any:
        """Apply ``per_batch(x, target, generator)`` batch by batch; return the caller's array type."""
        if batch_size < 1:
            raise AttackError(f"batch_size must be >= 1; got {batch_size}")
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        out = []
        with (
            eval_mode(self.module),
            display.stage(desc, total=len(self.x), unit="image", show=progress) as bar,
        ):
            for i in range(0, len(self.x), batch_size):
                index = slice(i, i + batch_size)
                xb = self.x[index].to(self.device)
                out.append(per_batch(xb, self.targets(xb, index), gen).detach().to(self.x.device))
                bar.advance(len(xb))
        return restore_type(torch.cat(out), self.original)
