"""Shared fixtures: connectomes are loaded once per session (the optic lobe takes ~2 s to build)."""

import pytest

from neurosafe.connectome import load_connectome, random_connectome


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
