"""Attack objectives: what an attack maximises, one value per example.

An objective is any callable ``objective(outputs, target) -> (B,)`` tensor to *maximise*. Classification
objectives take integer labels as ``target`` (the true class, or the target class when ``targeted``) and
also say which examples the attack has already fooled (``success``), which drives early stopping and
restarts. Regression objectives take the clean outputs as ``target``: attacks on digital twins (change of
the predicted responses) and on representations (change of a layer's activations, see ``Representation``).

- cross-entropy: Madry et al. 2018 (PGD), Goodfellow et al. 2015 (FGSM);
- margin: Carlini & Wagner 2017, the logit margin max_{i != y} z_i - z_y;
- DLR: Croce & Hein 2020, difference of logits ratio, invariant to shifting and rescaling the logits.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from neurosafe.core.errors import DataValidationError
from neurosafe.robust._inputs import AttackError
from neurosafe.subjects import as_differentiable, network

__all__ = [
    "CrossEntropy",
    "DifferenceOfLogitsRatio",
    "Margin",
    "Objective",
    "OutputChange",
    "Representation",
    "resolve_objective",
]

Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _Classification:
    """Shared checks and the success test of the classification objectives."""

    needs_labels = True
    min_classes = 2

    def __init__(self, targeted: bool = False) -> None:
        self.targeted = targeted

    def check(self, outputs: torch.Tensor, labels: torch.Tensor) -> None:
        if outputs.ndim != 2:
            raise AttackError(f"{type(self).__name__} needs logits of shape (batch, classes); the model returned "
                              f"shape {tuple(outputs.shape)}")
        k = outputs.shape[1]
        if k < self.min_classes:
            raise AttackError(f"{type(self).__name__} needs at least {self.min_classes} classes; got {k}")
        bad = (labels < 0) | (labels >= k)
        if bad.any():
            raise DataValidationError(f"labels must lie in [0, {k - 1}] for a model with {k} outputs; got "
                                      f"{labels[bad][:5].tolist()} at examples "
                                      f"{torch.nonzero(bad).flatten()[:5].tolist()}")

    def success(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        pred = outputs.argmax(dim=1)
        return pred == labels if self.targeted else pred != labels

    def __repr__(self) -> str:
        return f"{type(self).__name__}(targeted={self.targeted})"


class CrossEntropy(_Classification):
    """Cross-entropy of the true class (untargeted) or minus that of the target class (targeted)."""

    def __call__(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(outputs, labels, reduction="none")
        return -ce if self.targeted else ce


class Margin(_Classification):
    """Logit margin (Carlini & Wagner 2017): max_{i != y} z_i - z_y; targeted: z_t - max_{i != t} z_i."""

    def __call__(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        true = outputs.gather(1, labels[:, None])[:, 0]
        other = outputs.masked_fill(F.one_hot(labels, outputs.shape[1]).bool(), float("-inf")).amax(dim=1)
        return true - other if self.targeted else other - true


class DifferenceOfLogitsRatio(_Classification):
    """Untargeted DLR loss (Croce & Hein 2020, eq. 6): ``-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)``
    with the logits sorted decreasingly (pi). The targeted variant (which also needs the true labels) is not
    provided."""

    min_classes = 3

    def __init__(self, targeted: bool = False) -> None:
        if targeted:
            raise AttackError("only the untargeted DLR loss is provided; use 'ce' or 'margin' for targeted attacks")
        super().__init__(False)

    def __call__(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        z = outputs.sort(dim=1, descending=True).values
        true = outputs.gather(1, labels[:, None])[:, 0]
        other = outputs.masked_fill(F.one_hot(labels, outputs.shape[1]).bool(), float("-inf")).amax(dim=1)
        return -(true - other) / (z[:, 0] - z[:, 2] + 1e-12)


class OutputChange:
    """Regression objective: squared L2 distance between the outputs and the clean outputs (``target``).

    Attacks a digital twin's predicted responses or, wrapped in ``Representation``, a layer's activations.
    Its gradient vanishes at the clean input, so attacks using it need a random start.
    """

    needs_labels = False
    needs_random_start = True

    def check(self, outputs: torch.Tensor, target: torch.Tensor) -> None:
        if outputs.shape != target.shape:
            raise AttackError(f"OutputChange compares outputs with the clean outputs; shapes differ: "
                              f"{tuple(outputs.shape)} vs {tuple(target.shape)}")

    def __call__(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (outputs - target).flatten(1).pow(2).sum(dim=1)

    def __repr__(self) -> str:
        return "OutputChange()"


class Representation(nn.Module):
    """The activations of one site of ``model`` (a module or a DifferentiableSubject), as a model.

    ``pgd(Representation(net, "features.3"), x, None, eps=2/255)`` attacks that layer's representation.
    """

    def __init__(self, model, layer: str) -> None:
        super().__init__()
        self.subject = as_differentiable(model)
        if layer not in self.subject.sites:
            raise AttackError(f"unknown layer {layer!r}; this model has layers {list(self.subject.sites)}")
        self.model, self.layer = network(self.subject), layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.subject.activations(x, [self.layer])[self.layer]


_BY_NAME = {"ce": CrossEntropy, "margin": Margin, "dlr": DifferenceOfLogitsRatio}


def resolve_objective(objective: str | Objective | None, labels_given: bool, targeted: bool = False) -> Objective:
    """An objective from a name (``ce``, ``margin``, ``dlr``, ``output_change``), a callable, or None
    (cross-entropy when labels are given, else output change)."""
    if objective is None:
        objective = "ce" if labels_given else "output_change"
    if isinstance(objective, str):
        if objective == "output_change":
            if targeted:
                raise AttackError("a targeted attack needs a classification objective ('ce' or 'margin')")
            return OutputChange()
        if objective not in _BY_NAME:
            raise AttackError(f"unknown objective {objective!r}; choose ce, margin, dlr, output_change or pass a "
                              "callable (outputs, target) -> per-example values to maximise")
        return _BY_NAME[objective](targeted=targeted)
    if not callable(objective):
        raise AttackError(f"objective must be a name or a callable; got {type(objective).__name__}")
    return objective
