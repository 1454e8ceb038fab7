import json

import pytest
from typer.testing import CliRunner

from neurosafe.cli import app

runner = CliRunner()


def _run(*args):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("command", ["record", "import", "info", "reliability", "demo"])
def test_every_command_has_help(command):
    out = _run(command, "--help").output
    assert "--json" in out and "Usage" in out


def test_record_info_reliability_json(tmp_path):
    nc = tmp_path / "rec.nc"
    rec = json.loads(_run("record", "--out", str(nc), "--neurons", "12", "--n-stimuli", "60", "--repeats", "4",
                          "--json").stdout)
    assert rec["neurons"] == 12 and nc.exists()
    info = json.loads(_run("info", str(nc), "--json").stdout)
    assert info["responses"]["dims"] == {"stimulus": 60, "neuron": 12, "repeat": 4}
    assert info["stimuli"]["n"] == 60
    rel = json.loads(_run("reliability", str(nc), "--json", "--n-splits", "10", "--out",
                          str(tmp_path)).stdout)
    assert set(rel["per_neuron"]) == {f"v1_{i:04d}" for i in range(12)}
    assert -1 <= rel["median_split_half"] <= 1 and rel["split_half"]["ci"] is not None
    assert (tmp_path / "rec_reliability.png").exists()


def test_record_gratings_and_tables(tmp_path):
    nc = tmp_path / "g.nc"
    _run("record", "--out", str(nc), "--neurons", "5", "--stimuli", "gratings", "--repeats", "3")
    assert "responses" in _run("info", str(nc)).output
    assert "split_half" in _run("reliability", str(nc), "--n-splits", "5", "--out", str(tmp_path)).output


def test_bad_input_exits_2_with_a_message(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("junk")
    result = runner.invoke(app, ["info", str(bad)])
    assert result.exit_code == 2 and "not a readable netCDF" in result.output
    result = runner.invoke(app, ["record", "--out", str(tmp_path / "x.nc"), "--area", "IT"])
    assert result.exit_code == 2 and "area must be" in result.output
    result = runner.invoke(app, ["import", "cowley2023", str(tmp_path), "--out", str(tmp_path / "y.nc")])
    assert result.exit_code == 2 and "not found" in result.output


def test_reliability_without_repeats_is_a_clear_error(tmp_path):
    nc = tmp_path / "one.nc"
    _run("record", "--out", str(nc), "--neurons", "4", "--n-stimuli", "20", "--repeats", "1")
    result = runner.invoke(app, ["reliability", str(nc), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "at least 2 valid repeats" in result.output


def test_demo_writes_report(tmp_path):
    out = tmp_path / "demo"
    res = json.loads(_run("demo", "--out", str(out), "--neurons", "20", "--n-stimuli", "120", "--json").stdout)
    for name in ("report.html", "results.json", "recording.nc", "reliability.png", "fev_ground_truth.png"):
        assert (out / name).exists()
    assert res["fev_ground_truth_mae"] < 0.08
    html = (out / "report.html").read_text()
    assert "reliability.png" in html and "Provenance" in html


def test_info_describes_a_file_with_a_dead_neuron_and_flags_it(tmp_path):
    """Issue 18: ``info`` refused to describe a file with one all-NaN neuron. It now reads it leniently, names the
    dead neuron (JSON and a warning line); analyses still read strictly and reject the file in one line."""
    import numpy as np

    from neurosafe.core.errors import DataValidationError
    from neurosafe.data.io import Recording, load_recording, save_netcdf
    from neurosafe.data.recording import make_responses

    values = np.random.default_rng(0).standard_normal((6, 3, 2))
    values[:, 1] = np.nan
    da = make_responses(np.nan_to_num(values), [f"s{i}" for i in range(6)], ["a", "b", "c"]).copy(data=values)
    nc = tmp_path / "dead.nc"
    save_netcdf(Recording(da, allow_dead=True), nc)
    info = json.loads(_run("info", str(nc), "--json").stdout)
    assert info["responses"]["dead_neurons"] == ["b"] and info["responses"]["dead_stimuli"] == []
    assert info["responses"]["dims"] == {"stimulus": 6, "neuron": 3, "repeat": 2}
    assert "1 neurons with no valid response (all NaN): b" in " ".join(_run("info", str(nc)).output.split())
    with pytest.raises(DataValidationError, match=r"all NaN\): 'b'"):
        load_recording(nc)
    strict = runner.invoke(app, ["reliability", str(nc)])
    assert strict.exit_code == 2 and "all NaN" in strict.output and "Traceback" not in strict.output
