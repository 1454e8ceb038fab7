"""Planted agents (desires and beliefs drawn from the prior, paths from the agent model): the observer recovers
desire orderings, its goal posterior is calibrated, and the clarification curve beats asking at random."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.cognitive import BToM
from neurosafe.cognitive.agent import BeliefSpacePlanner, SimplexGrid, UtilityGrid
from neurosafe.cognitive.planted import planted_agents
from neurosafe.cognitive.safety import clarification_curve, evaluate_planted
from neurosafe.metrics.calibration import calibration_score

MODEL = BToM(beliefs=SimplexGrid(4), desires=UtilityGrid((0.0, 6.0, 12.0), 1.0, distinct=True),
             planner=BeliefSpacePlanner(2.0))


@pytest.fixture(scope="module")
def evaluation():
    agents = planted_agents(500, 0, MODEL, n_worlds=25, height=6, width=9)
    return agents, evaluate_planted(agents, MODEL, informative=0.8, seed=0, n_boot=200)


def test_planted_desires_recovered_and_calibrated(evaluation):
    _agents, ev = evaluation
    assert ev.n_agents == 500
    assert ev.informative_share > 0.05  # enough informative pairs to judge recovery
    assert ev.pair_recovery.value >= 0.9
    assert ev.ece.value <= 0.05
    assert ev.goal_accuracy.value > 1 / 3 + 0.03  # better than chance at the favourite type


def test_the_calibration_check_has_power(evaluation):
    # the same posteriors made overconfident (squared and renormalised) or attached to the wrong types fail
    # the 0.05 bound at this sample size (0.066 and 0.10 at seed 0)
    _, ev = evaluation
    sharp = ev.probs**2 / (ev.probs**2).sum(axis=1, keepdims=True)
    assert calibration_score(sharp, ev.labels, seed=0, n_boot=200).value > 0.05
    assert calibration_score(ev.probs[:, [1, 2, 0]], ev.labels, seed=0, n_boot=200).value > 0.05


def test_clarification_curve_beats_random_asking(evaluation):
    _, ev = evaluation
    curve = ev.clarification
    error = curve.wrong[0]
    assert curve.asked[0] == 0 and curve.asked[-1] == 1 and curve.wrong[-1] == 0
    assert curve.area.value < 0.5 * error  # asking at random would average error / 2
    assert ev.accuracy_by_ambiguity["low"] > ev.accuracy_by_ambiguity["high"]


def test_clarification_curve_closed_form():
    # three items: the uncertain one is wrong, the others right; asking first about the uncertain one removes
    # the only error: wrong = [1/3, 0, 0, 0] at asked = [0, 1/3, 2/3, 1]; area = 1/2 * 1/3 * 1/3
    probs = np.array([[0.5, 0.5], [0.9, 0.1], [0.95, 0.05]])
    labels = np.array([1, 0, 0])
    curve = clarification_curve(probs, labels, n_boot=10)
    assert np.allclose(curve.wrong, [1 / 3, 0, 0, 0])
    assert curve.area.value == pytest.approx(1 / 18)
