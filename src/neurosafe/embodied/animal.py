"""A planted animal: a controller with biological structure whose internal units are recorded as neurons.

No motion capture with simultaneous neurons is reachable here, so the ground truth is planted, as
:class:`~neurosafe.data.SyntheticBrain` plants a visual cortex:

- a **central pattern generator**: one phase oscillator per actuated joint, coupled towards a gait's phase
  lags (Kuramoto-type coupled oscillators as in Ijspeert 2008, "Central pattern generators for locomotion
  control in animals and robots", Neural Networks 21:642), each with an amplitude that relaxes to its target;
- **sensory reflexes**: a righting reflex on the torso's pitch and pitch rate (to the hips) and a stretch
  reflex pulling each joint towards rest, both from the body's observation;
- a slow **intention** (speed and stride), Ornstein-Uhlenbeck processes with a 2 s time constant, that set
  the oscillators' frequency and amplitude.

The motor command is ``tanh(amplitude * sin(phase) + posture + reflexes)``, where the posture is a tonic
lean set by the speed intention (a faster gait leans into it). Its units (oscillator phase, intention,
reflex drive, motor command) are recorded as Poisson neurons with log-linear tuning; ``ground_truth`` is the
table of which unit encodes what. :meth:`PlantedAnimal.act` is the animal's policy at any observation given
its central state, which makes the animal the expert that DAgger queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from neurosafe.core.seeds import make_rng, spawn_seeds
from neurosafe.data.io import Recording
from neurosafe.data.recording import make_responses
from neurosafe.embodied.body import Body, BodyConfig, EmbodiedError, make_body

__all__ = ["REFERENCE_OFFSETS", "Behaviour", "PlantedAnimal", "reference_features"]

# gait phase lags (rad) and amplitudes per joint (actuator order of each body)
_GAITS = {
    # a gallop-like gait: the front leg a quarter cycle after the back leg, each leg's joints together
    # (chosen among a few lag patterns as the one that moves forward without flipping)
    "half_cheetah": (np.array([0.0, 0.0, 0.0, np.pi / 2, np.pi / 2, np.pi / 2]),
                     np.array([0.54, 0.48, 0.36, 0.54, 0.42, 0.3])),
    "swimmer": (np.array([0.0, -np.pi / 2]), np.array([0.9, 0.9])),
}
REFERENCE_OFFSETS = (1, 2, 4, 8)  # the future frames (control steps ahead) of the reference a twin sees


@dataclass
class Behaviour:
    """Trials of behaviour: arrays over (trial, time, ...). ``obs[:, t]`` is seen before ``actions[:, t]``;
    ``reference[:, t]`` are the trajectory's frames ``REFERENCE_OFFSETS`` steps ahead (what an imitating twin is told);
    ``central`` holds the animal's central state (phases, amplitudes, postures) and ``intention`` (speed, stride);
    ``initial`` the (qpos, qvel) each trial starts from; ``dt`` the control step (s)."""

    obs: np.ndarray
    actions: np.ndarray
    kinematics: np.ndarray
    reference: np.ndarray
    intention: np.ndarray
    central: np.ndarray
    reflex: np.ndarray
    initial_qpos: np.ndarray
    initial_qvel: np.ndarray
    kinematic_names: list[str]
    dt: float
    body: BodyConfig
    extras: dict = field(default_factory=dict)

    @property
    def n_trials(self) -> int:
        return self.obs.shape[0]

    @property
    def n_steps(self) -> int:
        return self.actions.shape[1]

    def subset(self, trials) -> Behaviour:
        """The given trials only."""
        idx = np.asarray(trials)
        return Behaviour(self.obs[idx], self.actions[idx], self.kinematics[idx], self.reference[idx],
                         self.intention[idx], self.central[idx], self.reflex[idx], self.initial_qpos[idx],
                         self.initial_qvel[idx], self.kinematic_names, self.dt, self.body,
                         {k: v[idx] for k, v in self.extras.items()})


def reference_features(kinematics: np.ndarray, n_act: int) -> np.ndarray:
    """The parts of kinematic frames a twin is told (joint angles, forward velocity, pitch): (..., n_act + 2)."""
    return np.concatenate([kinematics[..., :n_act], kinematics[..., -3:-2], kinematics[..., -1:]], axis=-1)


class PlantedAnimal:
    """The planted animal on a body (see the module docstring); ``seed`` fixes its neurons' tuning.

    ``n_neurons``: units per population (cpg, intention, reflex, motor); ``rate``: mean firing rate (Hz);
    ``coupling``: oscillator coupling (1/s); ``f_range``: stepping frequency (Hz) from speed intention 0 to 1;
    ``righting``: gains of the righting reflex on pitch and pitch rate; ``stretch``: stretch-reflex gain;
    ``lean``: tonic posture per unit of speed intention; ``lead``: control steps by which the CPG and motor
    units lead the executed command (premotor activity leads movement).
    """

    def __init__(self, body: BodyConfig | None = None, n_neurons: dict | None = None, rate: float = 20.0,
                 seed: int = 0, coupling: float = 4.0, f_range: tuple[float, float] = (1.5, 3.0),
                 righting: tuple[float, float] = (-1.0, -0.2), stretch: float = 0.6, lean: float = 0.0,
                 lead: int = 3) -> None:
        self.body_config = body or BodyConfig()
        if self.body_config.body not in _GAITS:
            raise EmbodiedError(f"the planted animal has gaits for {sorted(_GAITS)}; got body "
                                f"{self.body_config.body!r}")
        self.lags, self.amplitudes = _GAITS[self.body_config.body]
        self.lean = lean * np.where(np.arange(len(self.lags)) % 2 == 0, 1.0, -1.0)
        self.n_act = len(self.lags)
        self.coupling, self.f_range, self.righting, self.stretch = coupling, f_range, righting, stretch
        self.seed, self.rate, self.lead = seed, rate, lead
        self.n_neurons = {"cpg": 24, "intention": 12, "reflex": 8, "motor": 12, **(n_neurons or {})}
        self._build_neurons(make_rng(seed, "animal_neurons"))

    # -- the controller -------------------------------------------------------------------------------
    def _thighs(self, body_name: str) -> np.ndarray:
        w = np.zeros(self.n_act)
        if body_name == "half_cheetah":
            w[0], w[3] = 1.0, 1.0
        return w

    def reflexes(self, obs: np.ndarray, body: Body) -> tuple[np.ndarray, np.ndarray]:
        """(per-joint reflex drive, righting drive) from observations (..., obs_dim)."""
        q = obs[..., body.joint_qpos - 1]
        pitch_i = body.spec.pitch_qpos
        if pitch_i is None:
            righting = np.zeros(obs.shape[:-1])
        else:
            nq1 = body.model.nq - 1
            righting = -(self.righting[0] * obs[..., pitch_i - 1] + self.righting[1] * obs[..., nq1 + pitch_i])
        drive = righting[..., None] * self._thighs(body.config.body) - self.stretch * q
        return drive, righting

    def act(self, obs: np.ndarray, central: np.ndarray, body: Body) -> np.ndarray:
        """The animal's motor command at observation(s) ``obs`` given central state(s) (phases, amplitudes)."""
        n = self.n_act
        phase, amp, posture = central[..., :n], central[..., n: 2 * n], central[..., 2 * n:]
        drive, _ = self.reflexes(obs, body)
        return np.tanh(amp * np.sin(phase) + posture + drive)

    def _intention(self, n: int, dt: float, rng: np.random.Generator) -> np.ndarray:
        tau = 2.0
        z = np.zeros((n, 2))
        z[0] = rng.standard_normal(2)
        a = np.exp(-dt / tau)
        for t in range(1, n):
            z[t] = a * z[t - 1] + np.sqrt(1 - a * a) * rng.standard_normal(2)
        speed = 1 / (1 + np.exp(-1.5 * z[:, 0]))
        stride = 0.9 + 0.2 * np.tanh(z[:, 1])
        return np.stack([speed, stride], axis=1)

    def _cpg_step(self, phase: np.ndarray, amp: np.ndarray, intention: np.ndarray, dt: float):
        f = self.f_range[0] + (self.f_range[1] - self.f_range[0]) * intention[0]
        diff = phase[None, :] - phase[:, None] - (self.lags[None, :] - self.lags[:, None])
        dphase = 2 * np.pi * f + self.coupling * np.sin(diff).mean(axis=1)
        target = self.amplitudes * intention[1]
        return phase + dt * dphase, amp + dt * 4.0 * (target - amp)

    def simulate(self, n_trials: int = 8, n_steps: int = 200, seed: int = 0, body: BodyConfig | None = None
                 ) -> Behaviour:
        """``n_trials`` trials of ``n_steps`` control steps (each with its own intention path and start)."""
        if n_trials < 1 or n_steps < 2:
            raise EmbodiedError(f"need n_trials >= 1 and n_steps >= 2; got {n_trials}, {n_steps}")
        cfg = body or self.body_config
        b = make_body(cfg)
        total = n_steps + max(*REFERENCE_OFFSETS, self.lead)
        obs = np.zeros((n_trials, total + 1, b.obs_dim))
        acts = np.zeros((n_trials, total, b.n_act))
        kin = np.zeros((n_trials, total, 3 * b.n_act + 3))
        intent = np.zeros((n_trials, total, 2))
        central = np.zeros((n_trials, total, 3 * b.n_act))
        reflex = np.zeros((n_trials, total, b.n_act + 1))
        q0 = np.zeros((n_trials, b.model.nq))
        v0 = np.zeros((n_trials, b.model.nv))
        for k, s in enumerate(spawn_seeds(seed, n_trials, "animal_trials")):
            rng = make_rng(s, "trial")
            obs[k, 0] = b.reset(seed=s)
            q0[k], v0[k] = b.data.qpos, b.data.qvel
            intent[k] = self._intention(total, b.dt, rng)
            phase = self.lags + rng.uniform(0, 2 * np.pi)
            amp = self.amplitudes * intent[k, 0, 1]
            for t in range(total):
                central[k, t] = np.r_[phase, amp, self.lean * (intent[k, t, 0] - 0.5)]
                drive, righting = self.reflexes(obs[k, t], b)
                reflex[k, t] = np.r_[drive, righting]
                acts[k, t] = self.act(obs[k, t], central[k, t], b)
                obs[k, t + 1] = b.step(acts[k, t])
                kin[k, t] = b.kinematics()
                phase, amp = self._cpg_step(phase, amp, intent[k, t], b.dt)
        ref = reference_features(kin, b.n_act)
        # kin[:, t] is the frame after action t, so the frame at step t + j is kin[:, t + j - 1]
        reference = np.stack([ref[:, j - 1: j - 1 + n_steps] for j in REFERENCE_OFFSETS], axis=2)
        lead = self.lead
        extras = {"central_ahead": central[:, lead: lead + n_steps], "actions_ahead": acts[:, lead: lead + n_steps]}
        return Behaviour(obs[:, :n_steps], acts[:, :n_steps], kin[:, :n_steps],
                         reference.reshape(n_trials, n_steps, -1), intent[:, :n_steps], central[:, :n_steps],
                         reflex[:, :n_steps], q0, v0, b.kinematic_names(), b.dt, cfg, extras)

    # -- neurons --------------------------------------------------------------------------------------
    def _build_neurons(self, rng: np.random.Generator) -> None:
        rows = []
        for pop, n in self.n_neurons.items():
            for _ in range(int(n)):
                j = int(rng.integers(self.n_act))
                row = {"population": pop, "joint": j, "preferred_phase": np.nan, "weight_speed": 0.0,
                       "weight_stride": 0.0, "gain": float(rng.uniform(0.6, 1.2)),
                       "baseline_hz": float(self.rate * rng.uniform(0.5, 1.5))}
                if pop == "cpg":
                    row["preferred_phase"] = float(rng.uniform(0, 2 * np.pi))
                    row["encodes"] = f"phase of oscillator {j}"
                elif pop == "intention":
                    w = rng.standard_normal(2)
                    row["weight_speed"], row["weight_stride"] = (w / np.linalg.norm(w)).tolist()
                    row["joint"] = -1
                    row["encodes"] = "intention (speed, stride)"
                elif pop == "reflex":
                    row["encodes"] = "righting reflex" if j == 0 else f"stretch reflex of joint {j}"
                else:
                    row["encodes"] = f"motor command of joint {j}"
                rows.append(row)
        self._table = {k: np.array([r[k] for r in rows]) for k in rows[0]}
        self.neuron_ids = np.array([f"{r['population']}{i:03d}" for i, r in enumerate(rows)], dtype=object)

    @property
    def ground_truth(self) -> xr.Dataset:
        """Per-neuron ground truth over dim ``neuron``: population (cpg, intention, reflex, motor), what it
        encodes, its joint (-1: none), preferred phase (rad; cpg), intention weights, gain and baseline rate."""
        return xr.Dataset({k: ("neuron", v) for k, v in self._table.items()},
                          coords={"neuron_id": ("neuron", self.neuron_ids)},
                          attrs={"seed": self.seed, "body": self.body_config.body})

    def drives(self, behaviour: Behaviour) -> np.ndarray:
        """Each unit's normalised drive (trial, time, neuron) from the behaviour's internal variables."""
        t = self._table
        n_act = self.n_act
        central = behaviour.extras["central_ahead"]  # premotor: the command lead_steps ahead
        phase = central[..., :n_act]
        amp = central[..., n_act: 2 * n_act] / self.amplitudes
        z_int = (behaviour.intention - np.array([0.5, 0.9])) / np.array([0.2, 0.12])
        out = np.zeros((*behaviour.actions.shape[:2], len(self.neuron_ids)))
        j = t["joint"]
        for pop, mask in ((p, t["population"] == p) for p in ("cpg", "intention", "reflex", "motor")):
            idx = np.flatnonzero(mask)
            if not len(idx):
                continue
            if pop == "cpg":
                out[..., idx] = amp[..., j[idx]] * np.cos(phase[..., j[idx]] - t["preferred_phase"][idx])
            elif pop == "intention":
                out[..., idx] = z_int @ np.stack([t["weight_speed"][idx], t["weight_stride"][idx]])
            elif pop == "reflex":
                righting = behaviour.reflex[..., -1:]
                stretch = behaviour.reflex[..., j[idx]]
                out[..., idx] = np.where(j[idx] == 0, righting[..., 0:1], stretch) * 2.0
            else:
                out[..., idx] = behaviour.extras["actions_ahead"][..., j[idx]] * 1.5
        return out

    def firing_rates(self, behaviour: Behaviour) -> np.ndarray:
        """Expected rates (Hz), (trial, time, neuron): baseline * exp(gain * drive), log-linear tuning."""
        t = self._table
        return t["baseline_hz"] * np.exp(np.clip(t["gain"] * self.drives(behaviour), -4, 3))

    def record(self, behaviour: Behaviour, repeats: int = 4, seed: int = 0) -> Recording:
        """Poisson spike counts per control step: a :class:`~neurosafe.data.Recording` with responses over
        (stimulus = trial, neuron, repeat, time); repeats are independent Poisson draws of the same rates
        (what a noise ceiling needs). Coordinates: ``time`` (s) and the ground truth per neuron."""
        if repeats < 1:
            raise EmbodiedError(f"repeats must be >= 1; got {repeats}")
        rates = self.firing_rates(behaviour) * behaviour.dt
        rng = make_rng(seed, "animal_spikes")
        counts = rng.poisson(np.broadcast_to(rates[..., None], (*rates.shape, repeats))).astype(float)
        values = counts.transpose(0, 2, 3, 1)  # trial, neuron, repeat, time
        gt = self._table
        da = make_responses(values, [f"trial{i:03d}" for i in range(behaviour.n_trials)], self.neuron_ids,
                            dims=("stimulus", "neuron", "repeat", "time"),
                            attrs={"species": "planted animal", "units": "spike counts", "bin_s": behaviour.dt,
                                   "area": "planted controller"},
                            neuron_coords={"population": gt["population"].astype(str)})
        da = da.assign_coords(time=np.arange(behaviour.n_steps) * behaviour.dt)
        return Recording(responses=da, attrs={"source": "neurosafe.embodied.PlantedAnimal", "seed": self.seed})
