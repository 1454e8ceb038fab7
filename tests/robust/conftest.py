"""Fixtures of the robustness tests: the digits task, a small CNN trained on it (seeded, a few seconds on
CPU), a second CNN as a transfer surrogate, and a gradient-masked copy of the first."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import torch
from torch import nn

from neurosafe.data.tasks import digits_dataset
from neurosafe.robust.digits import train_digits_cnn


class Quantize(nn.Module):
    """Rounds pixels to 5 grey levels: zero gradient almost everywhere (shattered gradients, Athalye et al. 2018)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * 4) / 4


@contextmanager
def single_thread():
    """One intra-op thread: on shared cores torch's thread pool spin-waits and burns ~10x the CPU time for
    these small networks. The setting is restored afterwards, so other packages' tests are unaffected."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with single_thread():
        yield


@pytest.fixture(scope="session")
def digits():
    """(x_train, y_train, x_test, y_test) as tensors; 1,000 test images of 16x16."""
    return tuple(torch.from_numpy(a) for a in digits_dataset(size=16, n_test=1000, seed=0))


@pytest.fixture(scope="session")
def net(digits):
    x, y, _, _ = digits
    with single_thread():
        return train_digits_cnn(x.numpy(), y.numpy(), seed=0)


@pytest.fixture(scope="session")
def surrogate(digits):
    x, y, _, _ = digits
    with single_thread():
        return train_digits_cnn(x.numpy(), y.numpy(), seed=1)


@pytest.fixture(scope="session")
def masked(net):
    return nn.Sequential(Quantize(), net).eval()


def accuracy(model, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())
