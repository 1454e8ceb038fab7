"""Shared fixtures: a tiny synthetic recording for fast tests (real data: the root conftest's ``cowley_dir``)."""

from __future__ import annotations

import pytest

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.twin import StackedCoreConfig, TwinConfig, TwinTrainConfig


@pytest.fixture(scope="session")
def tiny_brain() -> SyntheticBrain:
    return SyntheticBrain(
        n_neurons=12, area="V1", seed=3, image_size=16, snr_range=(1.0, 3.0), n_calibration=300
    )


@pytest.fixture(scope="session")
def tiny_data(tiny_brain):
    """(stimuli, responses with 2 repeats, test stimuli, test responses with 8 repeats) at 16x16 px."""
    stim = natural_patches(240, 16, seed=11)
    test = natural_patches(60, 16, seed=12)
    return (
        stim,
        tiny_brain.record(stim, repeats=2, seed=13),
        test,
        tiny_brain.record(test, repeats=8, seed=14),
    )


@pytest.fixture()
def tiny_config() -> TwinConfig:
    return TwinConfig(
        core=StackedCoreConfig(channels=4, kernel_sizes=(5, 3)),
        train=TwinTrainConfig(epochs=3, batch_size=32, progress=False),
    )
