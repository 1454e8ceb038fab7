"""Task training with optional neural regularizers: seeded, checkpointed every epoch, resumable.

The loss at each step is cross-entropy on a task batch plus, for each regularizer, its weight (following
its schedule) times its penalty on a batch of target stimuli (Li et al. 2019; Dapello et al. 2023;
Safarani et al. 2021). An interrupted run resumed from its checkpoint ends with exactly the weights of an
uninterrupted run with the same seed (model, optimizer, regularizer heads and the batch-order RNG are saved).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neurosafe.core.checkpoint import fingerprint as run_fingerprint
from neurosafe.core.checkpoint import load_checkpoint, save_checkpoint
from neurosafe.core.errors import DataValidationError
from neurosafe.core.hashing import state_hash

__all__ = ["Regularizer", "TrainConfig", "TrainResult", "evaluate_accuracy", "train_classifier"]


class Regularizer(Protocol):
    """A neural regularizer: a weighted, scheduled penalty computed on its own batch of target stimuli."""

    name: str

    def weight_at(self, epoch: int) -> float: ...

    def penalty(self, model: nn.Module, generator: torch.Generator) -> torch.Tensor: ...

    def extra_modules(self) -> nn.ModuleDict: ...


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (Adam)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise DataValidationError(f"epochs and batch_size must be >= 1 and lr > 0; got {self}")


@dataclass
class TrainResult:
    model: nn.Module
    history: list[dict] = field(default_factory=list)


def _check_task(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y):
        raise DataValidationError(
            f"task data need x (n, C, H, W) and labels (n,); got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    if len(x) == 0:
        raise DataValidationError("task data are empty")
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise DataValidationError("task images must be finite and lie in [0, 1]")


def train_classifier(
    model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
    regularizers: list[Regularizer] | None = None, config: TrainConfig | None = None, seed: int = 0,
    checkpoint: str | Path | None = None, resume: bool = True, progress: bool | None = None,
    fingerprint: str = "",
) -> TrainResult:
    """Train ``model`` (in place) on (x, y) with cross-entropy plus neural penalties; CPU, deterministic.

    With ``checkpoint``, state is saved after every epoch and, when ``resume`` and the file exists, training
    continues from it when it belongs to this run: same initial weights, data, settings (``epochs`` may grow),
    seed, regularizer names and ``fingerprint`` (the caller's hash of what this function cannot see, e.g. the
    regularizer targets). The model's initial weights are the caller's (seed them when building the model).
    """
    config = config or TrainConfig()
    regularizers = list(regularizers or [])
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    _check_task(x, y)
    heads = nn.ModuleDict({r.name: r.extra_modules() for r in regularizers})
    params = list(model.parameters()) + list(heads.parameters())
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    history: list[dict] = []
    start = 0
    ckpt = Path(checkpoint) if checkpoint else None
    run_id = run_fingerprint(fingerprint, state_hash(model.state_dict()), x, y, seed, {**vars(config), "epochs": 0},
                             [r.name for r in regularizers]) if ckpt is not None else ""
    state = load_checkpoint(ckpt, run_id) if ckpt is not None and resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        heads.load_state_dict(state["heads"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        history = [dict(zip(state["history_keys"], row, strict=True)) for row in state["history"].tolist()]
        start = int(state["epoch"])
    loss_fn = nn.CrossEntropyLoss()
    bar = tqdm(range(start, config.epochs), desc="training", disable=progress is False, leave=False,
               initial=start, total=config.epochs)
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        totals = {"task_loss": 0.0, **{f"{r.name}_penalty": 0.0 for r in regularizers}}
        n_batches = 0
        for i in range(0, len(x), config.batch_size):
            idx = perm[i:i + config.batch_size]
            loss = loss_fn(model(x[idx]), y[idx])
            totals["task_loss"] += loss.item()
            for r in regularizers:
                pen = r.penalty(model, gen)
                totals[f"{r.name}_penalty"] += pen.item()
                loss = loss + r.weight_at(epoch) * pen
            opt.zero_grad()
            loss.backward()
            opt.step()
            n_batches += 1
        row = {"epoch": float(epoch + 1), **{k: v / n_batches for k, v in totals.items()}}
        history.append(row)
        bar.set_postfix(loss=f"{row['task_loss']:.3f}")
        if ckpt is not None:
            keys = list(history[0])
            save_checkpoint(ckpt, {"model": model.state_dict(), "heads": heads.state_dict(),
                                   "optimizer": opt.state_dict(), "generator": gen.get_state(), "epoch": epoch + 1,
                                   "history_keys": keys, "history": torch.tensor(
                                       [[h[k] for k in keys] for h in history], dtype=torch.float64)}, run_id)
    model.eval()
    return TrainResult(model, history)


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
                      batch_size: int = 512) -> float:
    """Top-1 accuracy of ``model`` on (x, y)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    model.eval()
    correct = sum(int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / len(x)
