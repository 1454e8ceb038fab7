"""ChiRho counterfactuals on the structural food-truck agent equal the twin-world computation by hand."""

from __future__ import annotations

from itertools import product

import pytest

from neurosafe.cognitive.causal import counterfactual_query, foodtruck_scm, interventional_query
from neurosafe.cognitive.errors import ScenarioError

P_FAV, P_CONTENT, P_GUESS, NOISE = (0.3, 0.2, 0.5), (0.2, 0.5, 0.3), (0.1, 0.3, 0.6), 0.1


def walks(favourite, belief, flip):
    return float(((belief == favourite) and favourite > 0) != bool(flip))


def hand_counterfactual(content_seen):
    """Abduction: P(favourite, guess, flip | spot hidden, content, walked past); prediction with the spot
    visible (belief = content) and the same favourite and flip."""
    num = total = 0.0
    for fav, guess, flip in product(range(3), range(3), range(2)):
        p = P_FAV[fav] * P_GUESS[guess] * (NOISE if flip else 1 - NOISE) * P_CONTENT[content_seen]
        if walks(fav, guess, flip) == 1.0:  # factual: hidden, belief = guess
            total += p
            num += p * walks(fav, content_seen, flip)
    return num / total


@pytest.mark.parametrize("content", [0, 1, 2])
def test_counterfactual_equals_twin_world_by_hand(content):
    model, supports = foodtruck_scm(P_FAV, P_CONTENT, P_GUESS, p_visible=0.3, noise=NOISE)
    out = counterfactual_query(model, supports, intervention={"visible": 1.0},
                               evidence={"visible": 0.0, "content": content, "walks_past": 1.0}, query="walks_past")
    assert out.distribution.get(1.0, 0.0) == pytest.approx(hand_counterfactual(content), abs=1e-6)
    assert sum(r["weight"] for r in out.traces) == pytest.approx(1.0)
    assert all(r["factual"]["walks_past"] == 1.0 for r in out.traces)


def test_intervention_by_hand():
    model, supports = foodtruck_scm(P_FAV, P_CONTENT, P_GUESS, p_visible=0.3, noise=NOISE)
    out = interventional_query(model, supports, {"visible": 1.0}, "walks_past")
    hand = sum(P_FAV[f] * P_CONTENT[c] * (NOISE if x else 1 - NOISE) * walks(f, c, x)
               for f, c, x in product(range(3), range(3), range(2)))
    assert out.mean == pytest.approx(hand, abs=1e-6)


def test_impossible_evidence_fails_in_one_line():
    model, supports = foodtruck_scm(noise=0.0)
    with pytest.raises(ScenarioError, match="probability zero"):
        counterfactual_query(model, supports, {"visible": 1.0}, {"favourite": 0, "walks_past": 1.0, "flip": 0.0},
                             "walks_past")
