"""The embodied twin: an imitation policy with a low-dimensional latent "intention" bottleneck.

Architecture after MIMIC (Aldarondo et al. 2024, "A virtual rodent predicts the structure of neural activity
across behaviours", Nature 632:594; Merel et al. 2019 "Neural probabilistic motor primitives"): an encoder
reads the current observation and the reference (the animal's coming frames) and compresses them into a small
latent; a decoder maps the latent to the actions. Simplifications and choices: MLPs; a deterministic
bottleneck with an L2 penalty instead of MIMIC's variational (KL) one; by default the decoder does not also
read the observation (MIMIC's does), so the latent must carry the whole control state, and it predicts a
short motor plan (the expert's actions for ``horizon`` steps, the first one executed; action chunking) so
the latent carries where the movement is going.

Training is imitation only: behaviour cloning on the animal's trials, then DAgger (Ross, Gordon & Bagnell
2011, "A reduction of imitation learning and structured prediction to no-regret online learning", AISTATS):
the twin drives the body (mixed with the expert with probability beta^i), the animal labels every state the
twin visits (:meth:`PlantedAnimal.act` with the trial's central state), and the twin is refitted on the
aggregate. The run checkpoints after every stage and resumes only under the same fingerprint
(:mod:`neurosafe.core.checkpoint`), as :mod:`neurosafe.subjects.training` does.
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
from neurosafe.embodied.animal import Behaviour, PlantedAnimal
from neurosafe.embodied.body import EmbodiedError, _Config, make_body
from neurosafe.embodied.rollout import AnimalPolicy, rollout

__all__ = ["SITES", "EmbodiedTwin", "TwinConfig", "TwinFit", "fit_embodied_twin", "plan_targets"]

SITES = ("encoder", "latent", "decoder", "action")


class EmbodiedTwin(nn.Module):
    """Encoder (obs + reference -> hidden) -> latent bottleneck -> decoder (latent [+ obs] -> hidden) ->
    plan of ``horizon`` actions (tanh), the first executed. Inputs are standardised with the training data's
    statistics (buffers). ``log_std`` is the Gaussian action noise a PPO agent of the same architecture
    learns (unused by imitation)."""

    def __init__(self, obs_dim: int, ref_dim: int, n_act: int, hidden: int = 64, latent: int = 8,
                 horizon: int = 1, proprioceptive_decoder: bool = True) -> None:
        super().__init__()
        self.proprioceptive_decoder = proprioceptive_decoder
        self.obs_dim, self.ref_dim, self.n_act, self.horizon = obs_dim, ref_dim, n_act, horizon
        self.encoder = nn.Sequential(nn.Linear(obs_dim + ref_dim, hidden), nn.Tanh())
        self.latent = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent + obs_dim * proprioceptive_decoder, hidden), nn.Tanh())
        self.action = nn.Linear(hidden, n_act * horizon)
        self.log_std = nn.Parameter(torch.full((n_act,), -0.5))
        for name, dim in (("obs", obs_dim), ("ref", ref_dim)):
            self.register_buffer(f"{name}_mean", torch.zeros(dim))
            self.register_buffer(f"{name}_std", torch.ones(dim))

    def set_normalisation(self, obs: np.ndarray, ref: np.ndarray) -> None:
        for name, x in (("obs", obs), ("ref", ref)):
            x = torch.as_tensor(x.reshape(-1, x.shape[-1]), dtype=torch.float32)
            getattr(self, f"{name}_mean").copy_(x.mean(0))
            getattr(self, f"{name}_std").copy_(x.std(0).clamp_min(1e-3))

    def activations(self, obs: torch.Tensor, ref: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every site's activity (``SITES``); ``action`` is the mean action in [-1, 1] and ``plan`` the
        actions planned for this and the next ``horizon - 1`` steps (time-major)."""
        o = (obs - self.obs_mean) / self.obs_std
        r = (ref - self.ref_mean) / self.ref_std
        h = self.encoder(torch.cat([o, r], -1))
        z = self.latent(h)
        d = self.decoder(torch.cat([z, o], -1) if self.proprioceptive_decoder else z)
        plan = torch.tanh(self.action(d))
        return {"encoder": h, "latent": z, "decoder": d, "action": plan[..., : self.n_act], "plan": plan}

    def forward(self, obs: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return self.activations(obs, ref)["action"]

    def policy(self):
        """This twin's mean action as a rollout policy: a numpy copy of the current weights (float64), which
        for a network this small is several times faster per step than a torch call."""
        w = {k: v.detach().double().numpy() for k, v in self.state_dict().items()}
        n = self.n_act

        def act(obs: np.ndarray, ref: np.ndarray, t: int) -> np.ndarray:
            o = (obs - w["obs_mean"]) / w["obs_std"]
            r = (ref - w["ref_mean"]) / w["ref_std"]
            h = np.tanh(np.concatenate([o, r], -1) @ w["encoder.0.weight"].T + w["encoder.0.bias"])
            z = h @ w["latent.weight"].T + w["latent.bias"]
            zo = np.concatenate([z, o], -1) if self.proprioceptive_decoder else z
            d = np.tanh(zo @ w["decoder.0.weight"].T + w["decoder.0.bias"])
            return np.tanh(d @ w["action.weight"][:n].T + w["action.bias"][:n])

        return act


class TwinConfig(_Config):
    """Imitation settings: network size (``hidden``, ``latent``), the planning ``horizon`` (the decoder
    predicts the expert's actions for this many steps, of which the first is executed), behaviour-cloning epochs, DAgger
    iterations (each: one rollout per training trial, then ``dagger_epochs`` of refitting on the aggregate),
    the expert-mixing decay ``beta`` (expert drives with probability beta^i at iteration i >= 1), Adam
    ``lr``, ``batch_size``, the latent L2 weight and the ``seed``."""

    hidden: int = Field(64, ge=2)
    latent: int = Field(16, ge=1)
    horizon: int = Field(4, ge=1)
    proprioceptive_decoder: bool = False
    bc_epochs: int = Field(60, ge=1)
    dagger_iterations: int = Field(3, ge=0)
    dagger_epochs: int = Field(20, ge=1)
    beta: float = Field(0.5, ge=0, le=1)
    lr: float = Field(3e-3, gt=0)
    batch_size: int = Field(256, ge=1)
    latent_l2: float = Field(1e-3, ge=0)
    seed: int = Field(0, ge=0)
    progress: bool | None = None


@dataclass
class TwinFit:
    """A fitted twin with its training history (loss per epoch, per stage) and the DAgger data size."""

    twin: EmbodiedTwin
    config: TwinConfig
    history: list[dict] = field(default_factory=list)
    n_samples: int = 0


def _fit_epochs(twin: EmbodiedTwin, opt: torch.optim.Optimizer, data: tuple[torch.Tensor, ...], epochs: int,
                config: TwinConfig, gen: torch.Generator) -> float:
    obs, ref, act = data
    n = len(obs)
    loss_value = float("nan")
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            out = twin.activations(obs[idx], ref[idx])
            loss = nn.functional.mse_loss(out["plan"], act[idx])
            penalty = config.latent_l2 * out["latent"].pow(2).mean()
            opt.zero_grad()
            (loss + penalty).backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        loss_value = total / n
    return loss_value


def plan_targets(actions: np.ndarray, horizon: int) -> np.ndarray:
    """(trial, time, n_act * horizon): the actions of each step and the next ``horizon - 1`` ones (the last
    action repeated past a trial's end)."""
    n = actions.shape[1]
    idx = np.minimum(np.arange(n)[:, None] + np.arange(horizon)[None, :], n - 1)
    return actions[:, idx].reshape(actions.shape[0], n, -1)


def _tensors(obs: np.ndarray, ref: np.ndarray, act: np.ndarray) -> tuple[torch.Tensor, ...]:
    """(obs, ref, act) flattened over trials and steps."""
    return tuple(torch.as_tensor(x.reshape(-1, x.shape[-1]), dtype=torch.float32) for x in (obs, ref, act))


def fit_embodied_twin(behaviour: Behaviour, animal: PlantedAnimal, config: TwinConfig | None = None,
                      checkpoint: str | Path | None = None) -> TwinFit:
    """Fit an :class:`EmbodiedTwin` to ``behaviour`` by behaviour cloning then DAgger with ``animal`` as
    the expert (see the module docstring). With ``checkpoint``, every stage is saved and a rerun of the same
    fit (same config, behaviour, code) resumes after the last finished stage."""
    config = config or TwinConfig()
    if behaviour.n_trials < 1:
        raise EmbodiedError("no trials to imitate")
    torch.manual_seed(0)  # parameter init is drawn from the seeded generator below
    body = make_body(behaviour.body)
    twin = EmbodiedTwin(body.obs_dim, behaviour.reference.shape[-1], body.n_act, config.hidden, config.latent,
                        config.horizon, config.proprioceptive_decoder)
    gen = torch_generator(config.seed, "twin_init")
    with torch.no_grad():
        for p in twin.parameters():
            if p.dim() == 2:
                bound = 1 / np.sqrt(p.shape[1])
                p.copy_(torch.rand(p.shape, generator=gen) * 2 * bound - bound)
    twin.set_normalisation(behaviour.obs, behaviour.reference)
    opt = torch.optim.Adam(twin.parameters(), lr=config.lr)
    gen = torch_generator(config.seed, "twin_batches")
    data = _tensors(behaviour.obs, behaviour.reference, plan_targets(behaviour.actions, config.horizon))
    history: list[dict] = []
    stage0 = 0
    fp = run_fingerprint(config.model_dump(exclude={"progress"}), data_hash(behaviour.obs, behaviour.actions,
                                                                             behaviour.reference))
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, fp)
        if state is not None:
            twin.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            gen.set_state(state["generator"])
            data = (state["obs"], state["ref"], state["act"])
            history, stage0 = list(state["history"]), int(state["stage"])
    expert = AnimalPolicy(animal, behaviour, body)
    rng = make_rng(config.seed, "dagger_mixing")
    n_stages = 1 + config.dagger_iterations
    # the mixing draws of finished stages are replayed so a resumed run continues the same stream
    mixing = [rng.random((behaviour.n_trials, behaviour.n_steps)) for _ in range(n_stages)]
    for stage in display.track(range(stage0, n_stages), "fit embodied twin", total=n_stages, initial=stage0,
                               unit="stage", show=config.progress):
        if stage > 0:
            twin.eval()
            policy = twin.policy()
            use_expert = mixing[stage] < config.beta ** stage

            def mixed(obs, ref, t, policy=policy, use_expert=use_expert):
                a = policy(obs, ref, t)
                e = expert(obs, ref, t)
                return np.where(use_expert[:, t, None], e, a)

            run = rollout(mixed, behaviour)
            labels = animal.act(run.obs, behaviour.central, body)
            new = _tensors(run.obs, behaviour.reference, plan_targets(labels, config.horizon))
            data = tuple(torch.cat([a, b]) for a, b in zip(data, new, strict=True))
            twin.train()
        epochs = config.bc_epochs if stage == 0 else config.dagger_epochs
        loss = _fit_epochs(twin, opt, data, epochs, config, gen)
        history.append({"stage": "bc" if stage == 0 else f"dagger{stage}", "loss": loss, "n_samples": len(data[0])})
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"model": twin.state_dict(), "optimizer": opt.state_dict(),
                                         "generator": gen.get_state(), "obs": data[0], "ref": data[1],
                                         "act": data[2], "history": history, "stage": stage + 1}, fp)
    twin.eval()
    return TwinFit(twin, config, history, len(data[0]))
