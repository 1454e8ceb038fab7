"""Shared fixtures. Real data live in ../shared/data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One torch thread per test process: on a shared 2-core machine the thread pool otherwise oversubscribes
    the cores and runs 10x slower; on an idle machine it costs little."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


_TOOL_FILES = ("__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".import_linter_cache", ".mypy_cache",
               ".coverage", ".egg-info", ".venv")


def _repo_outputs() -> set[str]:
    """What lies in the working tree that git does not track (ignored paths included, folders collapsed), and
    the entries two levels into ``runs/`` (ignored, so a new run inside an existing ``runs/`` shows too);
    the tools' own caches are left out."""
    import subprocess

    try:
        listed = subprocess.run(["git", "ls-files", "--others", "--directory"], cwd=REPO, capture_output=True,
                                text=True, check=True, timeout=60).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):  # not a git checkout: every top-level entry
        listed = [p.name for p in REPO.iterdir()]
    listed += [str(p.relative_to(REPO)) for p in (REPO / "runs").glob("*/*")]
    return {p for p in listed if not any(tool in p for tool in _TOOL_FILES)}


@pytest.fixture(autouse=True, scope="session")
def _nothing_written_into_the_repository():
    """The suite writes only under tmp_path: a test that leaves a file in the working tree (a CLI default such
    as ``runs/<command>/``, a figure beside an input) fails the session with the paths it wrote."""
    before = _repo_outputs()
    yield
    written = sorted(_repo_outputs() - before)
    if written:
        pytest.fail(f"the test session wrote into the repository working tree (write under tmp_path): {written}",
                    pytrace=False)


@pytest.fixture
def progress_lines():
    """The progress display writing plain lines (stderr not a terminal, every advance reported) to a buffer;
    call the fixture's value for the lines written so far."""
    import io

    from neurosafe.core import progress

    stream = io.StringIO()
    progress.configure(stream=stream, tty=False, interval=0.0)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        progress.reset()


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


@pytest.fixture(scope="session")
def labyrinth_dir() -> Path:
    return _real_data("labyrinth-rosenberg2021")


TINY_STUDY = {
    "name": "tiny",
    "seeds": [0],
    "brain": {"n_neurons": 24},
    "recording": {"n_train": 160, "repeats_train": 2, "n_test": 40, "repeats_test": 4},
    "device": "cpu",  # Ray workers see no GPU: the local run must use the CPU too to give the same numbers
    "twin": {"n_target_stimuli": 80, "config": {"train": {"epochs": 2, "progress": False, "device": "cpu"}}},
    "task": {"n_test": 100, "train": {"epochs": 1, "progress": False, "device": "cpu"}},
    "evaluation": {"pgd_eps": [0.0, 0.0157], "pgd_steps": 2, "n_eval": 40, "n_boot": 20,
                   "corruptions": ["gaussian_noise"]},
}


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """One tiny run of the full study pipeline (twin included), shared by the study and report tests."""
    from neurosafe.report import write_study_report
    from neurosafe.study import StudyConfig, run_study

    root = tmp_path_factory.mktemp("runs")
    result = run_study(StudyConfig.model_validate(TINY_STUDY), out_root=root, progress=False)
    write_study_report(result.folder)
    return result
