"""Shared plumbing of the robustness package: one error type, input validation, and converting results
back to the caller's array type (models become ``DifferentiableSubject`` s through
``neurosafe.subjects.as_differentiable``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.data.stimuli import StimulusSet

__all__ = ["AttackError", "as_images", "restore_type"]


class AttackError(NeurosafeError):
    """A bad attack set-up: negative epsilon, unknown norm or objective, a model without gradients, ..."""


def as_images(x: Any, what: str = "inputs") -> torch.Tensor:
    """Validate images (tensor, array or StimulusSet; first axis = examples) as a float tensor in [0, 1]."""
    if isinstance(x, StimulusSet):
        x = x.images
    if isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.floating):
            raise DataValidationError(f"{what} must be floating point in [0, 1]; got dtype {x.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise DataValidationError(
            f"{what} must be a torch tensor, numpy array or StimulusSet; got {type(x).__name__}"
        )
    if not x.is_floating_point():
        raise DataValidationError(f"{what} must be floating point in [0, 1]; got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataValidationError(
            f"{what} need a leading example axis and at least one example; got shape {tuple(x.shape)}"
        )
    flat = x.detach().reshape(len(x), -1)
    bad = ~torch.isfinite(flat).all(dim=1)
    if bad.any():
        raise DataValidationError(f"{what} contain NaN or inf at examples {_first(bad)}")
    out = ((flat < 0) | (flat > 1)).any(dim=1)
    if out.any():
        raise DataValidationError(
            f"{what} must lie in [0, 1] (attacks and corruptions are defined on pixel space); got range "
            f"[{float(flat.min()):.4g}, {float(flat.max()):.4g}] at examples {_first(out)}"
        )
    return x.detach()


def _first(mask: torch.Tensor, limit: int = 5) -> str:
    idx = torch.nonzero(mask).flatten().tolist()
    more = f" (and {len(idx) - limit} more)" if len(idx) > limit else ""
    return ", ".join(str(i) for i in idx[:limit]) + more


def restore_type(result: torch.Tensor, like: Any) -> Any:
    """Return ``result`` as the caller's type: tensor on its device, numpy array or StimulusSet."""
    if isinstance(like, torch.Tensor):
        return result.to(device=like.device, dtype=like.dtype)
    array = result.detach().cpu().numpy()
    if isinstance(like, StimulusSet):
        return StimulusSet(array.astype(np.float32), like.ids, like.metadata)
    return array.astype(like.dtype, copy=False)
