"""``neurosafe twin fit A B``, ``twin transfer``, ``twin compare`` and ``import cowley2023 --session``."""

import json

import pytest
from typer.testing import CliRunner

from neurosafe.cli.app import app
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.data.io import Recording, save_netcdf

FAST = ["--epochs", "1", "--channels", "4"]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """Three sessions of one synthetic brain (different neurons and images); C has no repeats."""
    root = tmp_path_factory.mktemp("sessions")
    brain = SyntheticBrain(n_neurons=18, seed=0, image_size=16, snr_range=(1.0, 3.0), n_calibration=200)
    paths = []
    for k, name in enumerate("abc"):
        stim = natural_patches(60, 16, seed=10 + k)
        resp = brain.record(stim, repeats=3, seed=20 + k).isel(neuron=slice(6 * k, 6 * k + 6))
        if name == "c":
            resp = resp.mean("repeat")
        resp = resp.assign_attrs(session=name)
        save_netcdf(Recording(resp, stim), root / f"{name}.nc")
        paths.append(root / f"{name}.nc")
    return paths


def test_fit_two_sessions_transfer_and_compare(sessions, tmp_path):
    a, b, c = (str(p) for p in sessions)
    res = CliRunner().invoke(app, ["twin", "fit", a, b, "--out", str(tmp_path / "run"), *FAST, "--json"])
    assert res.exit_code == 0, res.output
    fit = json.loads(res.stdout)
    assert set(fit["sessions"]) == {"a", "b"} and fit["n_neurons"] == 12
    res = CliRunner().invoke(app, ["twin", "eval", str(tmp_path / "run"), a, "--json", "--n-boot", "0"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["stimuli"] == "held-out split"
    res = CliRunner().invoke(app, ["twin", "transfer", str(tmp_path / "run"), c, "--out", str(tmp_path / "moved"),
                                   "--readout", "linear", "--json"])
    assert res.exit_code == 0, res.output
    moved = json.loads(res.stdout)
    assert moved["session"] == "c" and moved["ceiling_free"] and moved["n_neurons"] == 6
    res = CliRunner().invoke(app, ["twin", "compare", b, c, "--twin", str(tmp_path / "run"), "--out",
                                   str(tmp_path / "cmp"), "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    assert "twin compare" in res.output  # the table (its cells wrap on a narrow terminal)
    cmp = json.loads((tmp_path / "cmp" / "results.json").read_text())
    assert set(cmp["sessions"]) == {"b", "c"} and cmp["sessions"]["c"]["models"]["twin"]["ceiling_free"]
    assert set(cmp["sessions"]["b"]["models"]) == {"ridge_pixels", "ridge_v1_front_end", "ridge_twin_core", "twin"}
    assert (tmp_path / "cmp" / "compare.png").exists()


@pytest.mark.parametrize("args, fragment", [
    (["twin", "transfer", "nowhere", "C", "--out", "OUT"], "not a twin run folder"),
    (["import", "ecker2010", "x.mat", "--out", "OUT", "--session", "1"], "cowley2023 only"),
    (["import", "cowley2023", "DIR", "--out", "OUT", "--session", "999"], "Cowley session '999' not found"),
])
def test_errors_exit_2(args, fragment, sessions, tmp_path):
    args = [str(sessions[2]) if a == "C" else str(tmp_path / "o.nc") if a == "OUT" else str(tmp_path) if a == "DIR"
            else a for a in args]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert fragment in res.output


def test_transfer_tunes_the_readout_penalties_on_validation_stimuli(sessions, tmp_path):
    from neurosafe.twin import DigitalTwin

    a, b = str(sessions[0]), str(sessions[1])
    res = CliRunner().invoke(app, ["twin", "fit", a, "--out", str(tmp_path / "run"), *FAST, "--json"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["twin", "transfer", str(tmp_path / "run"), b, "--out", str(tmp_path / "moved"),
                                   "--readout", "factorized", "--tune", "l1=1e-4,0.05", "--tune", "smooth=0,0.01",
                                   "--json"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    tuning = result["tuning"]
    assert len(tuning["table"]) == 4  # every combination
    assert {(row["l1"], row["smooth"]) for row in tuning["table"]} == {(1e-4, 0), (1e-4, 0.01), (0.05, 0), (0.05, 0.01)}
    best = max(tuning["table"], key=lambda row: row["val_median_r"])
    assert tuning["chosen"] == {"l1": best["l1"], "smooth": best["smooth"]}
    # 80% of b's 60 stimuli train the transfer; a fifth of those (10) validate the candidates
    assert tuning["n_validation"] == 10 and tuning["n_train"] == 38
    saved = DigitalTwin.load(tmp_path / "moved" / "twin")
    assert saved.config.readout.kind == "factorized"
    assert (saved.config.readout.l1, saved.config.readout.smooth) == (best["l1"], best["smooth"])
    res = CliRunner().invoke(app, ["twin", "transfer", str(tmp_path / "run"), b, "--out", str(tmp_path / "m2"),
                                   "--readout", "factorized", "--tune", "l1=1e-4,0.05"])
    assert res.exit_code == 0, res.output
    assert "penalties chosen on 10 validation stimuli: l1=" in res.output


@pytest.mark.parametrize("tune, fragment", [
    (["--tune", "l1"], "--tune must be PENALTY=V1,V2"),
    (["--tune", "l1=a,b"], "values must be numbers"),
    (["--tune", "l1=1", "--tune", "l1=2"], "given twice"),
    (["--tune", "dropout=0.1"], "cannot tune readout.dropout"),
    (["--readout", "linear", "--tune", "l1=1e-3"], "tuned in closed form"),
])
def test_transfer_tune_errors_exit_2(tune, fragment, sessions, tmp_path):
    res = CliRunner().invoke(app, ["twin", "fit", str(sessions[0]), "--out", str(tmp_path / "run"), *FAST])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["twin", "transfer", str(tmp_path / "run"), str(sessions[1]), "--out",
                                   str(tmp_path / "moved"), *tune])
    assert res.exit_code == 2, res.output
    assert fragment in res.output
