"""Training the free parameters of a connectome-constrained rate model on an input-output task.

Only the model's free parameters move (per-type time constants and biases, per-type-pair synaptic strengths,
the gap-junction conductance); which synapses exist, their counts and their signs stay those of the
connectome, as in Lappalainen et al. 2024 (Nature 634:1132-1140), who trained the optic-lobe model's
free parameters on optic flow. The task here is classification: the readout of class ``k`` is the mean rate of
output group ``k`` over the last ``readout_fraction`` of the simulation, divided by ``temperature``, and the
loss is cross-entropy (Adam, full batch or seeded mini-batches). Long runs checkpoint and resume (only a
checkpoint of the same run: initial state, task, settings, seed and code; another is ignored with a warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neurosafe.connectome.rate import RateModel
from neurosafe.core.checkpoint import fingerprint, load_checkpoint, save_checkpoint
from neurosafe.core.errors import DataValidationError
from neurosafe.core.hashing import state_hash

__all__ = ["TrainingResult", "classification_accuracy", "group_readout", "train_rate_model"]


@dataclass(frozen=True)
class TrainingResult:
    """Loss per epoch (all epochs, including resumed ones) and accuracy on the training set at the end."""

    losses: list[float]
    train_accuracy: float
    epochs: int


def group_readout(
    model: RateModel,
    currents: torch.Tensor,
    output_groups: Sequence[Sequence[str]],
    readout_fraction: float = 0.25,
) -> torch.Tensor:
    """Mean rate ``(n_samples, n_groups)`` of each group of output neurons (names or cell types) over the
    last ``readout_fraction`` of the simulation."""
    rates = model(currents)
    window = max(1, round(rates.shape[1] * readout_fraction))
    late = rates[:, -window:].mean(1)
    return torch.stack([late[:, model.connectome.indices(g)].mean(1) for g in output_groups], dim=1)


def classification_accuracy(
    model: RateModel, currents, labels, output_groups: Sequence[Sequence[str]], readout_fraction: float = 0.25
) -> float:
    """Fraction of samples whose largest group readout is the labelled group."""
    currents, labels = _check_task(model, currents, labels, output_groups)
    with torch.no_grad():
        readout = group_readout(model, currents, output_groups, readout_fraction)
    return float((readout.argmax(1) == labels).double().mean())


def _check_task(model: RateModel, currents, labels, output_groups) -> tuple[torch.Tensor, torch.Tensor]:
    ref = model.signed_count
    currents = torch.as_tensor(np.asarray(currents), dtype=ref.dtype, device=ref.device)
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64, device=ref.device)
    if currents.ndim not in (2, 3) or currents.shape[0] != labels.shape[0] or labels.ndim != 1:
        raise DataValidationError(
            "need currents (n_samples, [steps,] n_neurons) and labels (n_samples,); "
            f"got {tuple(currents.shape)} and {tuple(labels.shape)}"
        )
    if len(output_groups) < 2 or labels.min() < 0 or labels.max() >= len(output_groups):
        raise DataValidationError(
            f"labels must index the {len(output_groups)} output groups (need >= 2 groups)"
        )
    for group in output_groups:
        model.connectome.indices(group)
    return currents, labels


def train_rate_model(
    model: RateModel,
    currents,
    labels,
    output_groups: Sequence[Sequence[str]],
    epochs: int = 100,
    lr: float = 0.05,
    batch_size: int | None = None,
    temperature: float = 0.1,
    readout_fraction: float = 0.25,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 10,
) -> TrainingResult:
    """Fit the free parameters of ``model`` so that input ``currents[i]`` drives output group ``labels[i]``
    hardest (see module docstring). With ``checkpoint``, state is saved every ``checkpoint_every`` epochs
    and an existing checkpoint is resumed."""
    if epochs < 0 or lr <= 0 or temperature <= 0 or checkpoint_every < 1:
        raise DataValidationError("need epochs >= 0, lr > 0, temperature > 0 and checkpoint_every >= 1")
    currents, labels = _check_task(model, currents, labels, output_groups)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    losses: list[float] = []
    start = 0
    run_id = fingerprint(state_hash(model.state_dict()), currents, labels, [list(g) for g in output_groups], lr,
                         batch_size, temperature, readout_fraction, seed)
    state = None if checkpoint is None else load_checkpoint(checkpoint, run_id, model.signed_count.device)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        losses, start = list(state["losses"]), int(state["epoch"])
    n = len(labels)
    for epoch in range(start, epochs):
        # one seeded permutation per epoch, so a resumed run visits the same batches as an uninterrupted one
        order = (
            torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
            if batch_size
            else torch.arange(n)
        )
        total = 0.0
        for batch in order.split(batch_size or n):
            batch = batch.to(currents.device)
            readout = group_readout(model, currents[batch], output_groups, readout_fraction)
            loss = F.cross_entropy(readout / temperature, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / n)
        if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
            save_checkpoint(checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                         "epoch": epoch + 1, "losses": losses}, run_id)
    accuracy = classification_accuracy(model, currents, labels, output_groups, readout_fraction)
    return TrainingResult(losses=losses, train_accuracy=accuracy, epochs=epochs)
