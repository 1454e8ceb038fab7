"""The learning-rule simulator: many small networks trained under known rules, observables logged over training.

After Nayebi, Srivastava, Ganguli & Yamins 2020 ("Identifying learning rules from neural network observables",
NeurIPS): networks of several architectures are trained on tasks under different learning rules, and at
regular points during training three observables are recorded from a few layers, in response to a fixed
probe set: the **weights** (incoming weights of the recorded units), the **activations** and the
**layer-wise activity change** (activations minus those at the previous logging point). Each is summarised
by aggregate statistics over its entries (mean, median, mean |x|, root mean square, standard deviation,
skew, kurtosis), per logging step. The statistics are computed under several recording conditions: each
number of recorded units (a random subset of each layer's units, the same throughout training; in a conv
layer a unit is one channel at one position) without noise, and each measurement-noise level (Gaussian,
standard deviation a multiple of the observable's own spread, added independently at every logging point)
with all units, so :mod:`neurosafe.rules.identify` can ask how identification degrades with each.

Simplifications, named: networks are small (MLPs and 3x3 CNNs on 8x8 inputs, hundreds of steps rather than
full training); the layers recorded are the first, the last hidden and the readout (so architectures of any
depth share one feature space); the tasks are the package's digits (cross-entropy) and a teacher-student
regression (mean squared error). The paper's "information alignment" rule is replaced by a Hebbian (Oja)
rule, as the issue asks.

A sweep is a list of groups (rule x architecture x task x replicate), each group ``networks_per_group``
networks trained at once (:class:`~neurosafe.rules.networks.BatchedNet`); every group is written to its own
file atomically and skipped on resume.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, field_validator

from neurosafe.core import progress as display
from neurosafe.core.checkpoint import fingerprint
from neurosafe.core.errors import NeurosafeError
from neurosafe.core.executor import get_executor
from neurosafe.core.io import atomic_path, load_json, save_json
from neurosafe.core.seeds import make_rng, spawn_seeds, torch_generator
from neurosafe.data.tasks import digits_dataset
from neurosafe.rules.networks import RULES, Architecture, BatchedNet

__all__ = [
    "LAYERS", "OBSERVABLES", "STATISTICS", "TASKS", "RuleSimulationError", "SimulationConfig", "aggregate_statistics",
    "load_observables", "make_config", "parse_architecture", "simulate_group", "simulate_rules",
]

OBSERVABLES = ("weights", "activations", "activity_change")
LAYERS = ("first", "last_hidden", "readout")
STATISTICS = ("mean", "median", "mean_abs", "rms", "std", "skew", "kurtosis")
TASKS = ("digits", "regression")
SIDE = 8
N_OUT = 10
# Base learning rates (each network draws its own from a log-uniform factor around them).
BASE_LR = {"sgd": 0.05, "momentum": 0.005, "adam": 0.001, "fa": 0.05, "hebbian": 0.005}


class RuleSimulationError(NeurosafeError):
    """An invalid simulation configuration or an unreadable results folder."""


class ArchitectureSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    depth: int = Field(ge=1, le=6)
    width: int = Field(ge=2, le=1024)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in ("mlp", "cnn"):
            raise ValueError(f"architecture kind must be 'mlp' or 'cnn'; got {v!r}")
        return v

    def to_arch(self) -> Architecture:
        return Architecture(self.kind, self.depth, self.width)


def _archs(*specs: tuple[str, int, int]) -> list[ArchitectureSpec]:
    return [ArchitectureSpec(kind=k, depth=d, width=w) for k, d, w in specs]


class SimulationConfig(BaseModel):
    """What to simulate. The default is the small run (minutes on 2 cores); ``full()`` is the >= 1,000-network
    sweep. ``units``: numbers of recorded units per layer (0 = all); ``noise``: measurement-noise levels
    (standard deviation relative to the observable's spread)."""

    model_config = ConfigDict(extra="forbid")
    rules: list[str] = Field(default_factory=lambda: list(RULES))
    tasks: list[str] = Field(default_factory=lambda: list(TASKS))
    architectures: list[ArchitectureSpec] = Field(default_factory=lambda: _archs(
        ("mlp", 1, 32), ("cnn", 1, 8), ("mlp", 2, 48), ("cnn", 2, 12), ("mlp", 2, 64), ("cnn", 2, 16),
        ("mlp", 3, 32)))
    networks_per_group: int = Field(8, ge=1, le=4096)
    groups_per_cell: int = Field(1, ge=1)
    steps: int = Field(200, ge=2)
    n_logs: int = Field(10, ge=1)
    batch_sizes: list[int] = Field(default_factory=lambda: [16, 32, 64])
    lr_spread: float = Field(3.0, ge=1.0, description="each network's learning rate: base x U(1/s, s) log-uniform")
    units: list[int] = Field(default_factory=lambda: [10, 30, 100, 0])
    noise: list[float] = Field(default_factory=lambda: [0.3, 1.0])
    n_probe: int = Field(32, ge=4)
    seed: int = Field(0, ge=0)

    @field_validator("rules")
    @classmethod
    def _rules(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - set(RULES))
        if bad or not v:
            raise ValueError(f"unknown learning rule(s) {bad}; choose from {RULES}")
        return v

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - set(TASKS))
        if bad or not v:
            raise ValueError(f"unknown task(s) {bad}; choose from {TASKS}")
        return v

    @field_validator("units")
    @classmethod
    def _units(cls, v: list[int]) -> list[int]:
        if not v or any(u < 0 for u in v) or len(set(v)) != len(v):
            raise ValueError(f"units must be distinct non-negative counts (0 = all); got {v}")
        return v

    @field_validator("noise")
    @classmethod
    def _noise(cls, v: list[float]) -> list[float]:
        if any(n < 0 for n in v):
            raise ValueError(f"noise levels must be non-negative; got {v}")
        return v

    @field_validator("batch_sizes")
    @classmethod
    def _batch(cls, v: list[int]) -> list[int]:
        if not v or any(b < 1 for b in v):
            raise ValueError(f"batch sizes must be positive; got {v}")
        return v

    @classmethod
    def full(cls, **kw) -> SimulationConfig:
        """The full sweep: 5 rules x 2 tasks x 12 architectures x 2 groups of 10 = 2,400 networks, 300 steps
        (``groups_per_cell=1``: 1,200)."""
        archs = _archs(("mlp", 1, 32), ("cnn", 1, 8), ("mlp", 2, 48), ("cnn", 2, 12), ("mlp", 2, 128),
                       ("cnn", 1, 16), ("mlp", 3, 96), ("cnn", 2, 16), ("mlp", 1, 128), ("cnn", 3, 8),
                       ("mlp", 2, 64), ("mlp", 3, 32))
        defaults = {"architectures": archs, "networks_per_group": 10, "groups_per_cell": 2, "steps": 300,
                    "n_logs": 10}
        return cls(**{**defaults, **kw})

    @property
    def conditions(self) -> list[tuple[int, float]]:
        """(units, noise) of every recording condition: the unit counts without noise, then the noise levels
        with all units."""
        return [(u, 0.0) for u in self.units] + [(0, float(v)) for v in self.noise if v > 0]

    @property
    def n_networks(self) -> int:
        return (len(self.rules) * len(self.tasks) * len(self.architectures) * self.groups_per_cell
                * self.networks_per_group)


def make_config(full: bool = False, **fields) -> SimulationConfig:
    """A :class:`SimulationConfig` (the full sweep's defaults when ``full``) with ``fields`` overridden; invalid
    values raise a one-line :class:`RuleSimulationError`."""
    from pydantic import ValidationError

    try:
        return SimulationConfig.full(**fields) if full else SimulationConfig(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleSimulationError(f"invalid simulation setting {where}: {first['msg']}") from None


def parse_architecture(text: str) -> ArchitectureSpec:
    """``"mlp-d2-w64"`` (or ``"mlp-2-64"``) -> an architecture spec."""
    parts = text.strip().split("-")
    try:
        kind, depth, width = parts[0], int(parts[1].lstrip("d")), int(parts[2].lstrip("w"))
        return ArchitectureSpec(kind=kind, depth=depth, width=width)
    except (IndexError, ValueError) as err:
        raise RuleSimulationError(f"architecture {text!r}: expected KIND-dDEPTH-wWIDTH such as mlp-d2-w64 or "
                                  "cnn-d1-w8 (kind mlp or cnn)") from err


# ----------------------------------------------------------------------------------------------- tasks
def _task_data(task: str, seed: int, n_probe: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train (n, 1, 8, 8), y_train, x_probe): digits (labels) or a teacher-student regression (targets)."""
    if task == "digits":
        x_tr, y_tr, x_te, _ = digits_dataset(size=SIDE, n_test=max(n_probe, 10), seed=seed)
        return torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(x_te[:n_probe])
    g = torch_generator(seed, "rules", "regression-teacher")
    x = 0.3 * torch.randn(2000 + n_probe, 1, SIDE, SIDE, generator=g)  # the digits' scale
    w1 = torch.randn(SIDE * SIDE, 32, generator=g) / (0.3 * SIDE)
    w2 = torch.randn(32, N_OUT, generator=g) / 32 ** 0.5
    y = torch.tanh(x.reshape(len(x), -1) @ w1) @ w2
    y = (y - y.mean(0)) / y.std(0)
    return x[:2000], y[:2000], x[2000:]


# ------------------------------------------------------------------------------------------ statistics
def aggregate_statistics(x: torch.Tensor) -> torch.Tensor:
    """The :data:`STATISTICS` of each row of ``x`` (G, M) over its entries: (G, 7)."""
    mean = x.mean(1)
    c = x - mean[:, None]
    c2 = c * c
    var = c2.mean(1)
    sd = var.sqrt()
    ok = sd > 1e-12
    safe = torch.where(ok, sd, torch.ones_like(sd))
    skew = torch.where(ok, (c2 * c).mean(1) / safe ** 3, torch.zeros_like(sd))
    kurt = torch.where(ok, (c2 * c2).mean(1) / safe ** 4 - 3.0, torch.zeros_like(sd))
    return torch.stack([mean, x.median(1).values, x.abs().mean(1), (x * x).mean(1).sqrt(), sd, skew, kurt], 1)


def _by_unit(t: torch.Tensor) -> torch.Tensor:
    """Activations (G, P, C[, H, W]) -> (G, C*H*W, P): a unit is a channel at one position (one neuron)."""
    g, p = t.shape[:2]
    return t.reshape(g, p, -1).transpose(1, 2)


def _pick(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows ``idx`` (G, k) of every network's (G, U, M) -> (G, k*M)."""
    return torch.gather(t, 1, idx[:, :, None].expand(-1, -1, t.shape[2])).reshape(len(t), -1)


def _noisy(x: torch.Tensor, level: float, g: torch.Generator) -> torch.Tensor:
    if level == 0:
        return x
    sd = x.std(1, keepdim=True)
    return x + level * sd * torch.randn(x.shape, generator=g)


# ------------------------------------------------------------------------------------------- one group
def _group_seed(config: SimulationConfig, rule: str, arch: ArchitectureSpec, task: str, rep: int) -> int:
    return spawn_seeds(config.seed, 1, "rules-group", rule, task, arch.kind, arch.depth, arch.width, rep)[0]


def simulate_group(config: SimulationConfig, rule: str, arch: ArchitectureSpec, task: str, rep: int = 0
                   ) -> dict[str, np.ndarray]:
    """Train ``networks_per_group`` networks of one architecture on one task under one rule, all at once.

    Returns ``features`` (G, condition, time, observable, layer, statistic), each network's learning rate,
    batch size, final training loss and (digits) probe-set accuracy.
    """
    seed = _group_seed(config, rule, arch, task, rep)
    g_init = torch_generator(seed, "init")
    g_batch = torch_generator(seed, "batches")
    g_units = torch_generator(seed, "units")
    g_noise = torch_generator(seed, "noise")
    rng = make_rng(seed, "hyper")
    n = config.networks_per_group
    x_tr, y_tr, x_probe = _task_data(task, config.seed, config.n_probe)
    net = BatchedNet(arch.to_arch(), n, SIDE, N_OUT, g_init, rule=rule)
    lr = torch.from_numpy(BASE_LR[rule] * config.lr_spread ** rng.uniform(-1, 1, n)).float()
    batch = int(rng.choice(config.batch_sizes))
    params = net.parameters()
    state = [torch.zeros_like(p) for p in params]
    state2 = [torch.zeros_like(p) for p in params]
    log_at = set(np.unique(np.linspace(0, config.steps, config.n_logs + 1).round().astype(int)).tolist())
    n_logs = len(log_at) - 1
    slots = (0, len(net.layers) - 2, len(net.layers) - 1)
    xp = x_probe[None].expand(n, *x_probe.shape)
    with torch.no_grad():
        shapes = [net.forward(xp[:, :1])[0][i].shape[2:] for i in slots]
    n_units = [int(np.prod(sh)) for sh in shapes]
    per_channel = [n_units[s] // net.weight_units(layer).shape[1] for s, layer in enumerate(slots)]
    conditions = config.conditions
    idx = {(s, k): torch.stack([torch.randperm(n_units[s], generator=g_units)[:k or n_units[s]] for _ in range(n)])
           for s in range(3) for k in config.units}
    feats = np.zeros((n, len(conditions), n_logs, 3, 3, len(STATISTICS)), np.float32)
    previous: dict = {}
    t_log = 0
    loss_value = torch.zeros(n)

    def per_net_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if task == "digits":
            return _cross_entropy(out, y)
        return ((out - y) ** 2).mean((1, 2))

    for step in range(config.steps + 1):
        if step in log_at:
            with torch.no_grad():
                acts, _ = net.forward(xp)
            for s, layer in enumerate(slots):
                w_units, a_units = net.weight_units(layer), _by_unit(acts[layer])
                for ci, (k, level) in enumerate(conditions):
                    if k == 0 or k >= n_units[s]:  # all units: each channel's kernel counts once
                        w_sel, a_sel = w_units.reshape(n, -1), a_units.reshape(n, -1)
                    else:
                        ix = idx[(s, k)]
                        w_sel, a_sel = _pick(w_units, ix // per_channel[s]), _pick(a_units, ix)
                    w_obs, a_obs = _noisy(w_sel, level, g_noise), _noisy(a_sel, level, g_noise)
                    if step > 0:
                        block = feats[:, ci, t_log, :, s]
                        block[:, 0] = aggregate_statistics(w_obs).numpy()
                        block[:, 1] = aggregate_statistics(a_obs).numpy()
                        block[:, 2] = aggregate_statistics(a_obs - previous[(s, ci)]).numpy()
                    previous[(s, ci)] = a_obs
            if step > 0:
                t_log += 1
        if step == config.steps:
            break
        pick = torch.randint(0, len(x_tr), (n, batch), generator=g_batch)
        x, y = x_tr[pick], y_tr[pick]
        if rule == "hebbian":
            acts, pairs = net.forward(x, detach_between=True)
            loss = per_net_loss(acts[-1], y)
            grads = torch.autograd.grad(loss.sum(), [net.layers[-1]["w"], net.layers[-1]["b"]])
            updates = net.oja_updates(pairs)
            with torch.no_grad():
                for layer, upd in zip(net.layers[:-1], updates, strict=True):
                    lr_w = lr.repeat_interleave(len(upd) // n) if layer["kind"] == "conv" else lr
                    upd = torch.nan_to_num(upd).clamp(-10, 10)
                    layer["w"] += lr_w.view(-1, *[1] * (upd.dim() - 1)) * upd
                for p, gr in zip((net.layers[-1]["w"], net.layers[-1]["b"]), grads, strict=True):
                    p -= 10 * lr.view(-1, *[1] * (p.dim() - 1)) * gr
        else:
            acts, _ = net.forward(x)
            loss = per_net_loss(acts[-1], y)
            grads = torch.autograd.grad(loss.sum(), params)
            with torch.no_grad():
                for j, (p, gr) in enumerate(zip(params, grads, strict=True)):
                    lr_p = lr.repeat_interleave(len(p) // n) if len(p) != n else lr
                    lr_p = lr_p.view(-1, *[1] * (p.dim() - 1))
                    if rule == "momentum":
                        state[j].mul_(0.9).add_(gr)
                        p -= lr_p * state[j]
                    elif rule == "adam":
                        state[j].mul_(0.9).add_(0.1 * gr)
                        state2[j].mul_(0.999).add_(0.001 * gr ** 2)
                        m_hat = state[j] / (1 - 0.9 ** (step + 1))
                        v_hat = state2[j] / (1 - 0.999 ** (step + 1))
                        p -= lr_p * m_hat / (v_hat.sqrt() + 1e-8)
                    else:  # sgd, fa (fa's gradients already come through the feedback matrices)
                        p -= lr_p * gr
        loss_value = loss.detach()
    with torch.no_grad():
        acts, _ = net.forward(xp)
    accuracy = np.full(n, np.nan)
    if task == "digits":
        y_te = digits_dataset(size=SIDE, n_test=max(config.n_probe, 10), seed=config.seed)[3]
        accuracy = (acts[-1].argmax(-1).numpy() == y_te[None, :config.n_probe]).mean(1)
    return {"features": np.nan_to_num(feats, nan=0.0, posinf=1e6, neginf=-1e6), "lr": lr.numpy(),
            "batch_size": np.full(n, batch), "final_loss": loss_value.numpy(), "accuracy": accuracy}


def _cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-network mean cross-entropy of logits (G, B, C) against labels (G, B)."""
    return torch.nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)


# ----------------------------------------------------------------------------------------------- sweeps
def _cells(config: SimulationConfig) -> list[tuple[str, ArchitectureSpec, str, int]]:
    # rules innermost: a sweep stopped part-way holds every rule for the architectures it reached
    return [(rule, arch, task, rep) for rep in range(config.groups_per_cell) for arch in config.architectures
            for task in config.tasks for rule in config.rules]


def _cell_name(cell: tuple) -> str:
    rule, arch, task, rep = cell
    return f"{rule}_{task}_{arch.kind}-d{arch.depth}-w{arch.width}_r{rep}"


def _run_cell(config: SimulationConfig, folder: Path, fp: str, cell: tuple) -> str:
    path = folder / "groups" / f"{_cell_name(cell)}.npz"
    result = simulate_group(config, *cell)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, fingerprint=np.array(fp), **result)
    return path.name


def _done(path: Path, fp: str) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["fingerprint"]) == fp
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return False


def simulate_rules(config: SimulationConfig, out: str | Path, *, backend: str = "local", workers: int | None = None,
                   progress: bool | None = None, on_group: Callable[[str], None] | None = None) -> xr.DataArray:
    """Run (or resume) the sweep of ``config`` into ``out``: one ``groups/<cell>.npz`` per group, written
    atomically and skipped when already there for the same configuration and code; then the observables
    of every network (:func:`load_observables`)."""
    out = Path(out)
    cfg = config.model_dump()
    fp = fingerprint("rules-simulation", cfg)
    save_json(out / "config.json", {"config": cfg, "fingerprint": fp})
    pending = [c for c in _cells(config) if not _done(out / "groups" / f"{_cell_name(c)}.npz", fp)]
    executor = get_executor(backend, workers)
    task = partial(_run_cell, config, out, fp)
    if backend == "local":
        n_cells = len(_cells(config))
        for cell in display.track(pending, "network groups", total=n_cells, initial=n_cells - len(pending),
                                  unit="group", show=progress):
            name = task(cell)
            if on_group is not None:
                on_group(name)
    else:
        executor.map(task, pending)
    return load_observables(out)


def load_observables(folder: str | Path) -> xr.DataArray:
    """The statistics of every simulated network in ``folder`` as a DataArray with dims (network, condition,
    time, observable, layer, statistic), condition coordinates units and noise, and per-network coordinates
    rule, task, architecture, kind, depth, width, lr, batch_size, final_loss, accuracy."""
    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise RuleSimulationError(f"{folder}: not a rules simulation folder (no config.json); run "
                                  "`neurosafe rules simulate --out` first")
    meta = load_json(folder / "config.json")
    config = SimulationConfig(**meta["config"])
    blocks, coords = [], {k: [] for k in ("rule", "task", "architecture", "kind", "depth", "width", "lr",
                                          "batch_size", "final_loss", "accuracy")}
    for cell in _cells(config):
        path = folder / "groups" / f"{_cell_name(cell)}.npz"
        if not _done(path, meta["fingerprint"]):
            continue
        rule, arch, task, _ = cell
        with np.load(path, allow_pickle=False) as z:
            blocks.append(z["features"])
            n = len(z["lr"])
            for k in ("lr", "batch_size", "final_loss", "accuracy"):
                coords[k].extend(z[k].tolist())
        coords["rule"] += [rule] * n
        coords["task"] += [task] * n
        coords["architecture"] += [arch.to_arch().name] * n
        coords["kind"] += [arch.kind] * n
        coords["depth"] += [arch.depth] * n
        coords["width"] += [arch.width] * n
    if not blocks:
        raise RuleSimulationError(f"{folder}: no finished network groups for this configuration and code")
    data = np.concatenate(blocks)
    units, noise = zip(*config.conditions, strict=True)
    return xr.DataArray(
        data, dims=("network", "condition", "time", "observable", "layer", "statistic"),
        coords={"network": np.arange(len(data)), "condition": np.arange(data.shape[1]),
                "units": ("condition", list(units)), "noise": ("condition", list(noise)),
                "time": np.arange(data.shape[2]), "observable": list(OBSERVABLES), "layer": list(LAYERS),
                "statistic": list(STATISTICS), **{k: ("network", v) for k, v in coords.items()}},
        name="observable_statistics", attrs={"fingerprint": meta["fingerprint"], "steps": config.steps})
