"""``neurosafe irl fit``: planted default, a held-out run on a trajectories file, and clear errors."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from neurosafe.cli import app
from neurosafe.lossinfer import (
    GridWorld,
    Trajectories,
    navigation_features,
    random_maze,
    sample_episodes,
    save_trajectories,
    soft_value_iteration,
)

runner = CliRunner()


def _run(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def test_help():
    out = _run("irl", "fit", "--help").output
    assert "--json" in out and "--trajectories" in out and "--mazes" in out


def test_planted_default(tmp_path):
    fig = tmp_path / "irl_reward.png"
    out = json.loads(_run("irl", "fit", "--out", str(tmp_path), "--json").stdout)
    assert out["reward_correlation"] >= 0.9 and out["fit"]["converged"]
    ll = {k: v["value"] for k, v in out["heldout_log_likelihood"].items()}
    assert ll["uniform"] < ll["maxent"] <= ll["true_agent"] + 0.05
    assert fig.stat().st_size > 0


def _demo_file(tmp_path) -> str:
    """Six participants per maze, each a soft-optimal agent that likes walking beside walls."""
    mazes = {f"m{i}": random_maze((8, 8), 0.15, goal=True, seed=20 + i) for i in range(2)}
    episodes = []
    for name, rows in mazes.items():
        world = GridWorld.from_strings(rows, discount=0.99)
        pi = soft_value_iteration(world, navigation_features(world) @ np.array([0.0, -2.5, 1.0])).policy
        for p in range(6):
            episodes += list(sample_episodes(world, pi, 8, seed=p, starts="random", maze=name,
                                             participant=f"p{p}"))
    return str(save_trajectories(Trajectories(tuple(episodes), mazes), tmp_path / "demos.json"))


def test_fit_on_a_trajectories_file(tmp_path):
    fig = tmp_path / "out" / "irl_reward.png"
    out = json.loads(_run("irl", "fit", "-t", _demo_file(tmp_path), "--out", str(fig.parent), "--maze", "m1",
                          "--test-fraction", "0.34", "--json").stdout)
    assert out["split"]["test_participants"] == 2 and out["figure_maze"] == "m1"
    ll = {k: v["log_likelihood"]["value"] for k, v in out["heldout"].items()}
    assert ll["maxent"] > ll["shortest_path"] > ll["uniform"]
    assert set(out["weights"]) == {"goal", "step", "beside_wall"}
    assert out["weights"]["beside_wall"] > 0 and fig.exists()
    table = _run("irl", "fit", "-t", _demo_file(tmp_path), "--out", str(fig.parent)).output
    assert "shortest_path" in table and "log-likelihood/step" in table


def test_errors(tmp_path):
    missing = _run("irl", "fit", "-t", str(tmp_path / "none.json"), code=2).output
    assert "no such file" in missing and missing.count("\n") == 1
    zipped = tmp_path / "navtrials_exp1.json.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("navtrials.json", "{}")
    assert "pass the maze files" in _run("irl", "fit", "-t", str(zipped), code=2).output
    path = _demo_file(tmp_path)
    payload = json.loads(open(path).read())
    payload["mazes"]["m0"] = [r.replace("S", ".") for r in payload["mazes"]["m0"]]
    (tmp_path / "nostart.json").write_text(json.dumps(payload))
    assert "exactly one start" in _run("irl", "fit", "-t", str(tmp_path / "nostart.json"), code=2).output
    payload = json.loads(open(path).read())
    payload["steps"]["action"][0] = "?"
    (tmp_path / "badaction.json").write_text(json.dumps(payload))
    assert "unknown action symbol" in _run("irl", "fit", "-t", str(tmp_path / "badaction.json"), code=2).output


@pytest.mark.parametrize("shift", [(0, 20), (-30, 0)])
def test_a_step_off_the_grid_is_reported(tmp_path, shift):
    payload = json.loads(open(_demo_file(tmp_path)).read())
    steps = payload["steps"]
    steps["next_row"][0] += shift[0]
    steps["next_col"][0] += shift[1]
    steps["row"][1] += shift[0]
    steps["col"][1] += shift[1]
    (tmp_path / "off.json").write_text(json.dumps(payload))
    assert "leaves the 8x8 grid" in _run("irl", "fit", "-t", str(tmp_path / "off.json"), code=2).output
