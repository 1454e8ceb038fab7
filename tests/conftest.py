"""Shared fixtures. Real data live in ../shared/data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _real_data(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"real test data missing under CI: {path}")
        pytest.skip(f"real data not available at {path} (tests on real data run where ../shared/data exists)")
    return path


@pytest.fixture(scope="session")
def cowley_dir() -> Path:
    return _real_data("v4-cowley2023")


@pytest.fixture(scope="session")
def kriegeskorte_dir() -> Path:
    return _real_data("rsa92-kriegeskorte2008")


@pytest.fixture(scope="session")
def ecker_file() -> Path:
    return _real_data("v1-gratings-ecker2010") / "data_v1_binned_static.mat"


@pytest.fixture(scope="session")
def ho2022_dir() -> Path:
    return _real_data("gridworld-ho2022")
