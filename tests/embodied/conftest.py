"""Shared fixtures: the planted animal, its trials (training and held-out) and one small twin fitted once."""

from __future__ import annotations

import pytest

from neurosafe.embodied import PlantedAnimal, TwinConfig, fit_embodied_twin
from neurosafe.embodied.experiments import split_behaviour


@pytest.fixture(scope="session")
def animal() -> PlantedAnimal:
    return PlantedAnimal(seed=0)


@pytest.fixture(scope="session")
def trials(animal):
    """(all, training, held-out) trials: 12 trials of 120 control steps (6 s), 5 held out."""
    return split_behaviour(animal, 12, 120, seed=0)


@pytest.fixture(scope="session")
def twin_fit(animal, trials):
    """A small twin: behaviour cloning then 2 DAgger iterations on the 7 training trials."""
    _, train, _ = trials
    return fit_embodied_twin(train, animal, TwinConfig(bc_epochs=40, dagger_iterations=2, dagger_epochs=15,
                                                       batch_size=512, progress=False))
