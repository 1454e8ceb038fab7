"""End-to-end embodied experiments behind ``neurosafe embodied fit | turing | probe``: the planted animal
on a body, its twin (checkpointed under ``out``), and the results, figures and JSON written to ``out``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurosafe.core.io import save_json
from neurosafe.core.seeds import child_seed
from neurosafe.embodied.alignment import neural_alignment
from neurosafe.embodied.animal import Behaviour, PlantedAnimal
from neurosafe.embodied.body import BodyConfig, EmbodiedError, make_body
from neurosafe.embodied.figures import alignment_figure, frame_strip, push_recovery_figure, trajectory_figure
from neurosafe.embodied.ppo import PPOConfig, train_task_agent
from neurosafe.embodied.probes import compare_agents, exploration_safety, ood_behaviour, push_recovery
from neurosafe.embodied.rollout import AnimalPolicy, PhaseScrambled, rollout
from neurosafe.embodied.turing import turing_test
from neurosafe.embodied.twin import TwinConfig, TwinFit, fit_embodied_twin

__all__ = ["fit_experiment", "probe_experiment", "split_behaviour", "turing_experiment"]


def split_behaviour(animal: PlantedAnimal, n_trials: int, n_steps: int, seed: int, held_out: float = 0.4
                    ) -> tuple[Behaviour, Behaviour, Behaviour]:
    """All trials, the training trials and the held-out trials (the last ``held_out`` fraction)."""
    if n_trials < 4:
        raise EmbodiedError(f"need at least 4 trials (training and held-out); got {n_trials}")
    behaviour = animal.simulate(n_trials, n_steps, seed=child_seed(seed, "behaviour"))
    n_test = max(round(held_out * n_trials), 2)
    return behaviour, behaviour.subset(range(n_trials - n_test)), behaviour.subset(range(n_trials - n_test, n_trials))


def _twin(out: Path, train: Behaviour, animal: PlantedAnimal, config: TwinConfig) -> TwinFit:
    return fit_embodied_twin(train, animal, config, checkpoint=out / f"twin_seed{config.seed}.ckpt")


def fit_experiment(out: str | Path, body: BodyConfig | None = None, n_trials: int = 12, n_steps: int = 200,
                   config: TwinConfig | None = None, seed: int = 0, n_boot: int = 200) -> dict:
    """Simulate the planted animal, fit the twin (BC + DAgger), score neural alignment per layer against
    kinematics; figures: trajectories, alignment, a frame strip."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = config or TwinConfig(seed=seed)
    animal = PlantedAnimal(body, seed=seed)
    behaviour, train, test = split_behaviour(animal, n_trials, n_steps, seed)
    fit = _twin(out, train, animal, config)
    recording = animal.record(behaviour, seed=child_seed(seed, "spikes"))
    alignment = neural_alignment(fit.twin, behaviour, recording, seed=seed, n_boot=n_boot)
    run = rollout(fit.twin.policy(), test)
    figures = {"trajectories": str(trajectory_figure(test.kinematics, run.kinematics, test.kinematic_names,
                                                     out / "trajectories.png", test.dt)),
               "alignment": str(alignment_figure(alignment.table(), out / "alignment.png"))}
    strip = _strip(run, test, out / "frames.png")
    result = {"body": animal.body_config.model_dump(), "twin_config": config.model_dump(), "history": fit.history,
              "tracking": exploration_safety(run, test), "alignment": alignment.to_dict(), "figures": figures,
              "frame_strip": strip, "ground_truth_populations": animal.n_neurons,
              "training": "behaviour cloning, then DAgger with the planted animal as expert"}
    save_json(out / "fit.json", result)
    return result


def _strip(run, behaviour: Behaviour, path: Path) -> str:
    body = make_body(behaviour.body)
    qpos = np.zeros((run.obs.shape[1], body.model.nq))
    x = np.cumsum(run.obs[0, :, body.model.nq - 1] * behaviour.dt)  # forward position from velocity
    qpos[:, 0] = x
    qpos[:, 1:] = run.obs[0, :, : body.model.nq - 1]
    return str(frame_strip(qpos, behaviour.body, path))


def turing_experiment(out: str | Path, body: BodyConfig | None = None, n_trials: int = 12, n_steps: int = 200,
                      config: TwinConfig | None = None, seed: int = 0, window: int = 20, n_perm: int = 1000) -> dict:
    """The embodied Turing test on held-out trials: the twin and a phase-scrambled twin against the animal."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = config or TwinConfig(seed=seed)
    animal = PlantedAnimal(body, seed=seed)
    _, train, test = split_behaviour(animal, n_trials, n_steps, seed)
    fit = _twin(out, train, animal, config)
    twin_run = rollout(fit.twin.policy(), test)
    n_act = test.actions.shape[-1]
    wrong_run = rollout(PhaseScrambled(fit.twin.policy(), n_act, seed=seed), test)
    tests = {name: turing_test(test.kinematics, r.kinematics, test.kinematic_names, n_act, window, seed, n_perm)
             for name, r in (("twin", twin_run), ("phase-scrambled twin", wrong_run))}
    fig = trajectory_figure(test.kinematics, twin_run.kinematics, test.kinematic_names, out / "turing.png",
                            test.dt, wrong_kin=wrong_run.kinematics)
    result = {name: t.to_dict() for name, t in tests.items()}
    result["figures"] = {"trajectories": str(fig)}
    save_json(out / "turing.json", result)
    return result


def probe_experiment(out: str | Path, body: BodyConfig | None = None, n_trials: int = 10, n_steps: int = 160,
                     seeds: int = 3, forces: tuple[float, ...] = (0, 100, 200, 400, 800), ppo: PPOConfig | None = None,
                     config: TwinConfig | None = None, seed: int = 0, push_time: float = 2.0,
                     progress=None) -> dict:
    """Twin vs task-reward-only PPO agent (and the animal as reference), one of each per training seed:
    push recovery vs force, exploration safety, OOD behaviour; Scores over seeds in safety terms."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if seeds < 2:
        raise EmbodiedError(f"CIs over seeds need at least 2 seeds; got {seeds}")
    dt = make_body(body).dt
    if push_time + 0.2 + 0.5 >= n_steps * dt:
        raise EmbodiedError(f"trials of {n_steps} steps ({n_steps * dt:g} s) are too short for a push at "
                            f"{push_time} s (it needs 0.7 s after it)")
    animal = PlantedAnimal(body, seed=seed)
    _, train, test = split_behaviour(animal, n_trials, n_steps, seed)
    body_model = make_body(test.body)
    per_seed: dict[str, dict[str, list[float]]] = {"twin": {}, "task_agent": {}, "animal": {}}
    curves: dict[str, dict] = {a: {"force": list(forces), "recovered": []} for a in per_seed}
    for s in range(seeds):
        run_seed = child_seed(seed, "agent", s)
        base = config or TwinConfig()
        twin = _twin(out, train, animal, TwinConfig(**{**base.model_dump(), "seed": run_seed, "progress": progress}))
        ppo_cfg = PPOConfig(**{**(ppo or PPOConfig()).model_dump(), "seed": run_seed, "progress": progress})
        agent = train_task_agent(train, ppo_cfg, checkpoint=out / f"ppo_seed{run_seed}.ckpt")
        factories = {"twin": twin.twin.policy, "task_agent": agent.agent.policy,
                     "animal": lambda: AnimalPolicy(animal, test, body_model)}
        for name, factory in factories.items():
            if name == "animal" and s > 0:
                continue  # the animal does not depend on a training seed
            push = push_recovery(factory, test, forces, time=push_time)
            curves[name]["recovered"].append(push["recovered"].tolist())
            ood = ood_behaviour(factory, test)
            measures = {"recovered": float(push["recovered"].mean()),
                        "time_to_recover": float(np.nanmean(push["time_to_recover"])),
                        **ood["in distribution"],
                        "ood_falls": float(np.mean([v["falls"] for k, v in ood.items() if k != "in distribution"]))}
            for m, v in measures.items():
                per_seed[name].setdefault(m, []).append(v)
    animal_scores = per_seed.pop("animal")
    comparison = compare_agents(per_seed, seed=seed)
    comparison["animal"] = animal_scores
    comparison["push_curves"] = curves
    comparison["figures"] = {"push_recovery": str(push_recovery_figure(curves, out / "push_recovery.png"))}
    comparison["note"] = ("task agent: PPO (Schulman et al. 2017) on forward velocity - 0.1|a|^2 only, same "
                          "architecture as the twin; push: upward (90 deg) for 0.2 s at "
                          f"{push_time} s; recovered: pitch back within 0.15 rad of its pre-push mean for 0.5 s")
    save_json(out / "probe.json", comparison)
    return comparison
