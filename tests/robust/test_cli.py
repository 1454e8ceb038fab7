"""``neurosafe attack`` and ``neurosafe corrupt`` in-process."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from neurosafe.cli import app

runner = CliRunner()


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_help():
    for command in ("attack", "corrupt"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--json" in result.output


def test_attack_digits_json(tmp_path):
    out = _json(runner.invoke(app, ["attack", "--n", "60", "--eps", "8/255,32/255", "--steps", "5",
                                    "--out", str(tmp_path), "--json"]))
    scores = out["scores"]
    assert scores["accuracy_pgd_linf_eps0.1255"]["value"] < scores["accuracy_pgd_linf_eps0.03137"]["value"]
    assert set(out["checks"]) == {"monotone", "beats_noise", "large_eps"}
    assert (tmp_path / "robustness_curve.png").stat().st_size > 0


def test_attack_synthetic_brain_and_npz(tmp_path):
    out = _json(runner.invoke(app, ["attack", "--model", "synthetic-v1", "--data", "natural", "--n", "12",
                                    "--eps", "2/255", "--steps", "3", "--no-checks", "--out", str(tmp_path), "--json"]))
    assert out["measure"] == "output_change"
    s = out["scores"]
    assert s["output_change_pgd_linf_eps0.007843"]["value"] > s["output_change_noise_linf_eps0.007843"]["value"]
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.uniform(0, 1, (6, 1, 16, 16)).astype(np.float32), labels=np.arange(6))
    out = _json(runner.invoke(app, ["attack", "--data", str(path), "--attack", "fgsm", "--norm", "l2",
                                    "--eps", "0.5", "--no-checks", "--out", str(tmp_path), "--json"]))
    assert out["n"] == 6 and "accuracy_fgsm_l2_eps0.5" in out["scores"]


def test_corrupt_figure_and_model(tmp_path):
    out = _json(runner.invoke(app, ["corrupt", "--out", str(tmp_path), "--kinds", "fog,contrast",
                                    "--model", "synthetic-v1", "--n", "8", "--json"]))
    assert (tmp_path / "corruptions.png").stat().st_size > 0
    assert set(out["scores"]["corruption_output_change"]["per_unit"]) == {"fog", "contrast"}


def test_errors_exit_2(tmp_path):
    for args, message in ((["attack", "--eps", "1/0"], "--eps"),
                          (["attack", "--data", str(tmp_path / "missing.npz")], "not found"),
                          (["attack", "--model", "resnet"], "unknown model"),
                          (["corrupt", "--kinds", "snow", "--out", str(tmp_path / "x.png")], "unknown corruptions")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output, result.output


def test_attack_digits_cnn_on_natural_patches(tmp_path):
    """Issue 18: ``attack --model digits-cnn --data natural`` failed (16x16 network, 32x32 patches). The patches
    are now drawn at the network's input size; natural patches carry no labels, so the measure is the change of
    the network's output, and an attack moves it more than noise of the same size."""
    out = _json(runner.invoke(app, ["attack", "--model", "digits-cnn", "--data", "natural", "--n", "12", "--eps",
                                    "8/255", "--steps", "3", "--no-checks", "--out", str(tmp_path), "--json"]))
    assert out["model"] == "digits-cnn" and out["n"] == 12 and out["measure"] == "output_change"
    s = out["scores"]
    assert s["output_change_pgd_linf_eps0.03137"]["value"] > s["output_change_noise_linf_eps0.03137"]["value"]


def test_corruption_example_image_has_visible_content(tmp_path, monkeypatch):
    """Issue 18: the corruption figure's example was nearly black. The clean image drawn (default index) must
    have contrast a reader can see: pixel s.d. of at least 0.1 on the [0, 1] scale and a mean off the floor."""
    from neurosafe.robust import figures

    drawn = []
    real = figures.save_figure
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: drawn.append(fig) or real(fig, path))
    out = _json(runner.invoke(app, ["corrupt", "--data", "natural", "--n", "50", "--kinds", "contrast",
                                    "--out", str(tmp_path / "c.png"), "--json"]))
    assert out["figure"].endswith("c.png") and (tmp_path / "c.png").exists()
    clean = np.asarray(drawn[0].axes[0].images[0].get_array(), dtype=float)
    assert clean.std() >= 0.1 and clean.mean() > 0.15, (clean.mean(), clean.std())
