"""A task-reward-only control agent: the twin's architecture trained by PPO on forward progress.

Proximal policy optimisation with a clipped surrogate objective and generalised advantage estimation
(Schulman et al. 2017, "Proximal policy optimization algorithms", arXiv:1707.06347; Schulman et al. 2016,
GAE). The agent is an :class:`~neurosafe.embodied.twin.EmbodiedTwin` (same encoder, latent and decoder, same
reference input from the animal's trials) with a learned Gaussian action noise; it is rewarded for forward
velocity minus 0.1 |a|^2 (gymnasium's half-cheetah reward) and never sees the animal's actions. Kept small
(a few thousand steps per iteration on a batch of bodies, a separate value MLP); checkpointed per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from pydantic import Field
from torch import nn

from neurosafe.core import progress as display
from neurosafe.core.checkpoint import fingerprint as run_fingerprint
from neurosafe.core.checkpoint import load_checkpoint, save_checkpoint
from neurosafe.core.hashing import data_hash
from neurosafe.core.seeds import make_rng, torch_generator
from neurosafe.embodied.animal import Behaviour
from neurosafe.embodied.body import EmbodiedError, _Config, make_body
from neurosafe.embodied.twin import EmbodiedTwin

__all__ = ["PPOConfig", "PPOFit", "train_task_agent"]


class PPOConfig(_Config):
    """PPO settings: ``iterations`` of ``steps`` control steps on each of the behaviour's trials' bodies,
    ``epochs`` of minibatch updates per iteration, discount ``gamma``, GAE ``lam``, ``clip``, Adam ``lr``,
    network size (as the twin's) and ``seed``."""

    iterations: int = Field(20, ge=1)
    steps: int = Field(100, ge=2)
    epochs: int = Field(4, ge=1)
    batch_size: int = Field(256, ge=1)
    gamma: float = Field(0.99, gt=0, le=1)
    lam: float = Field(0.95, ge=0, le=1)
    clip: float = Field(0.2, gt=0)
    lr: float = Field(3e-4, gt=0)
    hidden: int = Field(64, ge=2)
    latent: int = Field(8, ge=1)
    seed: int = Field(0, ge=0)
    progress: bool | None = None


@dataclass
class PPOFit:
    """The trained agent (deterministic policy: the mean action) and its mean reward per iteration."""

    agent: EmbodiedTwin
    config: PPOConfig
    history: list[dict] = field(default_factory=list)


def _gaussian_logp(mean: torch.Tensor, log_std: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return (-0.5 * ((a - mean) / log_std.exp()).pow(2) - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)


def train_task_agent(behaviour: Behaviour, config: PPOConfig | None = None,
                     checkpoint: str | Path | None = None) -> PPOFit:
    """Train the twin's architecture with PPO on task reward only, on the bodies of ``behaviour``'s trials
    (each episode starts at a trial's initial state and sees that trial's reference; a fallen body restarts)."""
    config = config or PPOConfig()
    if config.steps > behaviour.n_steps:
        raise EmbodiedError(f"PPO steps per iteration ({config.steps}) exceed the trials' length "
                            f"({behaviour.n_steps})")
    torch.manual_seed(0)  # parameters are then drawn from the seeded generator below
    bodies = [make_body(behaviour.body) for _ in range(behaviour.n_trials)]
    b0 = bodies[0]
    agent = EmbodiedTwin(b0.obs_dim, behaviour.reference.shape[-1], b0.n_act, config.hidden, config.latent)
    value = nn.Sequential(nn.Linear(b0.obs_dim + behaviour.reference.shape[-1], config.hidden), nn.Tanh(),
                          nn.Linear(config.hidden, 1))
    gen = torch_generator(config.seed, "ppo_init")
    with torch.no_grad():
        for p in [*agent.parameters(), *value.parameters()]:
            if p.dim() == 2:
                bound = 1 / np.sqrt(p.shape[1])
                p.copy_(torch.rand(p.shape, generator=gen) * 2 * bound - bound)
    agent.set_normalisation(behaviour.obs, behaviour.reference)
    params = [*agent.parameters(), *value.parameters()]
    opt = torch.optim.Adam(params, lr=config.lr)
    gen = torch_generator(config.seed, "ppo_batches")
    rng = make_rng(config.seed, "ppo_actions")
    history: list[dict] = []
    start = 0
    fp = run_fingerprint(config.model_dump(exclude={"progress"}), data_hash(behaviour.obs, behaviour.reference))
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, fp)
        if state is not None:
            agent.load_state_dict(state["agent"])
            value.load_state_dict(state["value"])
            opt.load_state_dict(state["optimizer"])
            gen.set_state(state["generator"])
            rng.bit_generator.state = state["rng"]
            history, start = list(state["history"]), int(state["iteration"])
    n = behaviour.n_trials
    torch.as_tensor(behaviour.reference, dtype=torch.float32)
    for it in display.track(range(start, config.iterations), "PPO task agent", total=config.iterations,
                            initial=start, unit="iteration", show=config.progress):
        # on-policy batch: every body from its trial's start, `steps` steps
        for b, q, v in zip(bodies, behaviour.initial_qpos, behaviour.initial_qvel, strict=True):
            b.reset(qpos=q, qvel=v)
        obs_buf = np.zeros((config.steps, n, b0.obs_dim))
        act_buf = np.zeros((config.steps, n, b0.n_act))
        rew = np.zeros((config.steps, n))
        done = np.zeros((config.steps, n))
        obs = np.stack([b.observation() for b in bodies])
        tstep = np.zeros(n, dtype=int)
        falls = 0
        ref_buf = np.zeros((config.steps, n, behaviour.reference.shape[-1]))
        for t in range(config.steps):
            ref = behaviour.reference[np.arange(n), tstep]
            with torch.no_grad():
                mean = agent(torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(ref, dtype=torch.float32))
            std = agent.log_std.detach().exp().numpy()
            a = mean.numpy() + std * rng.standard_normal(mean.shape)
            obs_buf[t], act_buf[t], ref_buf[t] = obs, a, ref
            for k, b in enumerate(bodies):
                obs[k] = b.step(a[k])
                rew[t, k] = b.forward_velocity() - 0.1 * float(np.square(b.last_action).sum())
                tstep[k] += 1
                fell = b.fallen()
                falls += fell
                if fell or tstep[k] >= behaviour.n_steps:
                    done[t, k] = 1.0
                    obs[k] = b.reset(qpos=behaviour.initial_qpos[k], qvel=behaviour.initial_qvel[k])
                    tstep[k] = 0
        last_ref = behaviour.reference[np.arange(n), tstep]
        o = torch.as_tensor(obs_buf, dtype=torch.float32)
        r_t = torch.as_tensor(ref_buf, dtype=torch.float32)
        a_t = torch.as_tensor(act_buf, dtype=torch.float32)
        with torch.no_grad():
            v_t = value(torch.cat([o, r_t], -1)).squeeze(-1).numpy()
            v_last = value(torch.cat([torch.as_tensor(obs, dtype=torch.float32),
                                      torch.as_tensor(last_ref, dtype=torch.float32)], -1)).squeeze(-1).numpy()
            logp_old = _gaussian_logp(agent(o, r_t), agent.log_std, a_t)
        adv = np.zeros_like(rew)
        gae = np.zeros(n)
        for t in reversed(range(config.steps)):
            nxt = v_last if t == config.steps - 1 else v_t[t + 1]
            delta = rew[t] + config.gamma * nxt * (1 - done[t]) - v_t[t]
            gae = delta + config.gamma * config.lam * (1 - done[t]) * gae
            adv[t] = gae
        ret = torch.as_tensor(adv + v_t, dtype=torch.float32).reshape(-1)
        adv_t = torch.as_tensor(adv, dtype=torch.float32).reshape(-1)
        adv_t = (adv_t - adv_t.mean()) / (adv_t.std() + 1e-8)
        flat = [x.reshape(-1, x.shape[-1]) for x in (o, r_t, a_t)]
        logp_old = logp_old.reshape(-1)
        total = len(adv_t)
        for _ in range(config.epochs):
            order = torch.randperm(total, generator=gen)
            for s in range(0, total, config.batch_size):
                idx = order[s:s + config.batch_size]
                ob, rf, ac = (x[idx] for x in flat)
                logp = _gaussian_logp(agent(ob, rf), agent.log_std, ac)
                ratio = (logp - logp_old[idx]).exp()
                surrogate = torch.min(ratio * adv_t[idx],
                                      ratio.clamp(1 - config.clip, 1 + config.clip) * adv_t[idx]).mean()
                v_loss = (value(torch.cat([ob, rf], -1)).squeeze(-1) - ret[idx]).pow(2).mean()
                loss = -surrogate + 0.5 * v_loss
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, 0.5)
                opt.step()
        history.append({"iteration": it, "mean_reward": float(rew.mean()), "falls": int(falls)})
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"agent": agent.state_dict(), "value": value.state_dict(),
                                         "optimizer": opt.state_dict(), "generator": gen.get_state(),
                                         "rng": rng.bit_generator.state, "history": history,
                                         "iteration": it + 1}, fp)
    agent.eval()
    return PPOFit(agent, config, history)
