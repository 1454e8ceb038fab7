"""Shared fixtures: connectomes are loaded once per session (the optic lobe takes ~2 s to build)."""

import pytest
import torch

from neurosafe.connectome import load_connectome, random_connectome


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """The simulators step through thousands of small tensor operations, for which a second intra-op thread
    only adds synchronisation (and stalls badly on a shared 2-core machine); restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def varshney():
    return load_connectome("varshney2011")


@pytest.fixture(scope="session")
def cook_herm():
    return load_connectome("cook2019_herm")


@pytest.fixture(scope="session")
def optic_lobe():
    return load_connectome("flyvis_optic_lobe")


@pytest.fixture(scope="session")
def random1000():
    return random_connectome(1000, 0.1, seed=0)
