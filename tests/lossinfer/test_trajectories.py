"""Trajectories: file round trip, participant splits, and clear errors for bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosafe.core.errors import DataFileError
from neurosafe.lossinfer import Episode, Trajectories, TrajectoryError, load_trajectories, save_trajectories


def _episodes(n_people: int = 6) -> Trajectories:
    eps = [Episode.from_path([(0, 0), (0, 1), (1, 1)], ">v", maze="m", participant=f"p{i % n_people}",
                             episode_id=f"e{i}") for i in range(2 * n_people)]
    return Trajectories(tuple(eps), {"m": ("S.", ".G")})


def test_round_trip(tmp_path):
    demos = _episodes()
    path = save_trajectories(demos, tmp_path / "demos.json")
    back = load_trajectories(path)
    assert back.mazes == demos.mazes and len(back) == len(demos) and back.n_steps == demos.n_steps
    for a, b in zip(demos, back, strict=True):
        assert (a.episode_id, a.participant, a.maze, a.actions) == (b.episode_id, b.participant, b.maze, b.actions)
        np.testing.assert_array_equal(a.states, b.states)
        np.testing.assert_array_equal(a.next_states, b.next_states)
    assert [p.name for p in tmp_path.iterdir()] == ["demos.json"]  # no temporary file left behind


def test_split_by_participant_is_disjoint_and_seeded():
    demos = _episodes(8)
    train, test = demos.split_by_participant(0.25, seed=3)
    assert len(test.participants) == 2 and len(train.participants) == 6
    assert not set(train.participants) & set(test.participants)
    assert len(train) + len(test) == len(demos)
    again, _ = demos.split_by_participant(0.25, seed=3)
    assert again.participants == train.participants
    with pytest.raises(TrajectoryError, match="test_fraction"):
        demos.split_by_participant(1.0)


def test_bad_files(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        load_trajectories(tmp_path / "missing.json")
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(DataFileError, match="not JSON"):
        load_trajectories(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataFileError, match="neurosafe-trajectories-1"):
        load_trajectories(tmp_path / "b.json")
    payload = json.loads(save_trajectories(_episodes(1), tmp_path / "c.json").read_text())
    payload["steps"]["episode"] = [0, 1, 0, 1]  # interleaved episodes
    (tmp_path / "c.json").write_text(json.dumps(payload))
    with pytest.raises(DataFileError, match="not contiguous"):
        load_trajectories(tmp_path / "c.json")
    payload["steps"]["action"][0] = "x"
    payload["steps"]["episode"] = [0, 0, 1, 1]
    (tmp_path / "d.json").write_text(json.dumps(payload))
    with pytest.raises(TrajectoryError, match="unknown action symbol 'x'"):
        load_trajectories(tmp_path / "d.json")


def test_trajectories_need_layouts_for_named_mazes():
    ep = Episode.from_path([(0, 0), (0, 1)], ">", maze="elsewhere")
    with pytest.raises(TrajectoryError, match="without a layout"):
        Trajectories((ep,), {"m": ("S.",)})
    with pytest.raises(TrajectoryError, match="no episodes"):
        Trajectories(())
