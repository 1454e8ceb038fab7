"""``neurosafe probe ...``: every command end to end (small), JSON output, figures, files, and clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from neurosafe.cli.app import app

runner = CliRunner()


def _run(*args: str) -> dict:
    result = runner.invoke(app, ["probe", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_tuning_of_the_synthetic_brain_and_of_a_recording_file(tmp_path):
    out = _run("tuning", "--neurons", "12", "--out", str(tmp_path / "brain"))
    assert out["n_neurons"] == 12 and out["osi"]["q50"] > 0.5
    assert (tmp_path / "brain" / "tuning.png").exists() and (tmp_path / "brain" / "tuning.nc").exists()
    rec = tmp_path / "rec.nc"
    made = runner.invoke(app, ["record", "--stimuli", "gratings", "--neurons", "12", "--repeats", "3", "-o", str(rec)])
    assert made.exit_code == 0, made.output
    from_file = _run("tuning", "--subject", str(rec), "--out", str(tmp_path / "file"))
    assert set(from_file["per_neuron"]) == set(out["per_neuron"])


@pytest.mark.parametrize("command", [
    ("rf", "--method", "gradient", "--neurons", "8"),
    ("mei", "--neurons", "8", "--units", "0,1", "--steps", "20", "--seeds", "1", "--n-natural", "100"),
    ("lesion", "--neurons", "20", "--draws", "1", "--fractions", "0,1"),
    ("geometry", "--neurons", "30", "--n-stimuli", "300", "--n-boot", "0"),
    ("cards", "--neurons", "8", "--units", "0", "--steps", "10"),
])
def test_each_command_writes_its_outputs(tmp_path, command):
    out = _run(*command, "--out", str(tmp_path))
    written = [v for k, v in out.items() if k in ("figure", "result", "report")]
    assert written and all((tmp_path / p.split("/")[-1]).exists() for p in written)


def test_errors_exit_2_with_a_message():
    result = runner.invoke(app, ["probe", "tuning", "--site", "V2", "--neurons", "5"])
    assert result.exit_code == 2 and "unknown site 'V2'" in result.output
    result = runner.invoke(app, ["probe", "mei", "--subject", "no_such_module:factory"])
    assert result.exit_code == 2 and "cannot import module 'no_such_module'" in result.output


def test_geometry_prints_its_ci_as_formatted_numbers(tmp_path):
    """Issue 18: the geometry line printed the alpha CI as raw floats (or numpy reprs). Three decimals each."""
    import re

    result = runner.invoke(app, ["probe", "geometry", "--neurons", "30", "--n-stimuli", "300", "--n-boot", "20",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert re.search(r"alpha = -?\d+\.\d{3} \(95% CI \[-?\d+\.\d{3}, -?\d+\.\d{3}\]\)", text), text
    assert not re.search(r"\d\.\d{5,}|np\.float|array\(", text), text
