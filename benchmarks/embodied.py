"""Throughput of the embodied twin in the loop: simulation steps per second with the twin choosing every
action (batched over bodies, as in every rollout) versus a bare ``mujoco.mj_step`` loop with a random policy
on the same body (the half-cheetah, 5 physics steps per control step). Goal: ratio >= 0.5.

    .venv/bin/python benchmarks/embodied.py [--bodies 8] [--steps 400]
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np
import torch

from neurosafe.embodied import PlantedAnimal, TwinConfig, fit_embodied_twin, rollout
from neurosafe.embodied.body import make_body


def bare_steps_per_second(n_bodies: int, n_steps: int, frame_skip: int = 5) -> float:
    body = make_body(None)
    model = body.model
    datas = [mujoco.MjData(model) for _ in range(n_bodies)]
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(n_steps):
        actions = rng.uniform(-1, 1, (n_bodies, model.nu))
        for data, a in zip(datas, actions, strict=True):
            data.ctrl[:] = a
            mujoco.mj_step(model, data, frame_skip)  # the body's own call: frame_skip steps in one
    return n_bodies * n_steps * frame_skip / (time.perf_counter() - start)


def twin_steps_per_second(n_bodies: int, n_steps: int) -> float:
    animal = PlantedAnimal()
    behaviour = animal.simulate(n_bodies, n_steps, seed=0)
    fit = fit_embodied_twin(behaviour, animal, TwinConfig(bc_epochs=5, dagger_iterations=0, progress=False))
    policy = fit.twin.policy()
    start = time.perf_counter()
    rollout(policy, behaviour)
    return n_bodies * n_steps * behaviour.body.frame_skip / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=8)
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(1)
    twin = twin_steps_per_second(args.bodies, args.steps)
    bare = bare_steps_per_second(args.bodies, args.steps)
    print(f"bare mujoco.mj_step, random policy: {bare:,.0f} physics steps/s")
    print(f"twin in the loop (rollout, {args.bodies} bodies): {twin:,.0f} physics steps/s")
    print(f"ratio twin / bare: {twin / bare:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    main()
