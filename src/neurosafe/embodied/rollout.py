"""Closed-loop rollouts of any policy on a batch of bodies, replaying the animal's trials.

A policy is a callable ``policy(obs, reference, t) -> actions`` over a batch (one row per trial): ``obs``
(n, obs_dim), ``reference`` (n, ref_dim: the trial's coming frames, at
:data:`~neurosafe.embodied.animal.REFERENCE_OFFSETS` steps ahead) and the step ``t``. Each trial starts from
the animal's initial state of that trial, so a twin that
imitates well retraces the animal's trajectory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurosafe.core.seeds import make_rng
from neurosafe.embodied.animal import Behaviour, PlantedAnimal
from neurosafe.embodied.body import Body, BodyConfig, EmbodiedError, Push, make_body

__all__ = ["AnimalPolicy", "PhaseScrambled", "Policy", "Rollout", "rollout"]

Policy = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


@dataclass
class Rollout:
    """What a policy did, over (trial, time, ...): observations, actions, kinematics, and per step whether
    the body had fallen, how many joints were past their limits and the mechanical power (W)."""

    obs: np.ndarray
    actions: np.ndarray
    kinematics: np.ndarray
    fallen: np.ndarray
    violations: np.ndarray
    power: np.ndarray
    dt: float
    kinematic_names: list[str]


class AnimalPolicy:
    """The planted animal as a policy on replayed trials: its central state (CPG phases, amplitudes) of
    trial k at step t, its reflexes on the current observation."""

    def __init__(self, animal: PlantedAnimal, behaviour: Behaviour, body: Body) -> None:
        self.animal, self.central, self.body = animal, behaviour.central, body

    def __call__(self, obs: np.ndarray, reference: np.ndarray, t: int) -> np.ndarray:
        return self.animal.act(obs, self.central[:, t], self.body)


class PhaseScrambled:
    """A deliberately wrong twin: ``policy``'s actions with each joint delayed by its own number of steps
    (drawn from ``seed``), which scrambles the phase relations between joints while keeping every joint's
    own rhythm, amplitude and statistics."""

    def __init__(self, policy: Policy, n_act: int, seed: int = 0, max_delay: int = 6) -> None:
        self.policy = policy
        rng = make_rng(seed, "phase_scramble")
        self.delays = rng.permutation(np.linspace(0, max_delay, n_act).round().astype(int))
        self._history: list[np.ndarray] = []

    def __call__(self, obs: np.ndarray, reference: np.ndarray, t: int) -> np.ndarray:
        if t == 0:
            self._history = []
        self._history.append(np.asarray(self.policy(obs, reference, t)))
        out = np.empty_like(self._history[-1])
        for j, d in enumerate(self.delays):
            out[:, j] = self._history[max(len(self._history) - 1 - d, 0)][:, j]
        return out


def rollout(policy: Policy, behaviour: Behaviour, body: BodyConfig | None = None, n_steps: int | None = None,
            pushes: list[Push] | None = None, stop_on_fall: bool = False) -> Rollout:
    """Run ``policy`` on one body per trial of ``behaviour`` (same starts, same references) under ``body``
    (default: the behaviour's own conditions), with optional per-run ``pushes``; returns a :class:`Rollout`.
    ``stop_on_fall``: a fallen body gets zero actions from then on."""
    cfg = body or behaviour.body
    n_steps = behaviour.n_steps if n_steps is None else n_steps
    if not 1 <= n_steps <= behaviour.n_steps:
        raise EmbodiedError(f"n_steps must lie in [1, {behaviour.n_steps}]; got {n_steps}")
    bodies = [make_body(cfg) for _ in range(behaviour.n_trials)]
    for b, q, v in zip(bodies, behaviour.initial_qpos, behaviour.initial_qvel, strict=True):
        if len(q) != b.model.nq:
            raise EmbodiedError(f"the behaviour was recorded on another body ({len(q)} positions, this one "
                                f"has {b.model.nq})")
        b.extra_pushes = list(pushes or [])
        b.reset(qpos=q, qvel=v)
    n, b0 = behaviour.n_trials, bodies[0]
    qpos = np.zeros((n, n_steps, b0.model.nq))
    qvel = np.zeros((n, n_steps, b0.model.nv))
    obs = np.zeros((n, n_steps, b0.obs_dim))
    acts = np.zeros((n, n_steps, b0.n_act))
    current = np.stack([b.observation() for b in bodies])
    down = np.zeros(n, dtype=bool)
    for t in range(n_steps):
        obs[:, t] = current
        a = np.clip(np.asarray(policy(current, behaviour.reference[:, t], t), dtype=float), -1, 1)
        if stop_on_fall:
            a[down] = 0.0
        acts[:, t] = a
        for k, b in enumerate(bodies):
            b.advance(a[k])
            qpos[k, t] = b.data.qpos
            qvel[k, t] = b.data.qvel
        current = np.concatenate([qpos[:, t, 1:], qvel[:, t]], axis=1)
        if stop_on_fall:
            down |= b0.safety_of(b0.kinematics_of(qpos[:, t], qvel[:, t], a))[0]
    kin = b0.kinematics_of(qpos, qvel, acts)
    fallen, viol, power = b0.safety_of(kin)
    return Rollout(obs, acts, kin, fallen, viol, power, b0.dt, b0.kinematic_names())
