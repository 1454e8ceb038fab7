"""A fully cached study recomputes nothing, not even its statistics (Score records are a cached stage), keeps
the provenance of the first computation, and ``neurosafe run --no-cache`` refits everything, twin included;
the CLI's closing summary names the report, the time and one sentence per safety term."""

import json
import shutil
import time

import yaml
from typer.testing import CliRunner

import neurosafe.twin
from neurosafe.cli import app
from neurosafe.study import StudyConfig, runner
from tests.conftest import TINY_STUDY


def _count(monkeypatch, owner, name: str) -> list:
    calls, real = [], getattr(owner, name)
    monkeypatch.setattr(owner, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def _numbers(results) -> dict:
    return json.loads(json.dumps({k: v for k, v in results.to_dict().items() if k not in ("run",)}))


def test_cached_rerun_computes_nothing_and_keeps_the_first_provenance(tiny_study, tmp_path, monkeypatch):
    shutil.copytree(tiny_study.folder / "cache", tmp_path / "tiny" / "cache")
    counts = {name: _count(monkeypatch, runner, name)
              for name in ("network_scores", "train_classifier", "evaluate_network")}
    counts["fit_twin"] = _count(monkeypatch, neurosafe.twin, "fit_twin")
    start = time.perf_counter()
    again = runner.run_study(StudyConfig.model_validate(TINY_STUDY), out_root=tmp_path, progress=False)
    elapsed = time.perf_counter() - start
    assert {k: len(v) for k, v in counts.items()} == dict.fromkeys(counts, 0)
    assert _numbers(again.results) == _numbers(tiny_study.results)
    # provenance: the first computation's time and date survive the re-run
    assert again.results["run"]["computed"] == tiny_study.results["run"]["computed"]
    assert again.results["run"]["computed"]["wall_time_s"] == tiny_study.results["run"]["wall_time_s"]
    assert elapsed < 5


def test_no_cache_refits_the_twin_and_every_network_and_prints_a_summary(tiny_study, tmp_path, monkeypatch):
    shutil.copytree(tiny_study.folder / "cache", tmp_path / "tiny" / "cache")
    study = tmp_path / "tiny.yaml"
    study.write_text(yaml.safe_dump(TINY_STUDY))
    twins = _count(monkeypatch, neurosafe.twin, "fit_twin")
    trained = _count(monkeypatch, runner, "train_classifier")
    result = CliRunner().invoke(app, ["run", str(study), "--out", str(tmp_path), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert len(twins) == 1 and len(trained) == 4  # baseline, brain, shuffled, matched; one seed each
    out = result.stdout
    report = (tmp_path / "tiny" / "report.html").resolve()
    assert f"report: {report}" in out and "total time" in out
    for term in ("Robustness:", "Calibration", "Assurance", "Specification"):
        assert sum(line.startswith(term) for line in out.splitlines()) == 1, out
    assert "synthetic V1 brain" in out
    # progress went to stderr as plain lines (not a terminal), with the stage and its number
    assert "[3/4] train, evaluate and score networks" in result.stderr


def test_unknown_regularizer_site_is_refused_before_any_stage(tmp_path, monkeypatch):
    import pytest

    from neurosafe.study import StudyConfigError

    def no_stage(*a, **k):
        raise AssertionError("a stage ran before the site was checked")

    monkeypatch.setattr(runner, "_record", no_stage)
    cfg = StudyConfig.model_validate({**TINY_STUDY, "regularizer": {"site": "nope"}})
    with pytest.raises(StudyConfigError, match="has no layer 'nope'"):
        runner.run_study(cfg, out_root=tmp_path, progress=False)
