"""Soft value iteration on a 100x100 gridworld: milliseconds per sweep.

neurosafe's sweep (``soft_sweep``: one gather from an action-major outcome table, a log-sum-exp over
actions along contiguous rows) is
timed against two references written here, in the same run, on the same maze and reward: a scipy.sparse
version (one CSR transition matrix per action, scipy.special.logsumexp) and a plain python loop over
states and actions. All three must agree to 1e-9 before any time is printed. Also timed: a full soft value
iteration to convergence, deterministic and slippery (slip 0.1). Run: .venv/bin/python benchmarks/irl.py
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from neurosafe.lossinfer import GridWorld, random_maze, soft_value_iteration
from neurosafe.lossinfer.planning import soft_sweep


def sparse_sweep(per_action: list[sp.csr_matrix], terminal: np.ndarray, r: np.ndarray, gamma: float,
                 v: np.ndarray) -> np.ndarray:
    """Reference: Q_a = r + gamma * P_a V with CSR matrices, V = logsumexp_a Q_a (terminals keep r)."""
    q = np.stack([r + gamma * (p @ v) for p in per_action], axis=1)
    return np.where(terminal, r, logsumexp(q, axis=1))


def loop_sweep(next_states: list, next_probs: list, terminal: list, r: list, gamma: float, v: list) -> list:
    """Reference: the same sweep as nested python loops."""
    out = []
    for s in range(len(r)):
        if terminal[s]:
            out.append(r[s])
            continue
        qs = [r[s] + gamma * sum(p * v[n] for n, p in zip(ns, ps, strict=True))
              for ns, ps in zip(next_states[s], next_probs[s], strict=True)]
        m = max(qs)
        out.append(m + np.log(sum(np.exp(q - m) for q in qs)))
    return out


def best_time(fn, repeats: int) -> float:
    """Best of ``repeats`` wall-clock times of fn() in seconds (least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rows = list(random_maze((100, 100), 0.1, seed=0))
    rows[0] = "G" + rows[0][1:]
    world = GridWorld.from_strings(rows, discount=0.99)
    mdp = world.mdp
    rng = np.random.default_rng(1)
    r = np.where(mdp.terminal, 0.0, -1.0 - rng.random(world.n_states))
    v = rng.normal(size=world.n_states)
    n_a = mdp.n_actions
    per_action = [sp.csr_matrix((mdp.next_probs[:, a].ravel(),
                                 (np.repeat(np.arange(world.n_states), mdp.next_states.shape[2]),
                                  mdp.next_states[:, a].ravel())), shape=(world.n_states, world.n_states))
                  for a in range(n_a)]
    lists = (mdp.next_states.tolist(), mdp.next_probs.tolist(), mdp.terminal.tolist(), r.tolist())

    ours = soft_sweep(mdp, r, v)
    assert np.allclose(ours, sparse_sweep(per_action, mdp.terminal, r, mdp.discount, v), atol=1e-9)
    assert np.allclose(ours, loop_sweep(*lists, mdp.discount, v.tolist()), atol=1e-9)

    n_sweeps = 50
    t_ours = best_time(lambda: [soft_sweep(mdp, r, v) for _ in range(n_sweeps)], 5) / n_sweeps
    t_sparse = best_time(lambda: [sparse_sweep(per_action, mdp.terminal, r, mdp.discount, v)
                                  for _ in range(n_sweeps)], 5) / n_sweeps
    t_loop = best_time(lambda: loop_sweep(*lists, mdp.discount, v.tolist()), 2)
    print(f"maze 100x100: {world.n_states} states, {n_a} actions, discount {mdp.discount}")
    print(f"soft VI sweep, neurosafe (numpy gather):   {1e3 * t_ours:8.3f} ms")
    print(f"soft VI sweep, scipy.sparse reference:     {1e3 * t_sparse:8.3f} ms  "
          f"(neurosafe is {t_sparse / t_ours:.1f}x faster)")
    print(f"soft VI sweep, plain python loop:          {1e3 * t_loop:8.3f} ms  "
          f"(neurosafe is {t_loop / t_ours:.0f}x faster)")
    for slip in (0.0, 0.1):
        w = GridWorld.from_strings(rows, discount=0.99, slip=slip)
        t0 = time.perf_counter()
        plan = soft_value_iteration(w, r, tol=1e-8)
        dt = time.perf_counter() - t0
        print(f"soft VI to convergence (tol 1e-8, slip {slip}): {plan.n_iter} sweeps, {dt:.2f} s, "
              f"{1e3 * dt / plan.n_iter:.3f} ms/sweep")


if __name__ == "__main__":
    main()
