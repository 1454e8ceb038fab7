"""The study pipeline end to end on a tiny configuration: records, determinism, resume, executors."""

import json

import jsonschema
import numpy as np
import pytest
import torch

from neurosafe.data.io import load_netcdf
from neurosafe.metrics import ridge_predictivity
from neurosafe.study import load_results, results_schema, runner
from neurosafe.study.config import StudyConfig
from tests.conftest import TINY_STUDY


def _numbers(folder) -> dict:
    """Every record of results.json, without the run's timing."""
    raw = json.loads((folder / "results.json").read_text())
    return {k: raw[k] for k in ("scores", "effects", "targets", "config")}


def test_study_writes_schema_valid_records_and_report(tiny_study):
    folder = tiny_study.folder
    for name in ("results.json", "report.html", "robustness.png", "alignment.png", "effects.png"):
        assert (folder / name).exists(), name
    jsonschema.validate(json.loads((folder / "results.json").read_text()), results_schema())
    res = load_results(folder)
    assert res["conditions"] == ["baseline", "brain", "shuffled", "matched"]
    assert res["targets"]["source"] == "twin"
    site = res["regularized_site"]
    for metric, at in (("rsa", site), ("ridge", site), ("pgd_accuracy_mean", None), ("corruption_accuracy", None),
                       ("ece", None)):
        assert {e.versus for e in res.effects_of(metric, site=at)} == {"baseline", "shuffled", "matched"}
    ridge = res.score("ridge", "brain", site=site)
    assert ridge.ceiling is not None and ridge.ceiled_value == pytest.approx(ridge.value / ridge.ceiling)
    assert res.score("ece", "brain").higher_is_better is False
    html = (folder / "report.html").read_text()
    assert "Robustness" in html and "Assurance" in html and "Specification" in html


def test_schema_rejects_a_malformed_record(tiny_study):
    raw = json.loads((tiny_study.folder / "results.json").read_text())
    raw["scores"][0]["metric"] = "ridge/relu1"  # a metric-name string instead of structured keys
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(raw, results_schema())


def test_point_estimates_lie_inside_their_cis(tiny_study):
    res = load_results(tiny_study.folder)
    with_ci = [r for r in [*res.scores, *res.effects] if r.score.ci is not None]
    assert len(with_ci) > 50
    for r in with_ci:
        lo, hi = r.score.ci
        assert lo <= r.score.value <= hi, r


def test_study_ridge_equals_ridge_predictivity(tiny_study):
    """Each network's cached features through metrics.ridge_predictivity give the study's ridge records."""
    res = load_results(tiny_study.folder)
    cfg = StudyConfig.model_validate(TINY_STUDY)
    test = load_netcdf(next((tiny_study.folder / "cache").glob("record-*test.nc"))).responses
    mean = np.nanmean(test.values, axis=2)  # neurons whose trial average is constant cannot be correlated:
    test = test.isel(neuron=np.flatnonzero(np.ptp(mean, axis=0) > 0))  # the study leaves them out too
    evals = [torch.load(p, weights_only=True) for p in sorted((tiny_study.folder / "cache").glob("eval-*.pt"))]
    for site in res["sites"]:
        study = sorted(r.score.ceiled_value for r in res.scores if r.metric == "ridge" and r.site == site
                       and r.training_seed is not None)
        assert len(evals) == len(study) == 4
        ours = sorted(ridge_predictivity(e[f"features/{site}"].numpy(), test, seed=cfg.seed,
                                         n_boot=cfg.evaluation.n_boot).ceiled_value for e in evals)
        np.testing.assert_allclose(ours, study, rtol=0, atol=1e-9)


def test_same_seed_same_numbers(tiny_study, tmp_path):
    runner.run_study(StudyConfig.model_validate(TINY_STUDY), out_root=tmp_path, use_cache=False, progress=False)
    assert _numbers(tmp_path / "tiny") == _numbers(tiny_study.folder)


def test_ray_backend_equals_local(tiny_study, tmp_path):
    """The twin fit and the networks as Ray tasks (a local instance, 2 workers): the same records."""
    import ray

    try:
        runner.run_study(StudyConfig.model_validate(TINY_STUDY), out_root=tmp_path, progress=False, backend="ray",
                         workers=2)
    finally:
        ray.shutdown()
    assert load_results(tmp_path / "tiny")["run"]["backend"] == "ray"
    assert _numbers(tmp_path / "tiny") == _numbers(tiny_study.folder)


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
    runner.run_study(cfg, out_root=tmp_path, progress=False)
    # the crash came while evaluating the 3rd network, before the 4th was trained: only those two remain
    assert len(trained) == 1 and len(evaluated) == 2
    assert _numbers(tmp_path / "tiny") == _numbers(tiny_study.folder)


def test_real_recording_with_uneven_repeats(tmp_path):
    """`--data`: a recording whose stimuli have different numbers of repeats (NaN-padded, as real data)."""
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
    assert np.isfinite(res.effects_of("rsa", site=res["regularized_site"])[0].score.value)
