"""RSA against hand-derived closed forms (memo-lang, the issue's suggested peer, does not install here: no
distribution for this Python), to 1e-6; the classic glasses/hat result; instruction following."""

from __future__ import annotations

import math

import pytest

from neurosafe.cognitive.errors import GameError
from neurosafe.cognitive.rsa import gridworld_goals, instruction_accuracy, instruction_listener, load_game, rsa

GLASSES = {"referents": ["plain", "glasses", "glasses_hat"],
           "semantics": {"glasses": ["glasses", "glasses_hat"], "hat": ["glasses_hat"], "nothing": ["plain"]}}


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 4.0])
@pytest.mark.parametrize(("c_glasses", "c_hat"), [(0.0, 0.0), (0.0, 0.7), (0.4, 0.1)])
def test_glasses_game_closed_form(alpha, c_glasses, c_hat):
    game = load_game({**GLASSES, "cost": {"glasses": c_glasses, "hat": c_hat}, "alpha": alpha, "depth": 2})
    out = rsa(game)
    g, h = game.utterances.index("glasses"), game.utterances.index("hat")
    # L0("glasses") = (0, 1/2, 1/2); the only true utterance for the glasses-only face is "glasses"
    assert out.listeners[0][g].tolist() == pytest.approx([0, 0.5, 0.5], abs=1e-12)
    a = 0.5 ** alpha * math.exp(-alpha * c_glasses)
    s1 = a / (a + math.exp(-alpha * c_hat))  # S1("glasses" | glasses+hat)
    assert out.speakers[0][2, g] == pytest.approx(s1, abs=1e-6)
    assert out.speakers[0][1, g] == pytest.approx(1.0, abs=1e-6)
    l1 = 1 / (1 + s1)
    assert out.listeners[1][g].tolist() == pytest.approx([0, l1, 1 - l1], abs=1e-6)
    assert out.listeners[1][h].tolist() == pytest.approx([0, 0, 1], abs=1e-6)
    b = (1 - l1) ** alpha * math.exp(-alpha * c_glasses)
    s2 = b / (b + math.exp(-alpha * c_hat))  # S2("glasses" | glasses+hat), since L1(gh | "hat") = 1
    assert out.listeners[2][g][1] == pytest.approx(1 / (1 + s2), abs=1e-6)


def test_classic_result_pragmatic_listener_picks_glasses_only():
    out = rsa(load_game(GLASSES), alpha=1.0, depth=1)
    assert out.listener[0][1] == pytest.approx(0.75, abs=1e-12)  # hand: 1 / (1 + 1/3)
    assert out.listener[0][1] > 0.5


def test_frank_goodman_2012_blue_square():
    # blue square, blue circle, green square; hearing "blue": S1(blue|bs) = 1/2, S1(blue|bc) = 1/3 -> 0.6 / 0.4
    goals = {"bs": {"blue", "square"}, "bc": {"blue", "circle"}, "gs": {"green", "square"}}
    post = instruction_listener(goals, "Go to the blue one.")
    assert post["bs"] == pytest.approx(0.6, abs=1e-9) and post["bc"] == pytest.approx(0.4, abs=1e-9)
    # a conjunction pins the goal down
    assert instruction_listener(goals, "the blue circle")["bc"] == pytest.approx(1.0)
    # pragmatic listening is more accurate than literal listening on pragmatic speakers' instructions
    assert instruction_accuracy(goals, depth=1) > instruction_accuracy(goals, depth=1, listener_depth=0)


@pytest.mark.parametrize(("game", "message"), [
    ({**GLASSES, "semantics": {"glasses": ["mask"]}}, "unknown referents"),
    ({**GLASSES, "semantics": {"glasses": []}}, "true of no referent"),
    ({**GLASSES, "alpha": -1}, "alpha"),
    ({**GLASSES, "cost": {"wave": 1.0}}, "unknown utterances"),
])
def test_bad_games_fail_in_one_line(game, message):
    with pytest.raises(GameError, match=message):
        load_game(game)


def test_instruction_listener_in_a_gridworld():
    from neurosafe.cognitive.world import GridWorld

    world = GridWorld(("......", "..#...", "......"))
    goals = gridworld_goals(world, {"A": ((0, 0), ["red", "circle"]), "B": ((2, 5), ["red", "square"]),
                                    "C": ((2, 4), ["blue", "square"])})
    assert goals["A"] == {"red", "circle", "left", "top"} and goals["B"] == {"red", "square", "right", "bottom"}
    post = instruction_listener(goals, "go to the red one on the left")
    assert post["A"] == pytest.approx(1.0)
    # "square" (B and C) by hand at alpha 1; literal listener of each word: red 1/2 (A, B), square 1/2, right
    # 1/2, bottom 1/2 (B, C), blue 1 (C). S1(square|B) = (1/2) / (1/2 + 1/2 + 1/2 + 1/2) = 1/4;
    # S1(square|C) = (1/2) / (1 + 1/2 + 1/2 + 1/2) = 1/5; L1(B|square) = (1/4) / (1/4 + 1/5) = 5/9
    assert instruction_listener(goals, "the square")["B"] == pytest.approx(5 / 9, abs=1e-9)
    with pytest.raises(GameError, match="names no feature"):
        instruction_listener(goals, "go north")
