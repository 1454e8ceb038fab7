"""Tiny objective-zoo networks shared by the objectives tests (trained once per session)."""

import pytest

from neurosafe.objectives import ObjectiveConfig, build_network

TINY = ObjectiveConfig(widths=(4, 8, 8), image_size=16, n_images=64, embed_dim=8, epochs=1, batch_size=32)


@pytest.fixture(scope="session")
def tiny_config() -> ObjectiveConfig:
    return TINY


@pytest.fixture(scope="session")
def tiny_nets() -> dict:
    """Three untrained tiny networks of distinct seeds (planted answers for the engine)."""
    return {name: build_network("random", TINY, seed) for name, seed in (("a", 0), ("b", 1), ("c", 2))}
