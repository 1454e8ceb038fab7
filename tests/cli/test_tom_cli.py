"""``neurosafe tom infer``, ``neurosafe tom fit`` and ``neurosafe rsa-game``: JSON output, figures, one-line
errors with exit code 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from neurosafe.cli import app
from neurosafe.core.seeds import make_rng

runner = CliRunner()
TINY = {"name": "tiny", "map": ["....", ".#..", "...."], "spots": {"A": [0, 0], "B": [2, 0]},
        "trucks": {"A": "K", "B": "L"}, "start": [0, 3], "path": [[1, 3], [0, 3], [0, 2], [0, 1], [0, 0]],
        "model": {"desire_levels": [0, 5, 10], "belief_resolution": 4}}


def _run(*args, code=0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def test_tom_infer_json_and_figure(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    out = json.loads(_run("tom", "infer", path, "--out", tmp_path / "o", "--json").stdout)
    # saw L behind the wall and went back to K: K rated above L, L believed less likely than before
    assert out["desire_rating"]["K"] > out["desire_rating"]["L"]
    assert len(out["over_time"]["desire_rating"]) == len(TINY["path"]) + 2  # prior, moves, eating
    assert (tmp_path / "o" / "posterior.png").stat().st_size > 0
    assert json.loads((tmp_path / "o" / "posterior.json").read_text())["scenario"] == "tiny"


def test_tom_fit_on_planted_table(tmp_path):
    from neurosafe.cognitive import load_scenario
    from neurosafe.cognitive.fitting import model_predictions

    (tmp_path / "sc").mkdir()
    scenarios = {}
    for name, path in {"back": TINY["path"], "direct": [[0, 2], [0, 1], [0, 0]]}.items():
        spec = {**TINY, "name": name, "path": path}
        (tmp_path / "sc" / f"{name}.json").write_text(json.dumps(spec))
        scenarios[name] = load_scenario(spec)
    truth = model_predictions(scenarios, "btom", 1.0)
    rng = make_rng(0, "test")
    rows = [{"scenario": s, "question": q, "option": o, "rating": v + rng.normal(0, 0.3), "participant": p}
            for p in range(6) for (s, q, o), v in truth.items()]
    pd.DataFrame(rows).to_csv(tmp_path / "j.csv", index=False)
    out = json.loads(_run("tom", "fit", tmp_path / "j.csv", "--scenarios", tmp_path / "sc", "--betas", "1,4",
                          "--n-boot", "50", "--out", tmp_path / "f", "--json").stdout)
    assert out["models"]["btom"]["beta"] == 1.0 and out["models"]["btom"]["r"] > 0.8
    assert (tmp_path / "f" / "fit.png").exists()


def test_rsa_game_json(tmp_path):
    game = {"referents": ["plain", "glasses", "glasses_hat"],
            "semantics": {"glasses": ["glasses", "glasses_hat"], "hat": ["glasses_hat"], "nothing": ["plain"]}}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(game))
    out = json.loads(_run("rsa-game", path, "--alpha", "1", "--out", tmp_path / "r", "--json").stdout)
    assert out["listener"]["glasses"]["glasses"] == pytest.approx(0.75)


@pytest.mark.parametrize(("args", "message"), [
    (["tom", "infer", "missing.json"], "not found"),
    (["rsa-game", "missing.json"], "not found"),
    (["tom", "fit", "j.csv", "--scenarios", "nowhere"], "folder not found"),
])
def test_bad_input_one_line_exit_2(tmp_path, args, message):
    result = runner.invoke(app, [*args[:2], *[str(tmp_path / a) if a.endswith((".json", ".csv")) or a == "nowhere"
                                               else a for a in args[2:]]])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_tom_counterfactual_json_and_errors(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    out = json.loads(_run("tom", "counterfactual", path, "--intervene", "visible=1", "--query", "eats:A",
                          "--samples", "200", "--out", tmp_path / "cf", "--json").stdout)
    assert out["factual_value"] == 1.0 and 0.0 <= out["value"] <= 1.0
    assert set(out["queries"]) == {"eats:A", "eats:B", "looks:A", "looks:B", "detour", "moves"}
    assert (tmp_path / "cf" / "counterfactual.png").stat().st_size > 0
    for args, message in [(["--intervene", "wall=1"], "unknown intervention"), (["--query", "eats:Z"], "unknown query"),
                          (["--intervene", "visible"], "SITE=VALUE")]:
        result = runner.invoke(app, ["tom", "counterfactual", str(path), *args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
