"""Training speed of ``fit_twin`` against a plain PyTorch loop of the same model, measured in one run.

The comparison is of like with like (issue 17's goal: ``fit_twin`` >= 1.0x the plain loop):

- same data: synthetic V1 (100 neurons, 2,000 natural 32x32 patches, mean of 2 repeats), 10% held out;
- same model: 3 conv layers (16 channels, kernels 13/5/5, no bias, batch norm, ELU), an isotropic Gaussian
  readout jittered in training, ELU + 1 output, Poisson loss; on the CPU ``fit_twin`` trains the core in the
  channels-last memory layout (oneDNN's faster convolutions; the core hands the readout a standard-layout map
  and takes its gradient back channels-last) while the plain loop keeps torch's default layout, as a
  hand-written loop does: the layout is the loop's engineering, the arithmetic is the same up to float rounding;
- same objective: the plain loop adds the same penalties (Laplacian smoothness of the first layer's filters,
  L1 of the readout's feature weights) that ``fit_twin`` optimises;
- same optimizer and schedule: Adam, lr 5e-3, batch 64, ``EPOCHS`` epochs (early stopping off), a validation
  pass computing every neuron's correlation after every epoch in both;
- same start and end: both are timed from the same numpy arrays (images in [0, 1], responses) to a trained
  model, so the plain loop pays for standardising the images and building its model as ``fit_twin`` does
  (which also validates the inputs, hashes nothing without a checkpoint folder, and keeps the best state);
- mixed precision measured apart: ``fit_twin(precision="bfloat16")`` against the plain loop with the same
  bfloat16 autocast (like for like), and against the float32 plain loop (what the option buys a user; the
  arithmetic differs, so that ratio is not the loop's own speed).

Before timing, one Adam optimizer is built (torch imports its optimizer machinery on first use, seconds
that would otherwise fall on whichever variant runs first). Each variant runs ``ROUNDS`` times,
interleaved, the order reversed every other round, on the same device (a CUDA GPU when present, else the CPU
with torch's default threads); the best round of each counts (the machine is shared). With neuralpredictors
installed, the plain loop with its ``FullGaussian2d`` readout is timed too. Run by hand:
``python benchmarks/twin.py``.
"""

from __future__ import annotations

import time
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from neurosafe.core.devices import resolve_device
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.twin import ReadoutConfig, StackedCoreConfig, TwinConfig, TwinTrainConfig, fit_twin

N_STIMULI, EPOCHS, ROUNDS, BATCH, LR = 2000, 2, 5, 64, 5e-3
CORE = StackedCoreConfig(channels=16, kernel_sizes=(13, 5, 5))
READOUT = ReadoutConfig()
LAPLACE = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])[None, None]


def plain_core() -> nn.Sequential:
    layers, c_in = [], 1
    for k in CORE.kernel_sizes:
        layers += [nn.Conv2d(c_in, CORE.channels, k, padding=k // 2, bias=False), nn.BatchNorm2d(CORE.channels),
                   nn.ELU()]
        c_in = CORE.channels
    return nn.Sequential(*layers)


class PlainGaussianReadout(nn.Module):
    """The minimal Gaussian readout a researcher would write by hand."""

    def __init__(self, n: int, c: int):
        super().__init__()
        self.mu = nn.Parameter(torch.empty(n, 2).uniform_(-0.5, 0.5))
        self.sigma = nn.Parameter(torch.full((n, 1), 0.3))
        self.features = nn.Parameter(torch.randn(n, c) / c)
        self.b = nn.Parameter(torch.zeros(n))

    def forward(self, x):
        grid = self.mu.expand(x.shape[0], -1, -1)
        if self.training:
            grid = grid + torch.randn_like(grid) * self.sigma
        out = F.grid_sample(x, grid.clamp(-1, 1)[:, :, None], align_corners=True)[..., 0]
        return torch.einsum("bcn,nc->bn", out, self.features) + self.b


def neuralpredictors_readout(n: int, c: int, size: int) -> nn.Module | None:
    try:
        from neuralpredictors.layers.readouts import FullGaussian2d
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FullGaussian2d((c, size, size), n, bias=True, gauss_type="isotropic")


def correlation(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p, t = pred - pred.mean(0), target - target.mean(0)
    return (p * t).sum(0) / (p.norm(dim=0) * t.norm(dim=0)).clamp_min(1e-12)


def penalty(core: nn.Sequential, readout: nn.Module) -> torch.Tensor:
    """The twin's penalties: Laplacian smoothness of the first filters, L1 of the readout weights."""
    w = core[0].weight
    lap = F.conv2d(w.reshape(-1, 1, *w.shape[-2:]), LAPLACE.to(w.device), padding=1)
    weights = readout.features if hasattr(readout, "features") else next(readout.parameters())
    return CORE.laplace * lap.pow(2).sum() + READOUT.l1 * weights.abs().sum()


def plain_fit(images, responses, readout_factory, device, mixed: bool = False) -> float:
    """Seconds for a plain loop, from numpy arrays to a trained model (EPOCHS epochs, validation each);
    ``mixed``: the forward pass of each step under bfloat16 autocast, as ``precision="bfloat16"``."""
    start = time.perf_counter()
    torch.manual_seed(0)
    x = torch.from_numpy(images).to(device)
    y = torch.from_numpy(responses).float().to(device)
    n_val = len(x) // 10
    x = (x - x[n_val:].mean()) / x[n_val:].std()
    xt, yt, xv, yv = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    core, readout = plain_core().to(device), readout_factory().to(device)
    opt = torch.optim.Adam([*core.parameters(), *readout.parameters()], lr=LR)
    for _ in range(EPOCHS):
        core.train()
        readout.train()
        for idx in torch.randperm(len(xt), device=device).split(BATCH):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mixed):
                pred = F.elu(readout(core(xt[idx]))) + 1
            pred = pred.float()
            loss = (pred - yt[idx] * torch.log(pred + 1e-8)).sum(1).mean() + penalty(core, readout)
            opt.zero_grad()
            loss.backward()
            opt.step()
        core.eval()
        readout.eval()
        with torch.no_grad():
            pred = torch.cat([readout(core(b)) for b in xv.split(4 * BATCH)])
            float(correlation(pred, yv).mean())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    device = resolve_device("auto")
    brain = SyntheticBrain(n_neurons=100, area="V1", seed=0)
    stim = natural_patches(N_STIMULI, 32, seed=1)
    rec = brain.record(stim, repeats=2, seed=2)
    responses = rec.mean("repeat").transpose("stimulus", "neuron").values
    config, mixed = (TwinConfig(core=CORE, readout=READOUT, train=TwinTrainConfig(
        epochs=EPOCHS, patience=100, batch_size=BATCH, lr=LR, progress=False, device=str(device), precision=p))
        for p in ("float32", "bfloat16"))
    variants = {
        "neurosafe fit_twin": lambda: fit_twin(stim, rec, config, seed=0),
        "plain PyTorch loop": lambda: plain_fit(stim.images, responses,
                                                lambda: PlainGaussianReadout(100, CORE.channels), device),
        "fit_twin, precision=bfloat16": lambda: fit_twin(stim, rec, mixed, seed=0),
        "plain loop, bfloat16 autocast": lambda: plain_fit(stim.images, responses,
                                                           lambda: PlainGaussianReadout(100, CORE.channels), device,
                                                           mixed=True),
    }
    if neuralpredictors_readout(100, CORE.channels, 32) is not None:
        variants["plain loop, neuralpredictors readout"] = lambda: plain_fit(
            stim.images, responses, lambda: neuralpredictors_readout(100, CORE.channels, 32), device)
    else:
        print("neuralpredictors not installed: comparing against the plain loop only")
    torch.optim.Adam([nn.Parameter(torch.zeros(1))])  # warm-up: torch's one-time optimizer imports
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(ROUNDS):
        order = list(variants.items())
        for name, run in order if round_ % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    images = EPOCHS * N_STIMULI * 0.9
    best = {k: min(v) for k, v in times.items()}
    print(f"training, {N_STIMULI} images x {EPOCHS} epochs, best of {ROUNDS} interleaved rounds on {device} "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads):")
    for name, seconds in best.items():
        rounds = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"  {name:38s} {seconds:6.2f} s  {images / seconds:7.0f} images/s  (rounds: {rounds} s)")
    for peer in [p for p in best if p not in ("neurosafe fit_twin", "fit_twin, precision=bfloat16")]:
        ours = "fit_twin, precision=bfloat16" if "bfloat16" in peer else "neurosafe fit_twin"
        print(f"ratio {ours} / {peer} (throughput): {best[peer] / best[ours]:.2f}x")
    print(f"ratio fit_twin, precision=bfloat16 / plain PyTorch loop (float32; opt-in mixed precision, not like "
          f"for like): {best['plain PyTorch loop'] / best['fit_twin, precision=bfloat16']:.2f}x")


if __name__ == "__main__":
    main()
