"""`neurosafe run` in-process on the tiny study: resumes from a copied run's cache, prints records, errors."""

import json
import shutil

import yaml
from typer.testing import CliRunner

from neurosafe.cli import app
from neurosafe.study import load_results
from tests.conftest import TINY_STUDY

runner = CliRunner()


def test_run_from_cache_prints_the_same_records(tiny_study, tmp_path):
    shutil.copytree(tiny_study.folder / "cache", tmp_path / "tiny" / "cache")  # every stage is a cache hit
    study = tmp_path / "tiny.yaml"
    study.write_text(yaml.safe_dump(TINY_STUDY))
    result = runner.invoke(app, ["run", str(study), "--out", str(tmp_path), "--backend", "local", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # --json: no progress lines, no logs
    printed = json.loads(result.stdout)
    assert printed["scores"] == json.loads((tiny_study.folder / "results.json").read_text())["scores"]
    run = load_results(tmp_path / "tiny")["run"]
    assert run["study_cache"] and run["cache_hits"] == 1  # the whole study is one cache entry
    assert (tmp_path / "tiny" / "report.html").exists()


def test_unknown_backend_is_one_line(tmp_path):
    study = tmp_path / "tiny.yaml"
    study.write_text(yaml.safe_dump(TINY_STUDY))
    result = runner.invoke(app, ["run", str(study), "--out", str(tmp_path), "--backend", "slurm"])
    assert result.exit_code != 0 and "unknown executor backend 'slurm'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cached_rerun_computes_nothing_redraws_no_figure_and_imports_no_model_code(tiny_study, tmp_path,
                                                                                  monkeypatch):
    """Issue 18: a fully cached ``neurosafe run`` reads the whole study from the cache (no stage, no statistic),
    leaves the report's figures as they are, and (as a fresh process) imports neither the study runner nor
    matplotlib nor the other commands' libraries, nor torch, scipy, scikit-learn or xarray."""
    import os
    import subprocess
    import sys

    import neurosafe.twin
    from neurosafe.report import study as report_study
    from neurosafe.study import runner as study_runner

    shutil.copytree(tiny_study.folder / "cache", tmp_path / "tiny" / "cache")
    study = tmp_path / "tiny.yaml"
    study.write_text(yaml.safe_dump(TINY_STUDY))
    args = ["run", str(study), "--out", str(tmp_path), "--json"]
    first = runner.invoke(app, args)  # the figures are drawn once in this folder
    assert first.exit_code == 0, first.output
    figures = {f: (tmp_path / "tiny" / f).stat().st_mtime_ns for f in report_study.FIGURES}
    calls = []
    for owner, names in ((study_runner, ("network_scores", "train_classifier", "evaluate_network", "_record")),
                         (neurosafe.twin, ("fit_twin",)),
                         (report_study, ("_robustness_figure", "_alignment_figure", "_effects_figure"))):
        for name in names:
            monkeypatch.setattr(owner, name, lambda *a, _n=name, **k: calls.append(_n))
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert calls == []
    assert json.loads(again.stdout)["scores"] == json.loads(first.stdout)["scores"]
    assert load_results(tmp_path / "tiny")["run"]["computed"] == tiny_study.results["run"]["computed"]
    code = ("import sys; from neurosafe.cli import main\n"
            f"sys.argv = ['neurosafe', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "heavy = ['matplotlib', 'neurosafe.study.runner', 'neurosafe.cli.app', 'neurosafe.connectome', 'torch',\n"
            "         'scipy', 'sklearn', 'xarray', 'pandas']\n"
            "print([m for m in heavy if m in sys.modules], file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert json.loads(done.stdout)["scores"] == json.loads(first.stdout)["scores"]
    assert {f: (tmp_path / "tiny" / f).stat().st_mtime_ns for f in report_study.FIGURES} == figures
    assert (tmp_path / "tiny" / "report.html").exists()


def test_no_help_page_shows_a_value_for_a_flag():
    """Issue 18 (`--json <bool>` looked like it takes a value): the root, every group and every command."""
    import typer

    def paths(command, prefix):
        yield prefix
        for name, sub in getattr(command, "commands", {}).items():
            yield from paths(sub, [*prefix, name])

    for path in paths(typer.main.get_command(app), []):
        text = runner.invoke(app, [*path, "--help"], terminal_width=200).output
        assert "Usage" in text, path
        assert "<bool>" not in text and "BOOLEAN" not in text, (path, text)
