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
    assert load_results(tmp_path / "tiny")["run"]["cache_hits"] >= 8
    assert (tmp_path / "tiny" / "report.html").exists()


def test_unknown_backend_is_one_line(tmp_path):
    study = tmp_path / "tiny.yaml"
    study.write_text(yaml.safe_dump(TINY_STUDY))
    result = runner.invoke(app, ["run", str(study), "--out", str(tmp_path), "--backend", "slurm"])
    assert result.exit_code != 0 and "unknown executor backend 'slurm'" in result.output
    assert len(result.output.strip().splitlines()) == 1
