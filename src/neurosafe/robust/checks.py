"""Sanity checks against gradient masking (Athalye, Carlini & Wagner 2018, "Obfuscated gradients give a
false sense of security"; the checks AutoAttack reports, Croce & Hein 2020): a white-box attack that looks
strong only because its gradients are broken fails at least one of them.

1. ``monotone``: attack strength must not fall as epsilon grows (accuracy must not rise);
2. ``large_eps``: a very large budget (the whole image cube) must drive a classifier near 0% accuracy;
3. ``beats_noise``: the attack must be at least as strong as random noise of the same size;
4. ``beats_transfer``: the attack must be at least as strong as the same attack run on a surrogate model
   and transferred.

Strength is the error rate for classification objectives and the mean objective (e.g. output change)
otherwise. Each failed check emits a ``GradientMaskingWarning``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosafe.robust._engine import Engine
from neurosafe.robust.attacks import random_noise
from neurosafe.robust.sweep import attack, evaluate

__all__ = ["Check", "GradientMaskingWarning", "gradient_masking_checks"]


class GradientMaskingWarning(UserWarning):
    """An attack result that looks like gradient masking rather than robustness."""


@dataclass(frozen=True)
class Check:
    """One sanity check: its name, whether it passed, a sentence, and the numbers it compared."""

    name: str
    passed: bool
    message: str
    values: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "message": self.message, "values": self.values}


def gradient_masking_checks(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    eps: Sequence[float],
    norm: str = "linf",
    attack_name: str = "pgd",
    objective: Any = None,
    surrogate: Any = None,
    large_eps: float | None = None,
    max_large_eps_accuracy: float = 0.05,
    tolerance: float | None = None,
    seed: int = 0,
    warn: bool = True,
    strengths: dict[str, Sequence[float]] | None = None,
    **attack_kwargs: Any,
) -> dict[str, Check]:
    """Run the checks for ``attack_name`` (``attack_kwargs``: steps, step_size, restarts, ...) at each
    ``eps``.

    ``large_eps`` defaults to the whole cube (1 for L-inf, sqrt(d) for L2); ``tolerance`` (in strength
    units) defaults to one example's worth, 1/n, for classification and 1% of the largest value otherwise.
    ``strengths`` may pass already measured strengths at ``eps`` (keys ``attack`` and ``noise``).
    """
    engine = Engine(model, x, y, objective, False, "auto")
    classifies, n = engine.classifies, len(engine.x)
    eps = sorted(float(e) for e in eps)

    def strength(source: Any, e: float) -> float:
        kwargs = {} if attack_name == "noise" else {"objective": objective, **attack_kwargs}
        x_adv = attack(attack_name, source, x, y, eps=e, norm=norm, seed=seed, **kwargs)
        value = float(evaluate(model, x_adv, y, x_clean=x, objective=objective).mean())
        return 1.0 - value if classifies else value

    def noise_strength(e: float) -> float:
        value = float(evaluate(model, random_noise(x, eps=e, norm=norm, seed=seed), y, x_clean=x,
                               objective=objective).mean())
        return 1.0 - value if classifies else value

    strengths = strengths or {}
    attacked = list(strengths.get("attack") or [strength(model, e) for e in eps])
    noise = list(strengths.get("noise") or [noise_strength(e) for e in eps])
    default_tol = 1.0 / n if classifies else 0.01 * max(map(abs, attacked), default=0.0)
    tol = default_tol if tolerance is None else tolerance
    checks = [_monotone(eps, attacked, tol, classifies),
              _compare("beats_noise", "random noise", eps, attacked, noise, tol, classifies)]
    if classifies:
        big = (1.0 if norm == "linf" else math.sqrt(engine.x[0].numel())) if large_eps is None else large_eps
        acc = 1 - strength(model, big)
        checks.append(Check("large_eps", acc <= max_large_eps_accuracy,
                            f"accuracy {acc:.3f} at eps={big:.4g} (must be <= {max_large_eps_accuracy})",
                            {"eps": big, "accuracy": acc}))
    if surrogate is not None:
        transfer = [strength(surrogate, e) for e in eps]
        checks.append(_compare("beats_transfer", "a transfer attack from the surrogate", eps, attacked, transfer, tol,
                               classifies))
    for check in checks:
        if warn and not check.passed:
            warnings.warn(f"possible gradient masking ({check.name}): {check.message}", GradientMaskingWarning,
                          stacklevel=2)
    return {c.name: c for c in checks}


def _as_reported(values: Sequence[float], classifies: bool) -> list[float]:
    """Error rates are reported as accuracies."""
    return [1 - v for v in values] if classifies else list(values)


def _monotone(eps: list[float], strength: list[float], tol: float, classifies: bool) -> Check:
    drops = [i for i in range(1, len(eps)) if strength[i] < strength[i - 1] - tol]
    what = "accuracy" if classifies else "objective"
    message = "attack strength grows with epsilon" if not drops else \
        f"{what} goes the wrong way between eps={eps[drops[0] - 1]:.4g} and eps={eps[drops[0]]:.4g}"
    return Check("monotone", not drops, message, {"eps": eps, what: _as_reported(strength, classifies)})


def _compare(name: str, baseline: str, eps: list[float], attacked: list[float], other: list[float], tol: float,
             classifies: bool) -> Check:
    weaker = [e for e, a, o in zip(eps, attacked, other, strict=True) if a < o - tol]
    what = "accuracy" if classifies else "objective"
    message = f"the attack is at least as strong as {baseline}" if not weaker else \
        f"the attack is weaker than {baseline} at eps={', '.join(f'{e:.4g}' for e in weaker)}"
    return Check(name, not weaker, message,
                 {"eps": eps, f"attack_{what}": _as_reported(attacked, classifies),
                  f"{name.removeprefix('beats_')}_{what}": _as_reported(other, classifies), "weaker_at": weaker,
                  "max_gap": float(np.max(np.subtract(other, attacked)))})
