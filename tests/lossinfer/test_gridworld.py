"""GridWorld: parsing maze strings, dynamics (moves, bumps, slip) and clear errors for bad mazes/episodes."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.core.errors import NeurosafeError
from neurosafe.lossinfer import ACTIONS, Episode, GridWorld, MazeError, TrajectoryError

MAZE = (
    "S..#",
    ".1.G",
    "....",
)


def test_from_strings_layout():
    w = GridWorld.from_strings(MAZE)
    assert w.shape == (3, 4)
    assert w.n_states == 10  # 12 cells minus the wall and the obstacle
    assert tuple(w.cells[w.start]) == (0, 0)
    assert [tuple(w.cells[g]) for g in w.goals] == [(1, 3)]
    assert w.index[0, 3] == -1 and w.index[1, 1] == -1
    assert w.mdp.terminal.sum() == 1 and w.mdp.terminal[w.state(1, 3)]
    assert w.rows == MAZE


def test_moves_and_bumps():
    w = GridWorld.from_strings(MAZE)
    nxt = w.mdp.next_states[:, :, 0]
    up, down, left, right = (ACTIONS.index(a) for a in "^v<>")
    s = w.state(0, 0)
    assert nxt[s, up] == s and nxt[s, left] == s  # the grid's edge
    assert nxt[s, right] == w.state(0, 1) and nxt[s, down] == w.state(1, 0)
    assert nxt[w.state(0, 2), right] == w.state(0, 2)  # the wall '#'
    assert nxt[w.state(1, 0), right] == w.state(1, 0)  # the obstacle '1'
    assert nxt[w.state(2, 1), up] == w.state(2, 1)
    assert (w.mdp.next_probs == 1.0).all()


def test_slip_probabilities():
    w = GridWorld.from_strings(MAZE, slip=0.2)
    s, right = w.state(2, 1), ACTIONS.index(">")
    dist = np.zeros(w.n_states)
    np.add.at(dist, w.mdp.next_states[s, right], w.mdp.next_probs[s, right])
    # intended move 0.8 + 0.2/4; each other move 0.2/4, and the bump up lands back on (2, 1)
    assert dist[w.state(2, 2)] == pytest.approx(0.85)
    assert dist[w.state(2, 0)] == pytest.approx(0.05)
    assert dist[w.state(2, 1)] == pytest.approx(0.10)
    assert dist.sum() == pytest.approx(1.0)


def test_to_map_and_with_goals():
    w = GridWorld.from_strings(MAZE)
    m = w.to_map(np.arange(w.n_states, dtype=float))
    assert np.isnan(m[0, 3]) and np.isnan(m[1, 1]) and m[0, 1] == 1.0
    moved = w.with_goals([w.state(2, 3)])
    assert [tuple(moved.cells[g]) for g in moved.goals] == [(2, 3)]
    with pytest.raises(MazeError, match="start cell"):
        w.with_goals([w.start])


@pytest.mark.parametrize("rows, message", [
    (("...", ".G."), "exactly one start"),
    (("S..", ".S."), "exactly one start"),
    (("S..", ".."), "equal length"),
    (("S.x",), "unknown maze symbol 'x' at row 0, col 2"),
    ((), "non-empty sequence"),
    ("S..", "non-empty sequence"),
])
def test_bad_mazes(rows, message):
    with pytest.raises(MazeError, match=message):
        GridWorld.from_strings(rows)


def test_bad_parameters():
    with pytest.raises(MazeError, match="slip"):
        GridWorld.from_strings(MAZE, slip=1.0)
    with pytest.raises(MazeError, match="discount"):
        GridWorld.from_strings(MAZE, discount=0.0)
    assert issubclass(MazeError, NeurosafeError)


def test_encode_valid_episode():
    w = GridWorld.from_strings(MAZE)
    e = Episode.from_path([(0, 0), (0, 0), (0, 1), (0, 2), (1, 2), (1, 3)], "^>>v>", episode_id="ok")
    enc = w.encode(e)
    assert enc.states.tolist() == [w.state(*c) for c in [(0, 0), (0, 0), (0, 1), (0, 2), (1, 2)]]
    assert enc.actions.tolist() == [ACTIONS.index(a) for a in "^>>v>"]


@pytest.mark.parametrize("path, actions, message", [
    ([(0, 0), (-1, 0)], "^", "leaves the 3x4 grid"),
    ([(0, 2), (0, 3)], ">", r"walks through a wall/obstacle '#'"),
    ([(1, 0), (1, 1)], ">", r"walks through a wall/obstacle '1'"),
    ([(0, 0), (0, 2)], ">", "cannot lead to"),
    ([(0, 0), (1, 0)], ">", "cannot lead to"),
    ([(1, 2), (1, 3), (2, 3)], ">v", "goes on after reaching the goal"),
])
def test_encode_errors(path, actions, message):
    w = GridWorld.from_strings(MAZE)
    with pytest.raises(TrajectoryError, match=message) as info:
        w.encode(Episode.from_path(path, actions, episode_id="bad"))
    assert "episode 'bad'" in str(info.value)


def test_episode_errors():
    with pytest.raises(TrajectoryError, match="unknown action symbol 'x'"):
        Episode.from_path([(0, 0), (0, 1)], "x", episode_id="e")
    with pytest.raises(TrajectoryError, match="previous step ended"):
        Episode(np.array([[0, 0], [2, 2]]), ("v", "v"), np.array([[1, 0], [3, 2]]), episode_id="e")
    with pytest.raises(TrajectoryError, match="equal in number"):
        Episode.from_path([(0, 0), (0, 1), (0, 2)], ">", episode_id="e")
    with pytest.raises(TrajectoryError, match="integer cells"):
        Episode.from_path([(0, 0.5), (0, 1)], ">", episode_id="e")
