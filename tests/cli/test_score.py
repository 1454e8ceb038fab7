"""`neurosafe score` in-process: table/JSON per site, figure and scores file, clear errors."""

import json

import pytest
import xarray as xr
from typer.testing import CliRunner

from neurosafe.cli import app
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.data.io import Recording, save_netcdf
from neurosafe.metrics import rdm

runner = CliRunner()


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    brain = SyntheticBrain(20, "V1", seed=0, noise="gaussian")
    stimuli = natural_patches(120, 32, seed=1)
    responses = brain.record(stimuli, repeats=6, seed=2)
    path = tmp_path_factory.mktemp("score") / "rec.nc"
    halves = [rdm(responses.isel(repeat=slice(k, None, 2))).expand_dims(rdm=[f"half{k}"]) for k in (0, 1)]
    save_netcdf(Recording(responses, stimuli, extras={"halves": xr.concat(halves, dim="rdm")}), path)
    return path


def test_help():
    result = runner.invoke(app, ["score", "--help"])
    assert result.exit_code == 0 and "--metric" in result.output and "--json" in result.output


def test_ridge_json_figure_and_cache(recording, tmp_path):
    args = ["score", "--model", "v1_frontend", "--data", str(recording), "--sites", "gabor,normalize",
            "--sites", "relu", "--pool", "4", "--n-boot", "20", "--out", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [s["site"] for s in out["sites"]] == ["gabor", "normalize", "relu"]
    assert out["committed_site"] in {"gabor", "normalize", "relu"}
    assert out["committed"]["ceiling"] is not None
    assert (tmp_path / "out" / "layers.png").exists()
    assert json.loads((tmp_path / "out" / "scores.json").read_text())["committed_site"] == out["committed_site"]
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3
    again = runner.invoke(app, args[:-1])  # table output, served from the cache
    assert again.exit_code == 0 and "committed" in again.output


def test_rsa_against_stored_rdms_and_a_model_file(recording, tmp_path):
    file = tmp_path / "net.py"
    file.write_text("import torch\n\ndef build(in_channels=1):\n    return torch.nn.Sequential(\n"
                    "        torch.nn.Conv2d(in_channels, 4, 5), torch.nn.ReLU(), torch.nn.Flatten())\n")
    result = runner.invoke(app, ["score", "--model", f"{file}:build", "--data", str(recording), "--metric", "rsa",
                                 "--reference", "halves", "--n-boot", "10", "--out", str(tmp_path), "--no-cache",
                                 "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [s["site"] for s in out["sites"]] == ["0", "1", "2"]
    assert out["committed"]["ceiling"] is not None


@pytest.mark.parametrize(("extra", "message"), [
    (["--sites", "normalise"], "normalize"),
    (["--reference", "nothing"], "no extra array"),
    (["--model", "resnet50"], "unknown model 'resnet50'"),
])
def test_errors_exit_2_with_a_message(recording, tmp_path, extra, message):
    args = ["score", "--model", "v1_frontend", "--data", str(recording), "--out", str(tmp_path), "--no-cache",
            *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output
