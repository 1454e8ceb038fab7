"""ChiRho counterfactuals equal the twin-world computation by hand: on the structural food-truck agent (exact)
and on the full planning BToM agent (Monte Carlo on both sides); planted worlds show the right direction."""

from __future__ import annotations

from itertools import pairwise, product

import numpy as np
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


# --- the full planning BToM agent -------------------------------------------------------------------------

BACK = [[1, 3], [0, 3], [0, 2], [0, 1], [0, 0]]  # looks behind the wall, sees L at B, goes back to K at A
TO_B = [[1, 3], [2, 3], [2, 2], [2, 1], [2, 0]]  # walks over to B and eats L there


def _tiny(path):
    from neurosafe.cognitive import load_scenario
    from tests.cognitive.test_btom_exact import TINY

    return load_scenario({**TINY, "path": path})


def _agent():
    from neurosafe.cognitive import BToM
    from neurosafe.cognitive.agent import BeliefSpacePlanner, SimplexGrid, UtilityGrid
    from tests.cognitive.test_btom_exact import BETA, COST, LEVELS, RES

    return BToM(beliefs=SimplexGrid(RES), desires=UtilityGrid(LEVELS, COST), planner=BeliefSpacePlanner(BETA))


def hand_agent_counterfactual(scenario, horizon, n_noise=300, seed=1):
    """Twin world by hand on the brute-force belief MDP of test_btom_exact: abduction (exact posterior over
    (initial belief, utilities) by brute force; each step's Gumbel noise by rejection from its prior given the
    observed action), action (the hidden spot in view from everywhere), prediction (roll the agent out with the
    same noise). Returns P(eats at A), P(eats at B) and the mean moves in the intervened world."""
    import math

    import numpy as np

    from tests.cognitive.test_btom_exact import BETA, brute_force_posterior, brute_force_solver

    rng = np.random.default_rng(seed)
    world = scenario.world
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    spots = [tuple(scenario.spots[s]) for s in scenario.spot_names]
    truth = tuple(int(x) for x in scenario.content())
    path = [tuple(scenario.start), *[tuple(c) for c in scenario.path]]
    acts = [moves.index((b[0] - a[0], b[1] - a[1])) for a, b in pairwise(path)] + [4]
    upd_f, solve_f = brute_force_solver(scenario)
    upd_c, solve_c = brute_force_solver(scenario, np.ones_like(world.visibility))

    def logits(q):
        return np.array([BETA * q[a] if a in q else -math.inf for a in range(5)])

    def noise_given(lg, a):  # rejection: prior Gumbel draws whose argmax is the observed action
        out = []
        while len(out) < n_noise:
            g = rng.gumbel(size=(4 * n_noise, 5))
            out.extend(g[np.argmax(lg + g, axis=1) == a])
        return np.array(out[:n_noise])

    totals = np.zeros(3)
    for (b0, util), w in brute_force_posterior(scenario).items():
        if w < 1e-4:  # leaves out 4e-4 of the posterior mass on these paths
            continue
        q_f, q_c = solve_f(b0, util), solve_c(b0, util)
        b, seen = upd_f(b0, frozenset(), path[0], truth)
        noise = []
        for t, a in enumerate(acts):
            noise.append(noise_given(logits(q_f((path[t], b, seen))), a))
            if a < 4:
                b, seen = upd_f(b, seen, path[t + 1], truth)
        noise += [rng.gumbel(size=(n_noise, 5)) for _ in range(horizon - len(acts))]
        # roll every noise draw out at once, grouped by the agent's (cell, belief, seen) state
        eats, n_moves = np.full(n_noise, -1), np.zeros(n_noise)
        groups = {(path[0], *upd_c(b0, frozenset(), path[0], truth)): np.arange(n_noise)}
        for t in range(horizon):
            nxt = {}
            for state, idx in groups.items():
                choice = np.argmax(logits(q_c(state)) + noise[t][idx], axis=1)
                eats[idx[choice == 4]] = spots.index(state[0]) if state[0] in spots else -1
                for a in set(choice.tolist()) - {4}:
                    cell = (state[0][0] + moves[a][0], state[0][1] + moves[a][1])
                    key = (cell, *upd_c(state[1], state[2], cell, truth))
                    nxt[key] = np.concatenate([nxt.get(key, np.zeros(0, int)), idx[choice == a]])
                    n_moves[idx[choice == a]] += 1
            groups = nxt
        totals += w * np.array([(eats == 0).mean(), (eats == 1).mean(), n_moves.mean()])
    return totals


def test_agent_counterfactual_equals_twin_world_by_hand():
    from neurosafe.cognitive.causal import agent_counterfactual

    path = BACK
    scenario, horizon = _tiny(path), 12
    model = _agent()
    hand = hand_agent_counterfactual(scenario, horizon)
    results = [agent_counterfactual(scenario, {"visible": 1}, q, n_samples=3000, seed=0, horizon=horizon,
                                    model=model) for q in ("eats:A", "eats:B", "moves")]
    # Monte Carlo on both sides: standard errors <= 0.009 (ours, 3,000 draws) and <= 0.01 (by hand); the
    # tolerance is 4 combined standard errors on probabilities, 0.15 moves on the mean number of moves
    assert results[0].value == pytest.approx(hand[0], abs=0.055)
    assert results[1].value == pytest.approx(hand[1], abs=0.055)
    assert results[2].value == pytest.approx(hand[2], abs=0.15)
    # the factual world reproduces the observed path in every draw
    assert results[0].factual_eats["A"] == 1.0
    assert results[2].factual_value == len(path)


# A planted world: K at A in view of the start, B hidden behind the walls; B comes into view on row 3 (and on
# rows 2-3 at the left), so checking B means walking down, away from A.
PLANTED = {"name": "planted", "map": [".......", ".....#.", ".....##", "......."], "spots": {"A": [0, 0], "B": [3, 6]},
           "start": [0, 3], "model": {"beta": 2.0, "desire_levels": [0, 5, 10], "belief_resolution": 4}}
LOOK_AND_RETURN = [[1, 3], [2, 3], [3, 3], [2, 3], [1, 3], [0, 3], [0, 2], [0, 1], [0, 0]]
LOOK_AND_EAT = [[1, 3], [2, 3], [3, 3], [3, 4], [3, 5], [3, 6]]


def test_agent_counterfactual_moves_the_right_way():
    from neurosafe.cognitive import load_scenario
    from neurosafe.cognitive.causal import agent_counterfactual

    # walked past K to look behind the wall, saw L there and went back to K: had B been in view (showing L), it
    # would not have walked over to look and would have eaten K
    back = load_scenario({**PLANTED, "trucks": {"A": "K", "B": "L"}, "path": LOOK_AND_RETURN})
    out = agent_counterfactual(back, {"visible": 1}, "looks:B", n_samples=1000, seed=0)
    assert out.factual_value == 1.0 and out.queries["detour"]["factual"] == 1.0
    assert out.value < 0.1 and out.queries["eats:A"]["intervened"] > 0.9
    assert out.queries["moves"]["intervened"] < 0.6 * out.queries["moves"]["factual"]
    # ... unless it had loved L (two interventions at once: twin worlds per intervened site)
    loves_l = agent_counterfactual(back, {"visible": 1, "desire": {"K": 0, "L": 10, "M": 5}}, "eats:B",
                                   n_samples=1000, seed=0)
    assert loves_l.value > 0.8
    # walked over to B and ate M there: with B in view it would still have gone to B
    to_b = load_scenario({**PLANTED, "trucks": {"A": "K", "B": "M"}, "path": LOOK_AND_EAT})
    out = agent_counterfactual(to_b, {"visible": 1}, "eats:B", n_samples=1000, seed=0)
    assert out.factual_value == 1.0 and out.value > 0.7
    # intervening on the factual value changes nothing: both worlds share every exogenous draw
    same = agent_counterfactual(to_b, {"visible": 0}, "moves", n_samples=300, seed=0)
    assert same.value == same.factual_value == len(LOOK_AND_EAT)
    assert same.samples["moves_intervened"].tolist() == same.samples["moves_factual"].tolist()


@pytest.mark.parametrize(("intervention", "query", "message"), [
    ({"visible": 2}, "eats:A", "0 or 1"),
    ({"wall": 1}, "eats:A", "unknown intervention"),
    ({"desire": [1, 2, 3]}, "eats:A", "not a point"),
    ({"visible": 1}, "eats:Z", "unknown query"),
])
def test_agent_counterfactual_bad_input_fails_in_one_line(intervention, query, message):
    from neurosafe.cognitive.causal import agent_counterfactual

    with pytest.raises(ScenarioError, match=message):
        agent_counterfactual(_tiny(BACK), intervention, query, n_samples=10, model=_agent())


def test_agent_counterfactual_on_swapped_modules():
    from neurosafe.cognitive import BToM, load_scenario
    from neurosafe.cognitive.agent import BeliefSpacePlanner, TrueBeliefPrior, UtilityGrid
    from neurosafe.cognitive.causal import agent_counterfactual

    back = load_scenario({**PLANTED, "trucks": {"A": "K", "B": "L"}, "path": LOOK_AND_RETURN})
    # a TrueBelief agent already knows what is behind the wall: seeing it changes none of its choices
    true_belief = BToM(beliefs=TrueBeliefPrior(), desires=UtilityGrid((0.0, 5.0, 10.0), 1.0),
                       planner=BeliefSpacePlanner(2.0))
    out = agent_counterfactual(back, {"visible": 1}, "moves", n_samples=300, seed=0, model=true_belief)
    assert out.value == out.factual_value == len(LOOK_AND_RETURN)
    assert np.array_equal(out.samples["cells_intervened"][:, :len(LOOK_AND_RETURN)],
                          np.tile([back.world.index_of(c) for c in LOOK_AND_RETURN], (300, 1)))
    # the motion-heuristic agent: it never looks for value, so the look behind the wall was noise for it too
    motion = BToM(desires=UtilityGrid((0.0, 5.0, 10.0), 1.0), planner=BeliefSpacePlanner(2.0, myopic=True))
    out = agent_counterfactual(back, {"visible": 1}, "looks:B", n_samples=300, seed=0, model=motion)
    assert out.factual_value == 1.0 and 0.0 <= out.value <= 1.0
