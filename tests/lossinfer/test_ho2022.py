"""Ho et al. 2022 loader: a hand-made file in the published layout, bad files, and the real experiment 1
data (counts from the data's README and an independent pandas reading; held-out model comparison)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from neurosafe.core.errors import DataFileError
from neurosafe.lossinfer import build_worlds, heldout_comparison, load_ho2022

MAZE = ["....G", ".#...", ".....", "..1..", "S...."]


def _write(tmp_path, rows: list[dict]) -> None:
    (tmp_path / "mazes_0-0.json").write_text(json.dumps({"grid-0-0": MAZE}))
    cols = {k: {str(i): r[k] for i, r in enumerate(rows)} for k in rows[0]}
    with zipfile.ZipFile(tmp_path / "navtrials_exp1.json.zip", "w") as zf:
        zf.writestr("navtrials.json", json.dumps(cols))


def _steps(session: str, trans: str, screen_path: list, actions: str) -> list[dict]:
    """Rows in the published layout from an on-screen path of [x, y] (y counted from the bottom)."""
    flip_x = trans in ("hflip", "rot180")
    rows = []
    for t, (xy, a) in enumerate(zip(screen_path[:-1], actions, strict=True)):
        base = [4 - xy[0] if flip_x else xy[0], xy[1]]
        rows.append({"state": base, "state_type": MAZE[4 - base[1]][base[0]], "action": a,
                     "nextstate": screen_path[t + 1], "trans_state": xy, "sessionId": session, "round": 0,
                     "trialnum": t, "grid": 0, "trans": trans, "gridname": f"grid-0-0-{trans}"})
    return rows


BASE_PATH = [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [4, 0], [4, 1], [4, 2], [4, 3], [4, 4]]
HFLIP_PATH = [[4 - x, y] for x, y in BASE_PATH]


def test_hand_made_file(tmp_path):
    rows = _steps("p1", "base", BASE_PATH, ">>>>>^^^^") + _steps("p2", "hflip", HFLIP_PATH, "<<<<<^^^^")
    _write(tmp_path, rows[::-1])  # row order must not matter: steps are sorted by trialnum
    demos = load_ho2022(tmp_path)
    assert len(demos) == 2 and demos.participants == ["p1", "p2"]
    base, flipped = demos.episodes
    assert base.maze == "grid-0-0-base" and flipped.maze == "grid-0-0-hflip"
    assert demos.mazes["grid-0-0-hflip"] == tuple(r[::-1] for r in MAZE)
    # on screen (row, col): row = 4 - y
    assert base.states[:6].tolist() == [[4, 0], [4, 1], [4, 2], [4, 3], [4, 4], [4, 4]]
    assert base.next_states[-1].tolist() == [0, 4]
    assert flipped.states[:2].tolist() == [[4, 4], [4, 3]] and flipped.next_states[-1].tolist() == [0, 0]
    assert base.actions == tuple(">>>>>^^^^")


@pytest.mark.parametrize("corrupt, message", [
    (lambda r: r.pop("trans_state"), "columns missing"),
    (lambda r: r.update(state_type="G"), "state_type disagrees"),
    (lambda r: r.update(trans_state=[3, 0]), "not state flipped"),
    (lambda r: r.update(trialnum=5), "trialnum"),
])
def test_bad_rows(tmp_path, corrupt, message):
    rows = _steps("p1", "base", BASE_PATH, ">>>>>^^^^")
    if message == "columns missing":
        for r in rows:
            corrupt(r)
    else:
        corrupt(rows[0])
    _write(tmp_path, rows)
    with pytest.raises(DataFileError, match=message):
        load_ho2022(tmp_path)


def test_a_step_through_an_obstacle_is_rejected(tmp_path):
    path = [[0, 1], [1, 1], [2, 1], [3, 1]]  # (row 3, col 2) is obstacle '1'
    rows = _steps("p1", "base", path, ">>>")
    rows[0]["state_type"] = "."
    _write(tmp_path, rows)
    with pytest.raises(DataFileError, match="walks through a wall/obstacle '1'"):
        load_ho2022(tmp_path)


def test_missing_or_broken_files(tmp_path):
    with pytest.raises(DataFileError, match="no mazes"):
        load_ho2022(tmp_path)
    (tmp_path / "mazes_0.json").write_text(json.dumps({"grid-0-0": MAZE}))
    with pytest.raises(DataFileError, match="not found"):
        load_ho2022(tmp_path)
    (tmp_path / "navtrials_exp1.json.zip").write_text("not a zip")
    with pytest.raises(DataFileError, match="not a zipped JSON"):
        load_ho2022(tmp_path)


@pytest.fixture(scope="module")
def ho_demos(ho2022_dir):
    return load_ho2022(ho2022_dir)


@pytest.mark.real
def test_real_data_counts(ho_demos):
    # 46,437 steps: the data README; 1907 episodes and 161 participants: pandas groupby on the raw columns
    assert ho_demos.n_steps == 46_437
    assert len(ho_demos) == 1907 and len(ho_demos.participants) == 161
    for e in ho_demos:
        rows = ho_demos.mazes[e.maze]
        assert rows[e.states[0][0]][e.states[0][1]] == "S"
        assert rows[e.next_states[-1][0]][e.next_states[-1][1]] == "G"
    first = next(e for e in ho_demos if e.episode_id == "qHLmQSWDs3/0")
    # raw row 0: grid-8-0-base, state [10, 0], action '<', nextstate [9, 0]
    assert first.maze == "grid-8-0-base" and first.actions[0] == "<"
    assert first.states[0].tolist() == [10, 10] and first.next_states[0].tolist() == [10, 9]


@pytest.mark.real
def test_real_data_heldout_maxent_beats_baselines(ho_demos):
    worlds = build_worlds(ho_demos.mazes, discount=0.99)
    result = heldout_comparison(worlds, ho_demos, test_fraction=0.25, seed=0,
                                init=np.array([0.0, -2.0, 0.0]), n_boot=500)
    ll = {m: s["log_likelihood"].value for m, s in result.scores.items()}
    assert result.fit.converged
    assert ll["maxent"] > ll["shortest_path"] > ll["uniform"] == pytest.approx(np.log(0.25))
    assert result.difference_ci["shortest_path"][0] > 0  # the gain holds across held-out participants
    assert result.split["test_participants"] == 40
