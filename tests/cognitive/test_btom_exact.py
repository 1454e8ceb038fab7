"""Exact BToM enumeration against a brute-force belief-MDP solver written independently here (pure Python:
belief tuples, explicit Bayes updates, value iteration to a fixed point), to 1e-9."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest

from neurosafe.cognitive import BToM, ScenarioError, load_scenario
from neurosafe.cognitive.agent import BeliefSpacePlanner, SimplexGrid, UtilityGrid

TINY = {
    "name": "tiny",
    "map": ["....", ".#..", "...."],
    "spots": {"A": [0, 0], "B": [2, 0]},
    "trucks": {"A": "K", "B": "L"},
    "types": ["K", "L", "M"],
    "start": [0, 3],
    "path": [[1, 3], [2, 3], [2, 2], [2, 1], [2, 0]],
}
LEVELS, RES, BETA, COST = (2.0, 9.0), 2, 1.3, 1.0


def brute_force_solver(scenario, vis=None):
    """(update, solve) of the belief MDP by explicit enumeration: ``update(b, seen, cell, w)`` is Bayes' rule
    on what is visible at cell in world w; ``solve(b0, util)`` returns q_values((cell, belief, seen)) -> {action:
    value} (blocked moves absent; 4 = eat). ``vis`` (n_cells, n_spots): the percept (default line of sight)."""
    world = scenario.world
    cells = world.cells
    vis = world.visibility if vis is None else vis  # checks the inference, not line of sight
    spots = [tuple(scenario.spots[s]) for s in scenario.spot_names]
    worlds = [tuple(int(x) for x in w) for w in scenario.hypotheses()]
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    index = {c: i for i, c in enumerate(cells)}

    def obs(cell, w):
        return tuple(w[k] for k in range(len(spots)) if vis[index[cell]][k])

    def update(b, seen, cell, w_obs):
        """Bayes on what is visible at cell; uniform over worlds consistent with everything seen if no mass."""
        seen = seen | {k for k in range(len(spots)) if vis[index[cell]][k]}
        ok = [all(w[k] == w_obs[k] for k in seen) for w in worlds]
        mass = sum(p for p, o in zip(b, ok, strict=True) if o)
        if mass > 0:
            nb = tuple(p / mass if o else 0.0 for p, o in zip(b, ok, strict=True))
        else:
            nb = tuple(1.0 / sum(ok) if o else 0.0 for o in ok)
        return nb, frozenset(seen)

    def solve(b0, util):
        start = tuple(scenario.start)
        seen0 = frozenset(k for k in range(len(spots)) if vis[index[start]][k])
        # reachable (cell, belief, seen) states
        states, frontier = set(), [(start, b0, seen0)]
        while frontier:
            s = frontier.pop()
            if s in states:
                continue
            states.add(s)
            cell, b, seen = s
            for dr, dc in moves:
                nxt = (cell[0] + dr, cell[1] + dc)
                if nxt in index:
                    for w in worlds:  # every world, so that surprising observations have values too
                        frontier.append((nxt, *update(b, seen, nxt, w)))
        v = dict.fromkeys(states, -math.inf)

        def q_values(s):
            cell, b, seen = s
            out = {}
            for a, (dr, dc) in enumerate(moves):
                nxt = (cell[0] + dr, cell[1] + dc)
                if nxt in index:
                    total = 0.0
                    outcomes = {}
                    for w, p in zip(worlds, b, strict=True):
                        if p > 0:
                            key = update(b, seen, nxt, w)
                            outcomes[(nxt, *key)] = outcomes.get((nxt, *key), 0.0) + p
                    total = sum(p * v[k] for k, p in outcomes.items())
                    out[a] = -COST + total
            if cell in spots:
                k = spots.index(cell)
                contents = {w[k] for w, p in zip(worlds, b, strict=True) if p > 0}
                (c,) = contents
                if c >= 0:
                    out[4] = util[c]
            return out

        for _ in range(200):
            new = {s: max(q_values(s).values()) for s in states}
            if new == v:
                break
            v = new
        return q_values

    return update, solve


def brute_force_posterior(scenario) -> dict:
    """P(belief, desire | path) by explicit enumeration of the belief MDP of each hypothesis."""
    world = scenario.world
    cells = world.cells
    vis = world.visibility
    spots = [tuple(scenario.spots[s]) for s in scenario.spot_names]
    worlds = [tuple(int(x) for x in w) for w in scenario.hypotheses()]
    truth = tuple(int(x) for x in scenario.content())
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    index = {c: i for i, c in enumerate(cells)}
    update, solve = brute_force_solver(scenario)

    path = [tuple(scenario.start), *[tuple(c) for c in scenario.path]]
    beliefs = [(*tuple(x / RES for x in c), (RES - sum(c)) / RES)
               for c in product(range(RES + 1), repeat=len(worlds) - 1) if sum(c) <= RES]
    logpost = {}
    for b0, util in product(beliefs, product(LEVELS, repeat=3)):
        q_of = solve(b0, util)
        seen = frozenset(k for k in range(len(spots)) if vis[index[path[0]]][k])
        b, ll = update(b0, frozenset(), path[0], truth)[0], 0.0
        for t, cell in enumerate(path[:len(path) - 1 + scenario.complete]):
            q = q_of((cell, b, seen))
            if t + 1 < len(path):
                d = (path[t + 1][0] - cell[0], path[t + 1][1] - cell[1])
                a = moves.index(d)
            else:
                a = 4
            z = max(BETA * x for x in q.values())
            ll += BETA * q[a] - z - math.log(sum(math.exp(BETA * x - z) for x in q.values()))
            if t + 1 < len(path):
                b, seen = update(b, seen, path[t + 1], truth)
        logpost[(b0, util)] = ll
    z = max(logpost.values())
    norm = z + math.log(sum(math.exp(x - z) for x in logpost.values()))
    return {k: math.exp(x - norm) for k, x in logpost.items()}


def _model():
    return BToM(beliefs=SimplexGrid(RES), desires=UtilityGrid(LEVELS, COST), planner=BeliefSpacePlanner(BETA))


@pytest.mark.parametrize("path", [TINY["path"], [[0, 2], [1, 2], [2, 2], [2, 1], [2, 0]], [[1, 3], [2, 3]]])
def test_exact_enumeration_equals_brute_force(path):
    spec = {**TINY, "path": path, "complete": path[-1] == [2, 0]}
    scenario = load_scenario(spec)
    table = _model().likelihood(scenario)
    total = table.loglik.sum(axis=-1)
    post = np.exp(total - total.max())
    post /= post.sum()
    reference = brute_force_posterior(scenario)
    assert len(reference) == post.size
    for i, b in enumerate(table.beliefs):
        for j, u in enumerate(table.desires):
            key = (tuple(float(x) for x in b), tuple(float(x) for x in u))
            assert post[i, j] == pytest.approx(reference[key], abs=1e-9)


def test_hidden_spot_and_hypotheses():
    scenario = load_scenario(TINY)
    start = scenario.world.index_of(scenario.start)
    assert scenario.world.visibility[start].tolist() == [True, False]  # the wall hides B from the start
    # B may hold L, M or nothing (K is seen at A); the true world is among them
    assert sorted(map(tuple, scenario.hypotheses().tolist())) == [(0, -1), (0, 1), (0, 2)]


@pytest.mark.parametrize(("change", "message"), [
    ({"path": [[1, 3], [1, 1]]}, "wall"),
    ({"path": [[2, 3]]}, "not one move"),
    ({"start": [5, 0]}, "off the map"),
    ({"trucks": {"A": "Q"}}, "unknown truck types"),
    ({"path": [[1, 3]]}, "must end at a spot"),
])
def test_bad_scenarios_fail_in_one_line(change, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario({**TINY, **change})


def test_distance_planner_equals_bellman_sweeps():
    from importlib.resources import files

    scenario = load_scenario(files("neurosafe.cognitive") / "scenarios" / "foodtruck.json")
    settings = {"beliefs": SimplexGrid(3), "desires": UtilityGrid((0.0, 10.0, 20.0), 1.0)}
    fast = BToM(**settings, planner=BeliefSpacePlanner(1.0)).likelihood(scenario)
    slow = BToM(**settings, planner=BeliefSpacePlanner(1.0, method="sweeps")).likelihood(scenario)
    np.testing.assert_allclose(fast.loglik, slow.loglik, rtol=0, atol=1e-9)
