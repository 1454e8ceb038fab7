"""Classifier training: the one seeded, checkpointed, resumable loop behind every task-trained network.

Adam (Kingma & Ba 2015) on cross-entropy plus, for each regularizer, its weight (following its schedule)
times its penalty on its own batch of target stimuli (neural regularizers: Li et al. 2019; Dapello et al.
2023; Safarani et al. 2021; see ``neurosafe.finetune``). The batch order (and the regularizers' batches)
come from one ``torch.Generator`` on the ``"batches"`` stream of the seed. With a checkpoint, the state
(model, optimizer, regularizer heads, generator, history) is saved atomically after every epoch, so an
interrupted run resumed from it ends with exactly the weights of an uninterrupted run with the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from neurosafe.core import progress as display
from neurosafe.core.checkpoint import fingerprint as run_fingerprint
from neurosafe.core.checkpoint import load_checkpoint, save_checkpoint
from neurosafe.core.devices import resolve_device
from neurosafe.core.errors import DataValidationError
from neurosafe.core.hashing import state_hash
from neurosafe.core.seeds import torch_generator
from neurosafe.subjects.config import TrainConfig

__all__ = ["Regularizer", "TrainConfig", "TrainResult", "evaluate_accuracy", "train_classifier"]


class Regularizer(Protocol):
    """A neural regularizer: a weighted, scheduled penalty computed on its own batch of target stimuli."""

    name: str

    def weight_at(self, epoch: int) -> float: ...

    def penalty(self, model: nn.Module, generator: torch.Generator) -> torch.Tensor: ...

    def extra_modules(self) -> nn.ModuleDict: ...


@dataclass
class TrainResult:
    model: nn.Module
    history: list[dict] = field(default_factory=list)


def _check_task(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y):
        raise DataValidationError("task data need x (n, C, H, W) and labels (n,); "
                                  f"got {tuple(x.shape)}, {tuple(y.shape)}")
    if len(x) == 0:
        raise DataValidationError("task data are empty")
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise DataValidationError("task images must be finite and lie in [0, 1]")


def train_classifier(model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
                     regularizers: list[Regularizer] | tuple = (), config: TrainConfig | None = None, seed: int = 0,
                     checkpoint: str | Path | None = None, resume: bool = True, fingerprint: str = "") -> TrainResult:
    """Train ``model`` (in place, on ``config.device``) on images ``x`` in [0, 1] and labels ``y``.

    With ``checkpoint``, state is saved after every epoch and, when ``resume`` and the file exists, training
    continues from it when it belongs to this run: same initial weights, data, settings (``epochs`` may grow),
    seed, regularizer names and ``fingerprint`` (the caller's hash of what this function cannot see, e.g. the
    regularizer targets); any other checkpoint is ignored with a one-line warning. The model's initial
    weights are the caller's (seed them when building the model). Returns the model (in eval mode) and the
    per-epoch mean task loss and penalties.
    """
    config = config or TrainConfig()
    regularizers = list(regularizers)
    device = resolve_device(config.device)
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    _check_task(x, y)
    x, y = x.to(device), y.to(device)
    heads = nn.ModuleDict({r.name: r.extra_modules() for r in regularizers}).to(device)
    model.to(device)
    opt = torch.optim.Adam([*model.parameters(), *heads.parameters()], lr=config.lr, weight_decay=config.weight_decay)
    gen = torch_generator(seed, "batches")
    history: list[dict] = []
    start = 0
    ckpt = Path(checkpoint) if checkpoint else None
    run_id = run_fingerprint(fingerprint, state_hash(model.state_dict()), x, y, seed,
                             config.model_dump(exclude={"epochs", "progress"}), [r.name for r in regularizers]
                             ) if ckpt is not None else ""
    state = load_checkpoint(ckpt, run_id) if ckpt is not None and resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        heads.load_state_dict(state["heads"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        history = [dict(zip(state["history_keys"], row, strict=True)) for row in state["history"].tolist()]
        start = int(state["epoch"])
    loss_fn = nn.CrossEntropyLoss()
    with display.stage("training", total=config.epochs, initial=start, unit="epoch", show=config.progress) as bar:
        for epoch in range(start, config.epochs):
            model.train()
            perm = torch.randperm(len(x), generator=gen)
            totals = {"task_loss": 0.0, **{f"{r.name}_penalty": 0.0 for r in regularizers}}
            n_batches = 0
            for i in range(0, len(x), config.batch_size):
                idx = perm[i:i + config.batch_size].to(device)
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
            if ckpt is not None:
                keys = list(history[0])
                save_checkpoint(ckpt, {"model": model.state_dict(), "heads": heads.state_dict(),
                                       "optimizer": opt.state_dict(), "generator": gen.get_state(), "epoch": epoch + 1,
                                       "history_keys": keys, "history": torch.tensor(
                                           [[h[k] for k in keys] for h in history], dtype=torch.float64)}, run_id)
            bar.advance(info=f"loss {row['task_loss']:.3f}")
    model.eval()
    return TrainResult(model, history)


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
                      batch_size: int = 512) -> float:
    """Top-1 accuracy of ``model`` on (x, y), computed on the model's device."""
    device = next(model.parameters()).device
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    model.eval()
    correct = sum(int((model(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / len(x)
