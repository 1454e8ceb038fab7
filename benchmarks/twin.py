"""Training throughput (images/s) of ``fit_twin`` vs the same-size model in a plain PyTorch loop, and vs
that loop with neuralpredictors' Gaussian readout (``FullGaussian2d``, isotropic), measured in one run.

Same data (synthetic V1, 100 neurons, 32x32 patches, repeat averages), same core (3 conv layers, 16
channels, kernels 13/5/5, batch norm, ELU), batch 64, Adam, Poisson loss, one validation pass per epoch.
Each variant runs ``EPOCHS`` epochs, ``ROUNDS`` times interleaved; the best round counts (the machine is
shared). ``fit_twin``'s time is the whole call (validation split, preprocessing, building the model,
per-epoch validation correlation); the plain loops get pre-normalised tensors. The twin also pays for its
Laplacian and L1 penalties. Run by hand: ``python benchmarks/twin.py``.
"""

from __future__ import annotations

import time
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.twin import StackedCoreConfig, TwinConfig, TwinTrainConfig, fit_twin

N_STIMULI, EPOCHS, ROUNDS, BATCH = 2000, 3, 3, 64
CORE = StackedCoreConfig(channels=16, kernel_sizes=(13, 5, 5))


def plain_core() -> nn.Sequential:
    layers, c_in = [], 1
    for k in CORE.kernel_sizes:
        layers += [
            nn.Conv2d(c_in, CORE.channels, k, padding=k // 2, bias=False),
            nn.BatchNorm2d(CORE.channels),
            nn.ELU(),
        ]
        c_in = CORE.channels
    return nn.Sequential(*layers)


class PlainGaussianReadout(nn.Module):
    """The minimal Gaussian readout a researcher would write by hand."""

    def __init__(self, n: int, c: int):
        super().__init__()
        self.mu = nn.Parameter(torch.empty(n, 2).uniform_(-0.5, 0.5))
        self.sigma = nn.Parameter(torch.full((n, 1), 0.3))
        self.w = nn.Parameter(torch.randn(n, c) / c)
        self.b = nn.Parameter(torch.zeros(n))

    def forward(self, x):
        grid = self.mu.expand(x.shape[0], -1, -1)
        if self.training:
            grid = grid + torch.randn_like(grid) * self.sigma
        out = F.grid_sample(x, grid.clamp(-1, 1)[:, :, None], align_corners=True)[..., 0]
        return torch.einsum("bcn,nc->bn", out, self.w) + self.b


def neuralpredictors_readout(n: int, c: int, size: int) -> nn.Module | None:
    try:
        from neuralpredictors.layers.readouts import FullGaussian2d
    except ImportError as err:
        print(f"neuralpredictors readout unavailable ({err}); comparing against the plain loop only")
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FullGaussian2d((c, size, size), n, bias=True, gauss_type="isotropic")


def plain_fit(x: torch.Tensor, y: torch.Tensor, readout: nn.Module) -> float:
    """Seconds for EPOCHS epochs of a plain training loop with a validation pass (10% held out)."""
    torch.manual_seed(0)
    core = plain_core()
    n_val = len(x) // 10
    xt, yt, xv = x[n_val:], y[n_val:], x[:n_val]
    opt = torch.optim.Adam([*core.parameters(), *readout.parameters()], lr=5e-3)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        core.train()
        readout.train()
        for idx in torch.randperm(len(xt)).split(BATCH):
            pred = F.elu(readout(core(xt[idx]))) + 1
            loss = (pred - yt[idx] * torch.log(pred + 1e-8)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        core.eval()
        readout.eval()
        with torch.no_grad():
            torch.cat([readout(core(b)) for b in xv.split(4 * BATCH)])
    return time.perf_counter() - start


def main() -> None:
    brain = SyntheticBrain(n_neurons=100, area="V1", seed=0)
    stim = natural_patches(N_STIMULI, 32, seed=1)
    rec = brain.record(stim, repeats=2, seed=2)
    x = torch.from_numpy(stim.images)
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(rec.mean("repeat").values).float()
    config = TwinConfig(
        core=CORE, train=TwinTrainConfig(epochs=EPOCHS, patience=100, batch_size=BATCH, progress=False)
    )
    times: dict[str, list[float]] = {
        "neurosafe fit_twin": [],
        "plain PyTorch loop": [],
        "neuralpredictors readout": [],
    }
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fit_twin(stim, rec, config, seed=0)
        times["neurosafe fit_twin"].append(time.perf_counter() - start)
        times["plain PyTorch loop"].append(plain_fit(x, y, PlainGaussianReadout(100, CORE.channels)))
        np_readout = neuralpredictors_readout(100, CORE.channels, 32)
        if np_readout is not None:
            times["neuralpredictors readout"].append(plain_fit(x, y, np_readout))
    images = EPOCHS * N_STIMULI * 0.9
    rate = {k: images / min(v) for k, v in times.items() if v}
    print(
        f"training throughput, {N_STIMULI} images x {EPOCHS} epochs, best of {ROUNDS} "
        f"(torch {torch.__version__}, {torch.get_num_threads()} threads):"
    )
    for name, r in rate.items():
        print(f"  {name:26s} {r:8.0f} images/s")
    for peer in ("plain PyTorch loop", "neuralpredictors readout"):
        if peer in rate:
            print(f"ratio fit_twin / {peer}: {rate['neurosafe fit_twin'] / rate[peer]:.2f}")


if __name__ == "__main__":
    main()
