import json

import pytest
from typer.testing import CliRunner

from neurosafe.cli.app import app
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.data.io import Recording, save_netcdf

FAST = ["--epochs", "2", "--channels", "4"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "rec.nc"
    brain = SyntheticBrain(n_neurons=8, seed=0, image_size=16, snr_range=(1.0, 3.0), n_calibration=200)
    stim = natural_patches(150, 16, seed=1)
    save_netcdf(Recording(brain.record(stim, repeats=4, seed=2), stim), path)
    return path


@pytest.fixture(scope="module")
def fitted(recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "twin"
    res = CliRunner().invoke(app, ["twin", "fit", str(recording), "--out", str(out), *FAST, "--json"])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


def test_fit_writes_a_twin_split_and_checkpoint(fitted):
    out, summary = fitted
    assert {p.name for p in out.iterdir()} >= {"twin", "split.json", "checkpoint"}
    assert summary["n_test_stimuli"] == 30 and summary["n_train_stimuli"] == 120 and summary["epochs"] == 2


def test_eval_json_scores_the_held_out_split(fitted, recording):
    out, _ = fitted
    res = CliRunner().invoke(app, ["twin", "eval", str(out), str(recording), "--json", "--n-boot", "20"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["stimuli"] == "held-out split" and data["n_stimuli"] == 30
    assert isinstance(data["feve"], float) and isinstance(data["fraction_of_ceiling"], float)
    assert len(data["per_neuron"]) == 8 and "feve" in data["per_neuron"]["v1_0000"]
    everything = json.loads(
        CliRunner()
        .invoke(app, ["twin", "eval", str(out), str(recording), "--json", "--all-stimuli", "--n-boot", "0"])
        .stdout
    )
    assert everything["n_stimuli"] == 150


def test_eval_table(fitted, recording):
    res = CliRunner().invoke(app, ["twin", "eval", str(fitted[0]), str(recording), "--n-boot", "0"])
    assert res.exit_code == 0 and "feve" in res.output


def test_fit_resume_and_config_file(recording, tmp_path):
    cfg = tmp_path / "twin.yaml"
    cfg.write_text(
        "core:\n  kernel_sizes: [5]\n  channels: 3\nreadout:\n  kind: factorized\ntrain:\n  epochs: 2\n"
    )
    out = tmp_path / "t"
    res = CliRunner().invoke(
        app, ["twin", "fit", str(recording), "--out", str(out), "--config", str(cfg), "--json"]
    )
    assert res.exit_code == 0, res.output
    again = CliRunner().invoke(
        app, ["twin", "fit", str(recording), "--out", str(out), "--config", str(cfg), "--resume", "--json"]
    )
    assert again.exit_code == 0 and json.loads(again.stdout)["epochs"] == 2  # nothing left to train
    saved = json.loads((out / "twin" / "twin.json").read_text())["config"]
    assert saved["readout"]["kind"] == "factorized" and saved["core"]["kernel_sizes"] == [5]


def test_scaling_json_writes_results_and_figure(recording, tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "twin",
            "scaling",
            str(recording),
            "--out",
            str(tmp_path),
            "--stimuli",
            "40,90",
            "--repeats",
            "1,4",
            "--epochs",
            "2",
            "--n-boot",
            "20",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (
        len(data["cells"]) == 4
        and (tmp_path / "scaling.png").exists()
        and (tmp_path / "results.json").exists()
    )
    assert set(data["fits"]) | set(data["fit_errors"]) == {"sigmoid", "power"}


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["twin", "fit", "missing.nc", "--out", "x"], "no such file"),
        (["twin", "eval", "nowhere", "missing.nc"], "no such file"),
        (["twin", "scaling", "REC", "--stimuli", "a,b"], "comma-separated integers"),
        (["twin", "fit", "REC", "--out", "OUT", "--config", "nope.yaml"], "no such config"),
        (["twin", "scaling", "REC", "--backend", "local", "--stimuli", "100000"], "n_stimuli"),
    ],
)
def test_errors_exit_2_with_a_message(args, fragment, recording, tmp_path):
    args = [str(recording) if a == "REC" else str(tmp_path / "o") if a == "OUT" else a for a in args]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert fragment in res.output


def test_help():
    for cmd in ("fit", "eval", "scaling"):
        res = CliRunner().invoke(app, ["twin", cmd, "--help"])
        assert res.exit_code == 0 and "--json" in res.output


def test_resume_without_epochs_stops_at_the_epochs_it_was_started_with(fitted, recording, tmp_path):
    import shutil

    out = tmp_path / "twin"
    shutil.copytree(fitted[0], out)
    res = CliRunner().invoke(app, ["twin", "fit", str(recording), "--out", str(out), "--resume", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["epochs"] == 2  # started with --epochs 2: nothing left to train


def test_scaling_writes_partial_results_and_resumes(recording, tmp_path, monkeypatch):
    from neurosafe.twin import scaling

    args = ["twin", "scaling", str(recording), "--out", str(tmp_path), "--stimuli", "40,90", "--repeats", "4",
            "--epochs", "1", "--n-boot", "0", "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    partial = json.loads((tmp_path / "partial.json").read_text())
    assert sorted(partial["budgets"]) == ["40", "90"]

    def no_training(*a, **k):
        raise AssertionError("a finished budget was fitted again")

    monkeypatch.setattr(scaling, "fit_twin", no_training)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["cells"] == json.loads(first.stdout)["cells"]


def test_fit_with_bfloat16_precision_records_it_and_bad_values_are_refused(recording, tmp_path):
    out = tmp_path / "mixed"
    res = CliRunner().invoke(app, ["twin", "fit", str(recording), "--out", str(out), *FAST, "--precision",
                                   "bfloat16", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "fit_config.json").read_text())["train"]["precision"] == "bfloat16"
    assert json.loads(res.stdout)["epochs"] == 2
    bad = CliRunner().invoke(app, ["twin", "fit", str(recording), "--out", str(tmp_path / "x"), "--precision",
                                   "float16"])
    assert bad.exit_code == 2 and "float16" in bad.output and "Traceback" not in bad.output
