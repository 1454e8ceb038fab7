import json

from typer.testing import CliRunner

from neurosafe.cli.app import app

TINY = ["--trials", "5", "--steps", "60", "--bc-epochs", "5", "--dagger", "1"]


def test_turing_json_writes_results_and_figure(tmp_path):
    res = CliRunner().invoke(app, ["embodied", "turing", *TINY, "--n-perm", "50", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) >= {"twin", "phase-scrambled twin", "figures"}
    assert out["twin"]["verdict"].startswith(("indistinguishable", "distinguishable"))
    assert (tmp_path / "turing.json").exists() and (tmp_path / "turing.png").exists()
    assert (tmp_path / "twin_seed0.ckpt").exists()


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    for args in (["fit", "--trials", "2"], ["probe", "--seeds", "1"], ["probe", "--forces", "a,b"]):
        res = CliRunner().invoke(app, ["embodied", *args, "--out", str(tmp_path)])
        assert res.exit_code == 2, res.output
        assert "error:" in res.output and "Traceback" not in res.output
