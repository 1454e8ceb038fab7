"""Tabular Markov decision processes as dense outcome tables, the form every planner here works on.

Each state-action pair has ``K`` possible outcomes: ``next_states[s, a, k]`` with probability
``next_probs[s, a, k]`` (K = 1 for deterministic dynamics). Terminal states end an episode: their value is
their own reward, with nothing after it. An optional ``legal`` (S, A) mask marks the actions a state
offers (a graph node offers only its edges): planners give the others Q = -inf.
A table like this makes one Bellman backup a single gather and sum
over an (S, A, K) array, and lets many mazes be stacked into one MDP and solved in one vectorized sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurosafe.lossinfer.errors import MazeError

__all__ = ["TabularMDP", "stack_mdps"]


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """States 0..S-1, actions 0..A-1; ``next_states``/``next_probs`` (S, A, K); ``terminal`` (S,) bool;
    ``legal`` (S, A) bool, None for every action legal everywhere."""

    next_states: np.ndarray
    next_probs: np.ndarray
    terminal: np.ndarray
    discount: float
    legal: np.ndarray | None = None

    def __post_init__(self) -> None:
        ns, p, term = self.next_states, self.next_probs, self.terminal
        if ns.ndim != 3 or ns.shape != p.shape:
            raise MazeError(f"next_states {ns.shape} and next_probs {p.shape} must be equal (S, A, K) arrays")
        if term.shape != (ns.shape[0],) or term.dtype != bool:
            raise MazeError(f"terminal must be a bool array of shape ({ns.shape[0]},), got {term.shape}")
        if ns.size and (ns.min() < 0 or ns.max() >= ns.shape[0]):
            raise MazeError("next_states holds indices outside 0..n_states-1")
        if not np.allclose(p.sum(-1), 1.0) or (p < 0).any():
            raise MazeError("next_probs must be non-negative and sum to 1 over outcomes")
        if not 0.0 < self.discount <= 1.0:
            raise MazeError(f"discount must lie in (0, 1], got {self.discount}")
        if self.legal is not None:
            legal = np.asarray(self.legal)
            if legal.shape != ns.shape[:2] or legal.dtype != bool:
                raise MazeError(f"legal must be a bool array of shape {ns.shape[:2]}, got {legal.shape}")
            if not legal[~term].any(1).all():
                raise MazeError("every non-terminal state needs at least one legal action")
            object.__setattr__(self, "_illegal_am", np.ascontiguousarray(~legal.T) if not legal.all() else None)
        else:
            object.__setattr__(self, "_illegal_am", None)
        # action-major copies (K, A, S): reductions over actions then run along contiguous rows
        object.__setattr__(self, "_next_am", np.ascontiguousarray(ns.transpose(2, 1, 0)))
        object.__setattr__(self, "_probs_am", np.ascontiguousarray(p.transpose(2, 1, 0)))

    @property
    def n_states(self) -> int:
        return self.next_states.shape[0]

    @property
    def n_actions(self) -> int:
        return self.next_states.shape[1]

    def expect(self, values: np.ndarray) -> np.ndarray:
        """E[values(s') | s, a] for every (s, a); values may carry trailing dims, e.g. (S, k) features."""
        gathered = values[self.next_states]  # (S, A, K, ...)
        weights = self.next_probs.reshape(self.next_probs.shape + (1,) * (values.ndim - 1))
        return (gathered * weights).sum(axis=2)

    def expect_action_major(self, values: np.ndarray) -> np.ndarray:
        """E[values(s') | s, a] as an action-major (A, S) array, for per-state ``values`` (S,)."""
        if self._next_am.shape[0] == 1:
            return np.take(values, self._next_am[0])
        return (np.take(values, self._next_am) * self._probs_am).sum(axis=0)

    def policy_matrix(self, policy: np.ndarray) -> sp.csr_matrix:
        """Sparse (S, S) state-to-state transition matrix under ``policy`` (S, A); terminal rows are zero."""
        weight = policy[:, :, None] * self.next_probs
        weight[self.terminal] = 0.0
        rows = np.broadcast_to(np.arange(self.n_states)[:, None, None], weight.shape)
        return sp.csr_matrix((weight.ravel(), (rows.ravel(), self.next_states.ravel())),
                             shape=(self.n_states, self.n_states))


def stack_mdps(mdps: Sequence[TabularMDP]) -> tuple[TabularMDP, np.ndarray]:
    """One block-diagonal MDP from several sharing actions and discount, plus each one's state offset."""
    if not mdps:
        raise MazeError("no MDPs to stack")
    if len({m.discount for m in mdps}) > 1 or len({m.n_actions for m in mdps}) > 1:
        raise MazeError("stacked MDPs must share their discount and number of actions")
    k = max(m.next_states.shape[2] for m in mdps)
    offsets = np.cumsum([0] + [m.n_states for m in mdps])
    next_states, next_probs = [], []
    for m, off in zip(mdps, offsets[:-1], strict=True):
        pad = k - m.next_states.shape[2]
        next_states.append(np.pad(m.next_states + off, ((0, 0), (0, 0), (0, pad)), mode="edge"))
        next_probs.append(np.pad(m.next_probs, ((0, 0), (0, 0), (0, pad))))
    legal = None
    if any(m.legal is not None for m in mdps):
        legal = np.concatenate([np.ones(m.next_states.shape[:2], bool) if m.legal is None else m.legal
                                for m in mdps])
    mdp = TabularMDP(np.concatenate(next_states), np.concatenate(next_probs),
                     np.concatenate([m.terminal for m in mdps]), mdps[0].discount, legal)
    return mdp, offsets
