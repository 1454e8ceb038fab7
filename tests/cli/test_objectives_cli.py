import json

from typer.testing import CliRunner

from neurosafe.cli import app
from neurosafe.data.io import save_netcdf
from neurosafe.data.stimuli import natural_patches
from neurosafe.data.synthetic import SyntheticBrain

runner = CliRunner()
TINY = ["--objectives", "random,autoencoding", "--epochs", "1", "--n-images", "32"]


def test_recover_then_compare(tmp_path, monkeypatch):
    from neurosafe.subjects.store import STORE_ENV

    monkeypatch.delenv(STORE_ENV, raising=False)
    store = tmp_path / "rec" / "models"  # recover's networks are its cache: under --out by default
    res = runner.invoke(app, ["objectives", "recover", *TINY, "--candidate-seeds", "0", "--brain-seeds", "5",
                              "--brain-widths", "8,8,8", "--n-stimuli", "40,60", "--n-neurons", "12",
                              "--repeats", "2", "--metrics", "ridge,cka", "--out", str(tmp_path / "rec"), "--json"])
    assert res.exit_code == 0, res.output
    assert len(list(store.iterdir())) >= 4 and sorted(p.name for p in tmp_path.iterdir()) == ["rec"]
    out = json.loads(res.stdout)
    assert out["objectives"] == ["autoencoding", "random"]
    assert {r["n_stimuli"] for r in out["accuracy"]["consensus"]} == {40, 60}
    # the decision rule: chosen among every kind x metric on the 4 default development seeds' 8 brains,
    # then reported on the held-out brain seed (2 brains)
    rules = [f"{k}:{m}" for k in ("mean", "max", "profile", "pattern") for m in ("ridge", "cka", "ridge+cka")]
    assert out["development"]["n_brains"] == 8 and [r["rule"] for r in out["development"]["rules"]] == rules
    assert out["rule"] in rules and out["confusion"]["rule"] == out["rule"]
    assert all(r["n_brains"] == 2 for r in out["accuracy"][out["rule"]])
    assert sum(sum(row.values()) for row in out["confusion"]["counts"].values()) == 2
    assert (tmp_path / "rec" / "confusion.png").exists() and (tmp_path / "rec" / "identifiability.png").exists()

    stimuli = natural_patches(40, 16, seed=3)
    rec = SyntheticBrain(n_neurons=10, seed=0, image_size=16).record(stimuli, repeats=2)
    save_netcdf(rec, tmp_path / "rec.nc", stimuli)
    res = runner.invoke(app, ["objectives", "compare", str(tmp_path / "rec.nc"), "--store", str(store),
                              "--metrics", "ridge,cka", "--n-boot", "20", "--out", str(tmp_path / "cmp"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out["winners"]) == {"ridge", "cka"} and out["consensus"] in ("autoencoding", "random")
    assert len(out["networks"]) == 4 and (tmp_path / "cmp" / "comparison.png").exists()


def test_errors_are_one_line(tmp_path):
    res = runner.invoke(app, ["objectives", "compare", str(tmp_path / "missing.nc")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    res = runner.invoke(app, ["objectives", "recover", "--brain-widths", "16,32,64", "--store", str(tmp_path)])
    assert res.exit_code == 2 and "held out" in res.output and len(res.output.strip().splitlines()) == 1
