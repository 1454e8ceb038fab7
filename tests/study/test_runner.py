"""The study pipeline end to end on a tiny configuration: outputs, determinism, resume after a crash."""

import json

import pytest

from neurosafe.study import runner
from neurosafe.study.config import StudyConfig
from tests.conftest import TINY_STUDY


def _numbers(results: dict) -> dict:
    keys = ("metrics", "effects", "test_accuracy", "per_seed", "ceiling_split_half")
    return json.loads(json.dumps({k: results[k] for k in keys}))  # tuples and lists compare alike


def test_study_writes_results_and_report(tiny_study):
    folder = tiny_study.folder
    for name in ("results.json", "report.html", "robustness.png", "alignment.png", "effects.png"):
        assert (folder / name).exists(), name
    res = json.loads((folder / "results.json").read_text())
    assert res["conditions"] == ["baseline", "brain", "shuffled", "matched"]
    assert res["targets"]["source"] == "twin"
    site = res["regularized_site"]
    for metric in (f"rsa/{site}", f"ridge/{site}", "pgd_accuracy_mean", "corruption_accuracy", "ece"):
        assert set(res["effects"][metric]) == {"baseline", "shuffled", "matched"}
    html = (folder / "report.html").read_text()
    assert "Robustness" in html and "Assurance" in html and "Specification" in html


def test_same_seed_same_numbers(tiny_study, tmp_path):
    again = runner.run_study(StudyConfig.model_validate(TINY_STUDY), out_root=tmp_path, use_cache=False,
                             progress=False)
    assert _numbers(again.results) == _numbers(json.loads((tiny_study.folder / "results.json").read_text()))


def test_killed_run_resumes_from_cache(tiny_study, tmp_path, monkeypatch):
    cfg = StudyConfig.model_validate(TINY_STUDY)
    real = runner.evaluate_network
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "evaluate_network", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        runner.run_study(cfg, out_root=tmp_path, progress=False)
    cached = {p.name.split("-")[0] for p in (tmp_path / "tiny" / "cache").iterdir()}
    assert {"record", "twin", "net", "eval"} <= cached
    monkeypatch.setattr(runner, "evaluate_network", real)
    trained, evaluated = [], []
    real_train = runner.train_classifier
    monkeypatch.setattr(runner, "train_classifier", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    monkeypatch.setattr(runner, "evaluate_network", lambda *a, **k: evaluated.append(1) or real(*a, **k))
    resumed = runner.run_study(cfg, out_root=tmp_path, progress=False)
    # the crash came while evaluating the 3rd network, before the 4th was trained: only those two remain
    assert len(trained) == 1 and len(evaluated) == 2
    assert _numbers(resumed.results) == _numbers(tiny_study.results)


def test_real_recording_with_uneven_repeats(tmp_path):
    """`--data`: a recording whose stimuli have different numbers of repeats (NaN-padded, as real data)."""
    import numpy as np

    from neurosafe.data import SyntheticBrain, natural_patches
    from neurosafe.data.io import Recording, save_netcdf

    stimuli = natural_patches(150, 48, seed=3, color=True)  # resized to the network's 32 px grey input
    responses = SyntheticBrain(20, seed=1, image_size=48).record(stimuli, repeats=5, seed=2)
    values = responses.values.copy()
    values[::2, :, 3:] = np.nan  # every other stimulus has only 3 repeats
    save_netcdf(Recording(responses.copy(data=values), stimuli), tmp_path / "rec.nc")
    cfg = StudyConfig.model_validate({**TINY_STUDY, "name": "real", "data": str(tmp_path / "rec.nc")})
    res = runner.run_study(cfg, out_root=tmp_path, progress=False).results
    assert res["config"]["data"].endswith("rec.nc") and (tmp_path / "real" / "results.json").exists()
    assert res["effects"][f"rsa/{res['regularized_site']}"]["baseline"]["difference"] is not None
