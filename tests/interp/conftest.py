"""Fixtures shared by the interp tests."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_limits

from neurosafe.data import SyntheticBrain


@pytest.fixture(autouse=True)
def _single_thread():
    """Run each test on one thread (torch and BLAS), restored afterwards: on a shared, loaded 2-core machine the
    small batched ops of these tests spend most of their time in OpenMP / BLAS thread barriers (measured: the same
    100-step MEI run took 18.7 s with 2 threads and 0.09 s with 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def brain() -> SyntheticBrain:
    """40 V1 cells (simple and complex), seed 0, 32 x 32 px."""
    return SyntheticBrain(n_neurons=40, area="V1", seed=0)
