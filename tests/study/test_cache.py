"""The study cache never serves a stale result: keys follow the data's content and the package source,
``use_cache=False`` (``--no-cache``) resumes no checkpoint, and a corrupt entry is recomputed with a warning."""

from __future__ import annotations

import json
import os
import shutil

import h5py
import numpy as np
import pytest
import torch
import xarray as xr

from neurosafe.core.checkpoint import StaleCheckpointWarning
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.data.io import Recording, save_netcdf
from neurosafe.study import StudyConfig, runner
from neurosafe.study import cache as cache_module
from neurosafe.study.cache import StageCache
from tests.study.test_resume import MINI_STUDY


def _numbers(results) -> dict:
    return json.loads(json.dumps({k: v for k, v in results.to_dict().items() if k != "run"}))


def _counting(monkeypatch, name: str) -> list:
    calls, real = [], getattr(runner, name)
    monkeypatch.setattr(runner, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory):
    """One cached run of the mini study (twin, 2 networks), copied by the tests that alter its cache."""
    root = tmp_path_factory.mktemp("mini")
    result = runner.run_study(StudyConfig.model_validate({**MINI_STUDY, "controls": []}), out_root=root,
                              progress=False)
    return result


def _copy(mini_run, tmp_path):
    """A copy of the run's cache without its whole-study entry (which would serve every number without
    reading a stage): these tests are about the stages."""
    shutil.copytree(mini_run.folder, tmp_path / "mini")
    for f in (tmp_path / "mini" / "cache").glob("study-*.json"):
        f.unlink()
    return tmp_path / "mini" / "cache"


def test_source_hash_is_part_of_every_key(monkeypatch):
    key = StageCache.key("train", seed=0)
    assert StageCache.key("train", seed=0) == key and StageCache.key("train", seed=1) != key
    monkeypatch.setattr(cache_module, "source_hash", lambda: "edited source")
    assert StageCache.key("train", seed=0) != key


def test_truncated_entries_are_recomputed_with_a_warning(mini_run, tmp_path, monkeypatch):
    cache = _copy(mini_run, tmp_path)
    for f in cache.glob("scores-*.pt"):  # the statistics are recomputed from the (truncated) evaluations
        f.unlink()
    for pattern in ("record-*.test.nc", "net-*.pt", "eval-*.pt", "twin-*.json"):
        for f in sorted(cache.glob(pattern))[:1]:
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    trained = _counting(monkeypatch, "train_classifier")
    with pytest.warns(StaleCheckpointWarning, match="unreadable") as caught:
        again = runner.run_study(StudyConfig.model_validate({**MINI_STUDY, "controls": []}), out_root=tmp_path,
                                 progress=False)
    assert len({str(w.message) for w in caught if "unreadable" in str(w.message)}) == 4
    assert all("\n" not in str(w.message) for w in caught)  # one line each
    assert len(trained) == 1  # only the truncated network is trained again (from its finished checkpoint)
    assert _numbers(again.results) == _numbers(mini_run.results)


def _tamper_checkpoints(cache) -> None:
    """Keep each checkpoint's fingerprint (so a resume would accept it) but halve its weights; delete the
    finished results that would otherwise be served instead."""
    files = [*cache.glob("ckpt-*.pt"), *cache.glob("twin-*-ckpt/checkpoint.pt")]
    assert len(files) == 3
    for f in files:
        state = torch.load(f, weights_only=True)
        for part in ("model", "best_state"):
            if part in state:
                state[part] = {k: v * 0.5 if v.is_floating_point() else v for k, v in state[part].items()}
        if "epoch" in state and "best_state" not in state:
            state["epoch"] -= 1  # one epoch left to train from the halved weights
        torch.save(state, f)
    for pattern in ("net-*", "eval-*", "scores-*", "twin-*.json", "twin-*.targets.nc"):
        for f in cache.glob(pattern):
            f.unlink()


def test_no_cache_resumes_no_checkpoint(mini_run, tmp_path):
    cfg = StudyConfig.model_validate({**MINI_STUDY, "controls": []})
    _tamper_checkpoints(_copy(mini_run, tmp_path))
    fresh = runner.run_study(cfg, out_root=tmp_path, use_cache=False, progress=False)
    assert _numbers(fresh.results) == _numbers(mini_run.results)
    # the control: with the cache on, the same tampered checkpoints are resumed and change the numbers
    shutil.rmtree(tmp_path / "mini")
    _tamper_checkpoints(_copy(mini_run, tmp_path))
    resumed = runner.run_study(cfg, out_root=tmp_path, progress=False)
    assert _numbers(resumed.results)["scores"] != _numbers(mini_run.results)["scores"]


def _uncompressed_recording(path) -> None:
    """A real-data file (netCDF, contiguous float storage) whose values can be edited in place."""
    stimuli = natural_patches(90, 32, seed=3)
    save_netcdf(Recording(SyntheticBrain(12, seed=1).record(stimuli, repeats=4, seed=2), stimuli), path)
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    for v in ds.variables.values():
        v.encoding = {}
    os.remove(path)
    ds.to_netcdf(path, engine="h5netcdf")


def test_data_file_edited_in_place_is_read_again(tmp_path, monkeypatch):
    data = tmp_path / "rec.nc"
    _uncompressed_recording(data)
    cfg = StudyConfig.model_validate({**MINI_STUDY, "name": "real", "controls": [], "data": str(data),
                                      "twin": {"enabled": False}, "task": {"n_test": 60, "train": {"epochs": 1}}})
    loads = _counting(monkeypatch, "load_recording")
    first = runner.run_study(cfg, out_root=tmp_path, progress=False).results
    again = runner.run_study(cfg, out_root=tmp_path, progress=False).results
    assert len(loads) == 1 and _numbers(again) == _numbers(first)  # unchanged file: served from the cache
    size, stat = data.stat().st_size, data.stat()
    with h5py.File(data, "r") as f:
        offset, shape = f["responses"].id.get_offset(), f["responses"].shape
    other = SyntheticBrain(12, seed=7).record(natural_patches(90, 32, seed=3), repeats=4, seed=8).values
    assert other.shape == shape and other.dtype == np.float64
    with open(data, "r+b") as fh:  # new responses, same bytes count, same modification time
        fh.seek(offset)
        fh.write(other.astype("<f8").tobytes())
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data.stat().st_size == size
    edited = runner.run_study(cfg, out_root=tmp_path, progress=False).results
    assert len(loads) == 2  # the record stage ran again
    assert edited["provenance"]["record_hash"] != first["provenance"]["record_hash"]
    site = first["regularized_site"]
    assert edited.score("ridge", "baseline", site=site).ceiling != first.score("ridge", "baseline", site=site).ceiling


def test_whole_study_entry_is_served_only_for_the_same_config_data_and_source(tiny_study, tmp_path, monkeypatch):
    """The whole-study entry (a cached re-run's fast path) is keyed by the config, the data file's bytes and
    neurosafe's source: any change misses it (the control: unchanged, it is served)."""
    from neurosafe.study.cache import cached_results, study_key
    from tests.conftest import TINY_STUDY

    shutil.copytree(tiny_study.folder / "cache", tmp_path / "tiny" / "cache")
    cfg = StudyConfig.model_validate(TINY_STUDY)
    served = cached_results(cfg, tmp_path / "tiny")
    assert served is not None and _numbers(served) == _numbers(tiny_study.results)
    assert cached_results(StudyConfig.model_validate({**TINY_STUDY, "seeds": [1]}), tmp_path / "tiny") is None
    data = tmp_path / "rec.nc"
    data.write_bytes(b"recording one")
    with_data = StudyConfig.model_validate({**TINY_STUDY, "data": str(data)})
    key = study_key(with_data)
    data.write_bytes(b"recording two")  # same name, same size, other content
    assert study_key(with_data) != key and study_key(cfg) not in (key, study_key(with_data))
    monkeypatch.setattr(cache_module, "source_hash", lambda: "edited source")
    assert cached_results(cfg, tmp_path / "tiny") is None


def test_source_hash_covers_package_data_files(tmp_path):
    """The results schema and scenario files ship with the code: editing one is a code change; byte code is not."""
    from neurosafe.core.hashing import _tree_hash

    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "runner.py").write_text("# code")
    (tmp_path / "study" / "results.schema.json").write_text("{}")
    before = _tree_hash(tmp_path)
    (tmp_path / "study" / "results.schema.json").write_text('{"version": 2}')
    edited = _tree_hash(tmp_path)
    assert edited != before
    (tmp_path / "study" / "__pycache__").mkdir()
    (tmp_path / "study" / "__pycache__" / "runner.cpython-311.pyc").write_bytes(b"byte code")
    assert _tree_hash(tmp_path) == edited
    (tmp_path / "study" / "runner.py").write_text("# edited code")
    assert _tree_hash(tmp_path) not in (before, edited)
