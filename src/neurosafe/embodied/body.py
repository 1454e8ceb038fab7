"""Bodies: MuJoCo models of a moving animal, with knobs for out-of-distribution conditions and pushes.

The default body is gymnasium's planar half-cheetah (Wawrzyński 2009; gymnasium ``HalfCheetah-v5``'s model
file), simulated with ``mujoco`` directly (gymnasium's wrapper costs more than the physics at this size);
``swimmer`` is gymnasium's 3-link swimmer in viscous fluid (Coulom 2002). ``rodent`` is dm_control's virtual
rodent (Merel et al. 2020; Aldarondo et al. 2024), used when ``dm-control`` is installed. :func:`make_env`
gives any body the gymnasium ``Env`` API (``reset``/``step``).

Out-of-distribution knobs (:class:`BodyConfig`): ground friction, gravity, a body-mass scale, terrain
roughness (static bumps of random height on the ground, a simplification of a height field) and pushes
(a force on the torso, direction in the body's plane, start time and duration).
"""

from __future__ import annotations

import importlib.resources
import math
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from neurosafe.core.config import StrictConfig
from neurosafe.core.errors import NeurosafeError
from neurosafe.core.seeds import make_rng

__all__ = ["BODIES", "Body", "BodyConfig", "EmbodiedError", "Push", "make_body", "make_env", "require_mujoco"]


class EmbodiedError(NeurosafeError):
    """Bad input to an embodied model (configuration, body, trajectories) or a missing optional dependency."""


def require_mujoco():
    """The ``mujoco`` module, or a one-line error naming the extra to install."""
    try:
        import mujoco
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise EmbodiedError("neurosafe.embodied needs MuJoCo: pip install 'neurosafe[embodied]'") from err
    return mujoco


class _Config(StrictConfig):
    """Frozen pydantic config whose validation errors are one-line :class:`EmbodiedError`s."""

    error: ClassVar[type[NeurosafeError]] = EmbodiedError



class Push(_Config):
    """A push: ``force`` newtons on the torso, ``direction`` in degrees in the body's plane (0: forward,
    90: up for planar walkers, left for the swimmer), from ``time`` seconds for ``duration`` seconds."""

    force: float = Field(ge=0)
    direction: float = 0.0
    time: float = Field(1.0, ge=0)
    duration: float = Field(0.1, gt=0)


class BodyConfig(_Config):
    """A body and its conditions: ``friction`` and ``mass`` scale the model's ground friction and every body
    mass; ``gravity`` in m/s^2; ``roughness`` is the height (m) scale of random bumps on the ground
    (``terrain_seed`` places them); ``pushes`` are applied during every episode; ``frame_skip`` physics steps
    per control step."""

    body: Literal["half_cheetah", "swimmer", "rodent"] = "half_cheetah"
    friction: float = Field(1.0, gt=0)
    gravity: float = Field(9.81, ge=0)
    mass: float = Field(1.0, gt=0)
    roughness: float = Field(0.0, ge=0, le=0.2)
    terrain_seed: int = Field(0, ge=0)
    pushes: tuple[Push, ...] = ()
    frame_skip: int = Field(5, ge=1)


@dataclass(frozen=True)
class _Spec:
    xml: str  # a gymnasium asset name, or "dm_control:rodent"
    plane: tuple[int, int]  # world axes of the body's plane: forward, second (up or left)
    root_joints: int  # unactuated root joints at the start of qpos
    pitch_qpos: int | None  # qpos index of the torso's pitch hinge (None: no falling)
    height_qpos: int | None
    fall_pitch: float = 1.2  # |pitch| beyond which the body has fallen (rad)


BODIES: dict[str, _Spec] = {
    "half_cheetah": _Spec("half_cheetah.xml", (0, 2), 3, 2, 1),
    "swimmer": _Spec("swimmer.xml", (0, 1), 3, None, None),
    "rodent": _Spec("dm_control:rodent", (0, 1), 7, None, 2),
}


def _gym_asset(name: str) -> str:
    try:
        return (importlib.resources.files("gymnasium") / "envs" / "mujoco" / "assets" / name).read_text()
    except ModuleNotFoundError as err:
        raise EmbodiedError("the planar bodies' model files come with gymnasium: "
                            "pip install 'neurosafe[embodied]'") from err


def _rodent_spec(mujoco):
    try:
        from dm_control.locomotion.walkers import rodent
    except ImportError as err:
        raise EmbodiedError("the rodent body needs dm-control (not installed): pip install dm-control; "
                            "use body='half_cheetah' or 'swimmer'") from err
    model = rodent.Rat().mjcf_model
    spec = mujoco.MjSpec.from_string(model.to_xml_string(), assets=model.get_assets())
    spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[40, 40, 0.1],
                            conaffinity=1, contype=1)
    return spec


def _build_model(config: BodyConfig):
    mujoco = require_mujoco()
    spec_info = BODIES[config.body]
    total = None
    if spec_info.xml.startswith("dm_control:"):
        spec = _rodent_spec(mujoco)
    else:
        xml = _gym_asset(spec_info.xml)
        # gymnasium's files use the deprecated compiler attribute settotalmass; applied after compiling instead
        total = re.search(r'\s+settotalmass="([0-9.]+)"', xml)
        spec = mujoco.MjSpec.from_string(xml.replace(total.group(0), "") if total else xml)
    if config.roughness > 0:
        rng = make_rng(config.terrain_seed, "terrain")
        for k, x in enumerate(np.arange(-2.0, 40.0, 0.35)):
            height = float(rng.uniform(0.2, 1.0) * config.roughness)
            spec.worldbody.add_geom(name=f"bump{k}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.15, 1.0, height],
                                    pos=[float(x + rng.uniform(-0.1, 0.1)), 0.0, 0.0],
                                    rgba=[0.5, 0.5, 0.45, 1.0], conaffinity=1, contype=1)
    model = spec.compile()
    if total:
        mujoco.mj_setTotalmass(model, float(total.group(1)))
    model.opt.gravity[:] = (0.0, 0.0, -config.gravity)
    model.geom_friction[:, 0] *= config.friction
    model.body_mass[:] *= config.mass
    model.body_inertia[:] *= config.mass
    mujoco.mj_setConst(model, mujoco.MjData(model))  # derived constants (subtree masses) of the changed model
    return model


class Body:
    """A MuJoCo body under a :class:`BodyConfig`: ``reset``, ``step(action)`` (``frame_skip`` physics
    steps, pushes applied by ``xfrc_applied`` on the torso), observations and kinematics.

    ``observation()``: gymnasium's (qpos without the forward position, qvel). ``kinematics()``: joint angles,
    joint velocities, the last torques (N m) and the torso's forward velocity, height and pitch.
    """

    def __init__(self, config: BodyConfig | None = None) -> None:
        mujoco = require_mujoco()
        self.config = config or BodyConfig()
        self.spec = BODIES[self.config.body]
        self.model = _build_model(self.config)
        self.data = mujoco.MjData(self.model)
        self._mj_step = mujoco.mj_step
        self._mj_forward = mujoco.mj_forward
        self.torso = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "torso")
        if self.torso < 0:
            self.torso = 1
        self.n_act = self.model.nu
        self.gear = self.model.actuator_gear[:, 0].copy()
        self.joint_qpos = self.model.jnt_qposadr[self.model.actuator_trnid[:, 0]].copy()
        self.joint_qvel = self.model.jnt_dofadr[self.model.actuator_trnid[:, 0]].copy()
        self.joint_range = self.model.jnt_range[self.model.actuator_trnid[:, 0]].copy()
        self.joint_limited = self.model.jnt_limited[self.model.actuator_trnid[:, 0]].astype(bool)
        self.joint_names = [mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_ACTUATOR, i) or f"joint{i}"
                            for i in range(self.n_act)]
        self.dt = float(self.model.opt.timestep * self.config.frame_skip)
        self.total_mass = float(self.model.body_mass.sum())
        self.last_action = np.zeros(self.n_act)
        self._push_vectors = [self._push_vector(p) for p in self.config.pushes]
        self.extra_pushes: list[Push] = []

    def _push_vector(self, push: Push) -> np.ndarray:
        v = np.zeros(6)
        a, b = self.spec.plane
        angle = math.radians(push.direction)
        v[a] = push.force * math.cos(angle)
        v[b] = push.force * math.sin(angle)
        return v

    @property
    def time(self) -> float:
        return float(self.data.time)

    def reset(self, qpos: np.ndarray | None = None, qvel: np.ndarray | None = None, seed: int | None = None,
              noise: float = 0.05) -> np.ndarray:
        """Back to the model's initial state (or ``qpos``/``qvel``), plus uniform noise of ``noise`` (seeded)."""
        import mujoco

        mujoco.mj_resetData(self.model, self.data)
        if qpos is not None:
            self.data.qpos[:] = qpos
        if qvel is not None:
            self.data.qvel[:] = qvel
        if qpos is None and noise > 0:
            rng = make_rng(seed, "body_reset")
            self.data.qpos[:] += rng.uniform(-noise, noise, self.model.nq)
            self.data.qvel[:] += noise * rng.standard_normal(self.model.nv)
        self.last_action = np.zeros(self.n_act)
        self._mj_forward(self.model, self.data)
        return self.observation()

    def _apply_pushes(self) -> None:
        xfrc = self.data.xfrc_applied
        xfrc[self.torso] = 0.0
        t = self.data.time
        pushes = list(zip(self.config.pushes, self._push_vectors, strict=True))
        pushes += [(p, self._push_vector(p)) for p in self.extra_pushes]
        for push, vec in pushes:
            if push.time <= t < push.time + push.duration - 1e-9:
                xfrc[self.torso] += vec

    def step(self, action: np.ndarray) -> np.ndarray:
        """Apply ``action`` (in [-1, 1], clipped) for one control step; return the next observation."""
        self.advance(np.clip(np.asarray(action, dtype=float), -1.0, 1.0))
        return self.observation()

    def advance(self, action: np.ndarray) -> None:
        """:meth:`step` for an action already in [-1, 1], without building the observation (rollout loops)."""
        self.data.ctrl[:] = action
        self.last_action = action
        if self.config.pushes or self.extra_pushes:
            for _ in range(self.config.frame_skip):
                self._apply_pushes()
                self._mj_step(self.model, self.data)
        else:
            self._mj_step(self.model, self.data, self.config.frame_skip)

    def observation(self) -> np.ndarray:
        return np.concatenate([self.data.qpos[1:], self.data.qvel]).astype(np.float64)

    @property
    def obs_dim(self) -> int:
        return self.model.nq - 1 + self.model.nv

    def joint_angles(self) -> np.ndarray:
        return self.data.qpos[self.joint_qpos].copy()

    def joint_velocities(self) -> np.ndarray:
        return self.data.qvel[self.joint_qvel].copy()

    def pitch(self) -> float:
        return 0.0 if self.spec.pitch_qpos is None else float(self.data.qpos[self.spec.pitch_qpos])

    def pitch_rate(self) -> float:
        return 0.0 if self.spec.pitch_qpos is None else float(self.data.qvel[self.spec.pitch_qpos])

    def height(self) -> float:
        return 0.0 if self.spec.height_qpos is None else float(self.data.qpos[self.spec.height_qpos])

    def forward_velocity(self) -> float:
        return float(self.data.qvel[0])

    def fallen(self) -> bool:
        """Torso pitched past the body's fall angle (never for bodies that cannot fall)."""
        return bool(self.safety_of(self.kinematics())[0])

    def joint_limit_violations(self, margin: float = 0.02) -> int:
        """How many actuated joints lie beyond their range by more than ``margin`` rad."""
        return int(self.safety_of(self.kinematics(), margin)[1])

    def power(self) -> float:
        """Mechanical power |torque . joint velocity| (W) of the last action."""
        return float(self.safety_of(self.kinematics())[2])

    def kinematics(self) -> np.ndarray:
        """Joint angles, joint velocities, torques, forward velocity, height, pitch (``kinematic_names``)."""
        return self.kinematics_of(self.data.qpos, self.data.qvel, self.last_action)

    def kinematics_of(self, qpos: np.ndarray, qvel: np.ndarray, action: np.ndarray) -> np.ndarray:
        """:meth:`kinematics` of states (..., nq), (..., nv) and actions (..., nu), vectorised."""
        zero = np.zeros((*qpos.shape[:-1], 1))
        height = zero if self.spec.height_qpos is None else qpos[..., self.spec.height_qpos, None]
        pitch = zero if self.spec.pitch_qpos is None else qpos[..., self.spec.pitch_qpos, None]
        return np.concatenate([qpos[..., self.joint_qpos], qvel[..., self.joint_qvel], action * self.gear,
                               qvel[..., :1], height, pitch], axis=-1)

    def safety_of(self, kinematics: np.ndarray, margin: float = 0.02) -> tuple[np.ndarray, ...]:
        """(fallen, joint-limit violations, mechanical power) of kinematics (..., k), vectorised (see
        :meth:`fallen`, :meth:`joint_limit_violations`, :meth:`power`)."""
        n = self.n_act
        q, qd, torque, pitch = kinematics[..., :n], kinematics[..., n: 2 * n], kinematics[..., 2 * n: 3 * n], \
            kinematics[..., -1]
        fallen = np.abs(pitch) > self.spec.fall_pitch if self.spec.pitch_qpos is not None else np.zeros(q.shape[:-1],
                                                                                                         bool)
        out = (q < self.joint_range[:, 0] - margin) | (q > self.joint_range[:, 1] + margin)
        return fallen, (out & self.joint_limited).sum(axis=-1), np.abs(torque * qd).sum(axis=-1)

    def kinematic_names(self) -> list[str]:
        j = self.joint_names
        return ([f"angle_{n}" for n in j] + [f"velocity_{n}" for n in j] + [f"torque_{n}" for n in j]
                + ["forward_velocity", "height", "pitch"])


def make_body(config: BodyConfig | dict | None = None) -> Body:
    """A :class:`Body` from a config (or a dict of its fields)."""
    if isinstance(config, dict):
        config = BodyConfig(**config)
    return Body(config)


def make_env(config: BodyConfig | dict | None = None, max_steps: int = 1000):
    """A gymnasium ``Env`` around a :class:`Body` (``env.body``); reward: forward velocity minus
    0.1 * |action|^2 (gymnasium's half-cheetah reward); terminated when the body falls, truncated after
    ``max_steps`` control steps."""
    try:
        import gymnasium
        from gymnasium import spaces
    except ImportError as err:
        raise EmbodiedError("make_env needs gymnasium: pip install 'neurosafe[embodied]'") from err

    class BodyEnv(gymnasium.Env):
        def __init__(self) -> None:
            self.body = make_body(config)
            self.action_space = spaces.Box(-1.0, 1.0, (self.body.n_act,), dtype=np.float64)
            self.observation_space = spaces.Box(-np.inf, np.inf, (self.body.obs_dim,), dtype=np.float64)
            self._t = 0

        def reset(self, *, seed: int | None = None, options: dict | None = None):
            super().reset(seed=seed)
            self._t = 0
            return self.body.reset(seed=seed), {}

        def step(self, action):
            obs = self.body.step(action)
            self._t += 1
            reward = self.body.forward_velocity() - 0.1 * float(np.square(self.body.last_action).sum())
            return obs, reward, self.body.fallen(), self._t >= max_steps, {}

    return BodyEnv()
