"""``neurosafe rules simulate | identify | fit``: JSON, figures, --out, one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from neurosafe.cli import app
from tests.rules.conftest import HELD_OUT

runner = CliRunner()


def _run(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def test_simulate_json_figure_and_resume(tmp_path):
    args = ("rules", "simulate", "--out", str(tmp_path), "--rules", "sgd,fa", "--tasks", "regression",
            "--architectures", "mlp-d1-w8", "--networks", "2", "--steps", "4", "--logs", "2", "--units", "3,0",
            "--noise", "0.5", "--json")
    out = json.loads(_run(*args).stdout)
    assert out["n_networks"] == 4 and out["rules"] == ["fa", "sgd"]
    assert out["conditions"] == [{"units": 3, "noise": 0.0}, {"units": 0, "noise": 0.0}, {"units": 0, "noise": 0.5}]
    assert (tmp_path / "observables.png").stat().st_size > 0 and len(list((tmp_path / "groups").iterdir())) == 2
    assert json.loads(_run(*args).stdout)["n_networks"] == 4  # resumed: nothing left to run


def test_identify_writes_accuracy_and_figures(rules_run, tmp_path):
    folder, _ = rules_run
    out = json.loads(_run("rules", "identify", str(folder), "--out", str(tmp_path), "--held-out", HELD_OUT,
                          "--time-strides", "1,2", "--n-boot", "200", "--json").stdout)
    acc = out["accuracy"]["all"]
    assert out["held_out"] == [HELD_OUT] and acc["ci"][0] <= acc["value"] <= acc["ci"][1]
    assert {r["time_stride"] for r in out["curves"]} == {1, 2}
    assert {r["units"] for r in out["curves"]} == {5, 0}
    for name in ("confusion.png", "accuracy_vs_units.png", "identification.json"):
        assert (tmp_path / name).stat().st_size > 0
    text = _run("rules", "identify", str(folder), "--out", str(tmp_path), "--held-out", HELD_OUT,
                "--n-boot", "50").output
    assert "held-out accuracy" in text


def test_fit_small_oja(tmp_path):
    out = json.loads(_run("rules", "fit", "--out", str(tmp_path), "--units", "8", "--steps", "100",
                          "--profile-points", "3", "--json").stdout)
    assert out["recovered_within_5pct"] and len(out["profiles"]) == 3
    assert (tmp_path / "plasticity_profile.png").stat().st_size > 0


def test_one_line_errors(tmp_path):
    res = _run("rules", "simulate", "--out", str(tmp_path), "--rules", "sgd,rmsprop", code=2)
    assert "rules" in res.output and "Traceback" not in res.output
    res = _run("rules", "simulate", "--out", str(tmp_path), "--architectures", "rnn", code=2)
    assert "KIND-dDEPTH" in res.output
    res = _run("rules", "identify", str(tmp_path / "nothing"), code=2)
    assert "not a rules simulation folder" in res.output
    res = _run("rules", "fit", "--out", str(tmp_path), "--steps", "1", code=2)
    assert "steps" in res.output
