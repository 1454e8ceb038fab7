"""The objective zoo: the zoo's small CNN trained on natural image patches under named objectives.

Every network is a :func:`~neurosafe.subjects.zoo.conv_net` (``cnn_small``'s 16-32-64 channels by default)
on grey ``image_size`` px patches (:func:`~neurosafe.data.stimuli.natural_patches`; 16 px by default,
cheap on two CPU cores); its ``fc`` layer is the embedding (or, supervised, the logits). Objectives:

- ``supervised``: digit classification (:func:`~neurosafe.data.tasks.digits_dataset`), the one classifier
  loop :func:`~neurosafe.subjects.training.train_classifier` (task-driven modelling, Yamins et al. 2014).
- ``autoencoding``: reconstruct the patch from the embedding through a transposed-conv decoder (MSE;
  Hinton & Salakhutdinov 2006).
- ``sparse``: sparse coding as a sparse autoencoder: reconstruction from a rectified code plus an L1
  penalty on the code and on the last conv layer (Olshausen & Field 1996). Simplification: amortised
  (encoder) inference instead of per-image code optimisation.
- ``contrastive``: SimCLR (Chen et al. 2020): NT-Xent (temperature 0.2) between two augmented views
  (:func:`~neurosafe.objectives.augment.augment`) through an MLP projection head.
- ``predictive``: slowness / predictive learning on translated-patch sequences (Wiskott & Sejnowski 2002;
  CPC, van den Oord et al. 2018): InfoNCE between a linear prediction of frame t+1's embedding from frame t's
  and the true one, the other sequences of the batch as negatives. Simplification: one step ahead, no
  autoregressive context network.
- ``random``: the untrained network (the control).

The self-supervised objectives share one loop (Adam, :class:`~neurosafe.subjects.training.TrainConfig`),
which checkpoints after every epoch with :mod:`neurosafe.core.checkpoint` and resumes only the same run.
Heads (decoder, projector, predictor) are not part of the stored network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import nn

from neurosafe.core.checkpoint import fingerprint as run_fingerprint
from neurosafe.core.checkpoint import load_checkpoint, save_checkpoint
from neurosafe.core.errors import NeurosafeError
from neurosafe.core.executor import get_executor
from neurosafe.core.hashing import data_hash, state_hash
from neurosafe.core.progress import stage, switched
from neurosafe.core.seeds import child_seed, torch_generator
from neurosafe.data.stimuli import natural_patches
from neurosafe.data.tasks import digits_dataset
from neurosafe.objectives.augment import augment, translated_pairs
from neurosafe.subjects import store, zoo
from neurosafe.subjects.training import TrainConfig, train_classifier

__all__ = ["DEFAULT_WIDTHS", "OBJECTIVES", "ObjectiveConfig", "ObjectiveError", "TrainedObjective", "build_network",
           "model_name", "train_objective", "train_zoo"]

OBJECTIVES = ("supervised", "autoencoding", "sparse", "contrastive", "predictive", "random")
DEFAULT_WIDTHS = (16, 32, 64)
_MAX_SHIFT = 4


class ObjectiveError(NeurosafeError):
    """Bad objective-zoo settings: an unknown objective, widths or sizes out of range."""


class ObjectiveConfig(BaseModel):
    """What a zoo network is trained on and how: ``widths`` (conv channels), ``image_size`` (px, a multiple
    of 8), ``n_images`` natural patches (from ``data_seed``), ``embed_dim`` (the ``fc`` output of
    self-supervised networks), ``epochs`` (``supervised_epochs`` for the small digits set), ``batch_size``,
    ``lr``, ``temperature`` (InfoNCE), ``sparsity`` (L1 weight), ``device``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    widths: tuple[int, ...] = DEFAULT_WIDTHS
    image_size: int = Field(16, ge=16, le=64)
    n_images: int = Field(2000, ge=16)
    data_seed: int = Field(0, ge=0)
    embed_dim: int = Field(64, ge=2)
    epochs: int = Field(3, ge=1)
    supervised_epochs: int = Field(10, ge=1)
    batch_size: int = Field(128, ge=4)
    lr: float = Field(2e-3, gt=0)
    temperature: float = Field(0.2, gt=0)
    sparsity: float = Field(0.05, ge=0)
    device: str = "cpu"

    def __init__(self, **values) -> None:
        from pydantic import ValidationError

        try:
            super().__init__(**values)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: "
                                 f"{'unknown option' if e['type'] == 'extra_forbidden' else e['msg']}"
                                 for e in err.errors())
            raise ObjectiveError(f"invalid ObjectiveConfig: {problems}") from None

    @field_validator("widths")
    @classmethod
    def _widths(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if len(v) != 3 or min(v) < 1:
            raise ValueError(f"widths must be three positive channel counts; got {v}")
        return tuple(int(w) for w in v)

    @field_validator("image_size")
    @classmethod
    def _size(cls, v: int) -> int:
        if v % 8:
            raise ValueError(f"image_size must be a multiple of 8; got {v}")
        return v

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, device=self.device,
                           progress=False)


@dataclass
class TrainedObjective:
    name: str
    objective: str
    seed: int
    model: nn.Module
    history: list[dict] = field(default_factory=list)


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ObjectiveError(f"unknown objective {objective!r}; choose from {OBJECTIVES}")


def n_outputs(objective: str, config: ObjectiveConfig) -> int:
    return 10 if objective == "supervised" else config.embed_dim


def build_network(objective: str, config: ObjectiveConfig, seed: int) -> nn.Sequential:
    """The untrained network of ``objective`` (seeded initial weights; grey input)."""
    _check_objective(objective)
    return zoo.seeded_call(zoo.conv_net, child_seed(seed, "objective", objective),
                           {"widths": config.widths, "in_channels": 1, "n_classes": n_outputs(objective, config)})


def model_name(objective: str, seed: int, widths: tuple[int, ...] = DEFAULT_WIDTHS) -> str:
    """Store name: ``objective:NAME:seedK``, with ``:wW`` (first width) for non-default widths."""
    _check_objective(objective)
    w = "" if tuple(widths) == DEFAULT_WIDTHS else f":w{widths[0]}"
    return f"objective:{objective}{w}:seed{seed}"


class _Decoder(nn.Module):
    """Embedding -> (1, size, size) image through three stride-2 transposed convolutions."""

    def __init__(self, embed_dim: int, size: int):
        super().__init__()
        self.start = size // 8
        self.fc = nn.Linear(embed_dim, 32 * self.start * self.start)
        self.up = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(),
                                nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(8, 1, 4, 2, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.up(self.fc(z).view(len(z), 32, self.start, self.start)))


def _heads(objective: str, config: ObjectiveConfig) -> nn.Module:
    d = config.embed_dim
    if objective in ("autoencoding", "sparse"):
        return _Decoder(d, config.image_size)
    if objective == "contrastive":
        return nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 32))
    return nn.Linear(d, d, bias=False)  # predictive: z_t -> z_{t+1}


def info_nce(queries: torch.Tensor, keys: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE: cross-entropy of each query picking its own key among all keys (cosine similarity)."""
    q, k = F.normalize(queries, dim=1), F.normalize(keys, dim=1)
    return F.cross_entropy(q @ k.T / temperature, torch.arange(len(q), device=q.device))


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent over 2B views: each view's positive is its pair, the other 2B-2 views are negatives."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    n = len(a)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target)


def _loss(objective: str, model: nn.Sequential, heads: nn.Module, batch: torch.Tensor, config: ObjectiveConfig,
          gen: torch.Generator) -> torch.Tensor:
    if objective in ("autoencoding", "sparse"):
        if objective == "autoencoding":
            return F.mse_loss(heads(model(batch)), batch)
        features = model[:8](batch)  # up to relu3 (conv, relu, pool per block)
        code = torch.relu(model[8:](features))
        return F.mse_loss(heads(code), batch) + config.sparsity * (code.abs().mean() + features.abs().mean())
    if objective == "contrastive":
        return nt_xent(heads(model(augment(batch, gen))), heads(model(augment(batch, gen))), config.temperature)
    first, second = translated_pairs(batch, config.image_size, gen, _MAX_SHIFT)
    return info_nce(heads(model(first)), model(second), config.temperature)


def _patches(objective: str, config: ObjectiveConfig) -> torch.Tensor:
    size = config.image_size + (2 * _MAX_SHIFT if objective == "predictive" else 0)
    return torch.from_numpy(natural_patches(config.n_images, size, seed=config.data_seed).images)


def _train_self_supervised(objective: str, model: nn.Sequential, config: ObjectiveConfig, seed: int,
                           checkpoint: Path | None, resume: bool, progress: bool | None) -> list[dict]:
    x = _patches(objective, config)
    heads = zoo.seeded_call(_heads, child_seed(seed, "heads", objective), {"objective": objective, "config": config})
    opt = torch.optim.Adam([*model.parameters(), *heads.parameters()], lr=config.lr)
    batches, views = torch_generator(seed, "batches"), torch_generator(seed, "views")
    history: list[dict] = []
    start = 0
    run_id = run_fingerprint("objective", objective, config.model_dump(exclude={"epochs", "device"}), seed,
                             state_hash(model.state_dict())) if checkpoint else ""
    state = load_checkpoint(checkpoint, run_id) if checkpoint is not None and resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        heads.load_state_dict(state["heads"])
        opt.load_state_dict(state["optimizer"])
        batches.set_state(state["batches"])
        views.set_state(state["views"])
        history = [{"epoch": float(e), "loss": float(v)} for e, v in state["history"].tolist()]
        start = int(state["epoch"])
    with switched(progress), stage(f"training {objective} (seed {seed})", total=config.epochs - start) as bar:
        for epoch in range(start, config.epochs):
            model.train()
            heads.train()
            perm = torch.randperm(len(x), generator=batches)
            total, n = 0.0, 0
            for i in range(0, len(x) - config.batch_size // 2 + 1, config.batch_size):
                loss = _loss(objective, model, heads, x[perm[i:i + config.batch_size]], config, views)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, n = total + loss.item(), n + 1
            history.append({"epoch": float(epoch + 1), "loss": total / max(n, 1)})
            bar.advance()
            if checkpoint is not None:
                save_checkpoint(checkpoint, {
                    "model": model.state_dict(), "heads": heads.state_dict(), "optimizer": opt.state_dict(),
                    "batches": batches.get_state(), "views": views.get_state(), "epoch": epoch + 1,
                    "history": torch.tensor([[h["epoch"], h["loss"]] for h in history], dtype=torch.float64)},
                    run_id)
    model.eval()
    return history


def train_objective(objective: str, seed: int = 0, config: ObjectiveConfig | None = None,
                    checkpoint: str | Path | None = None, resume: bool = True,
                    progress: bool | None = None) -> TrainedObjective:
    """Train one zoo network under ``objective`` (see the module docstring); ``checkpoint``: resumable file."""
    config = config or ObjectiveConfig()
    _check_objective(objective)
    model = build_network(objective, config, seed)
    history: list[dict] = []
    ckpt = None if checkpoint is None else Path(checkpoint)
    if objective == "supervised":
        x, y, _, _ = digits_dataset(size=config.image_size, n_test=297, seed=config.data_seed)
        tc = config.train_config().model_copy(update={"epochs": config.supervised_epochs})
        result = train_classifier(model, x, y, config=tc, seed=seed, checkpoint=ckpt,
                                  resume=resume, fingerprint=data_hash("objective-supervised", config.model_dump()))
        history = [{"epoch": h["epoch"], "loss": h["task_loss"]} for h in result.history]
    elif objective != "random":
        history = _train_self_supervised(objective, model, config, seed, ckpt, resume, progress)
    model.eval()
    return TrainedObjective(model_name(objective, seed, config.widths), objective, seed, model.cpu(), history)


def _zoo_key(objective: str, seed: int, config: ObjectiveConfig) -> str:
    return data_hash("objective-zoo", objective, seed, config.model_dump(exclude={"device"}))


def train_zoo(objectives: tuple[str, ...] = OBJECTIVES, seeds: tuple[int, ...] = (0, 1, 2),
              config: ObjectiveConfig | None = None, directory: str | Path | None = None,
              checkpoint_dir: str | Path | None = None, backend: str = "local", workers: int | None = None,
              progress: bool | None = None) -> list[str]:
    """Train (or find already in the store) every (objective, seed) network and store it by name; returns
    the names. A stored network is reused only when its settings key matches; sweeps go through the
    executor (``backend`` "local" or "ray")."""
    config = config or ObjectiveConfig()
    for o in objectives:
        _check_objective(o)
    if not objectives or not seeds:
        raise ObjectiveError("train_zoo needs at least one objective and one seed")
    folder = store.store_dir(directory)
    cells = [(o, int(s)) for o in objectives for s in seeds]

    def cell(item: tuple[str, int]) -> str:
        objective, seed = item
        name = model_name(objective, seed, config.widths)
        key = _zoo_key(objective, seed, config)
        if name in store.list_stored(folder) and store.stored_info(name, folder)["meta"].get("key") == key:
            return name
        ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / f"{name.replace(':', '__')}.ckpt"
        trained = train_objective(objective, seed, config, checkpoint=ckpt, progress=progress)
        final = trained.history[-1]["loss"] if trained.history else None
        store.save_stored(name, trained.model, config.widths, 1, n_outputs(objective, config),
                          meta={"key": key, "objective": objective, "seed": seed, "final_loss": final,
                                "config": config.model_dump()}, directory=folder)
        return name

    with switched(progress), stage("objective zoo", total=len(cells)) as bar:

        def tracked(item: tuple[str, int]) -> str:
            name = cell(item)
            bar.advance()  # in-process cells only (Ray workers have their own copy)
            return name

        return get_executor(backend, workers).map(tracked if backend == "local" else cell, cells)


def objective_of(name: str) -> str:
    """The objective in a store name ``objective:NAME[:wW]:seedK``."""
    parts = name.split(":")
    if len(parts) < 3 or parts[0] != "objective" or parts[1] not in OBJECTIVES:
        raise ObjectiveError(f"not an objective-zoo name: {name!r}")
    return parts[1]
