"""``neurosafe probe sae | patch | controversial``: end to end (small), JSON, figures, and one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from neurosafe.cli.app import app

runner = CliRunner()


def _run(*args: str) -> dict:
    result = runner.invoke(app, ["probe", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_probe_patch_on_the_planted_circuit(tmp_path):
    out = _run("patch", "--pairs", "100", "--out", str(tmp_path))
    assert out["path"] == [0, 1, 2, 3] and out["path_effect"]["ci"][0] > 0
    lo, hi = out["random_effect"]["ci"]
    assert lo <= 0 <= hi and not set(out["random_path"]) & set(out["path"])
    assert out["mediation"]["indirect"]["ci"][0] > 0 and (tmp_path / "patch.png").exists()
    bad = runner.invoke(app, ["probe", "patch", "--site", "act9", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "act1" in bad.output and "Traceback" not in bad.output


def test_probe_sae_on_the_synthetic_brain_with_feature_cards(tmp_path):
    out = _run("sae", "--neurons", "20", "--n-stimuli", "300", "--method", "topk", "--k", "3", "--features", "16",
               "--epochs", "5", "--cards", "1", "--steps", "5", "--out", str(tmp_path))
    m = out["metrics"]
    assert 0 < m["fve"] <= 1 and m["l0"] <= 3 and m["n_samples"] == 300
    assert (tmp_path / "sae.png").exists() and (tmp_path / "feature_cards.html").exists()
    bad = runner.invoke(app, ["probe", "sae", "--features", "0", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--features" in bad.output


def test_probe_controversial_small(tmp_path):
    out = _run("controversial", "--neurons", "6", "--steps", "10", "--seeds", "1", "--repeats", "2", "--out",
               str(tmp_path))
    assert set(out) >= {"controversial", "natural", "difference", "figure"}
    assert (tmp_path / "controversial.png").exists()
    shown = runner.invoke(app, ["probe", "controversial", "--neurons", "4", "--steps", "3", "--seeds", "1",
                                "--repeats", "2", "--out", str(tmp_path / "progress")])
    assert shown.exit_code == 0 and "gradient ascent" in shown.stderr and "3/3 items" in shown.stderr


def test_probe_sae_on_a_zoo_network_reports_the_downstream_loss(tmp_path):
    out = _run("sae", "--subject", "cnn_small", "--site", "pool2", "--n-stimuli", "40", "--method", "topk", "--k", "4",
               "--features", "32", "--epochs", "3", "--out", str(tmp_path))
    down = out["downstream"]
    assert down["clean"] == 0 and down["spliced"] < down["zero_ablated"]
    assert out["n_samples"] == 40 * 8 * 8  # one sample per position of the 8 x 8 map of the second block


def test_probe_patch_progress_is_plain_lines_and_quiet_with_json(tmp_path, progress_lines):
    quiet = runner.invoke(app, ["probe", "patch", "--pairs", "20", "--doses", "0,1", "--out", str(tmp_path),
                                "--json"])
    assert quiet.exit_code == 0, quiet.output
    assert progress_lines() == []
    loud = runner.invoke(app, ["probe", "patch", "--pairs", "20", "--doses", "0,1", "--out", str(tmp_path)])
    assert loud.exit_code == 0, loud.output
    lines = progress_lines()
    assert lines[0] == "patching, mediation and stimulation: started, 4 steps"
    assert lines[-1].startswith("patching, mediation and stimulation: 4/4 steps") and lines[-1].endswith("(done)")
