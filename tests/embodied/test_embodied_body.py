"""Bodies: the OOD knobs change the model as stated; pushes and gravity obey Newton (closed forms); the
gymnasium API passes gymnasium's own checker."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from neurosafe.embodied import Body, BodyConfig, EmbodiedError, Push, make_env


def _airborne(config: BodyConfig) -> Body:
    """The body 5 m above the ground (no contact for the steps below), at rest."""
    body = Body(config)
    qpos = body.model.qpos0.copy()
    qpos[body.spec.height_qpos] = 5.0
    body.reset(qpos=qpos, qvel=np.zeros(body.model.nv))
    return body


def _com_velocity(body: Body) -> np.ndarray:
    mujoco.mj_forward(body.model, body.data)
    mujoco.mj_subtreeVel(body.model, body.data)
    return body.data.subtree_linvel[body.torso].copy()


def test_push_changes_momentum_by_the_impulse():
    """Without gravity or contact, a push of F newtons for d seconds changes the centre-of-mass velocity by
    F d / M (Newton's second law), whatever the joints do meanwhile."""
    force, duration = 70.0, 0.2
    body = _airborne(BodyConfig(gravity=0.0, pushes=(Push(force=force, direction=30.0, time=0.05,
                                                          duration=duration),)))
    v0 = _com_velocity(body)
    for _ in range(10):  # 0.5 s: the push (0.05 .. 0.25 s) is over
        body.step(np.zeros(body.n_act))
    dv = _com_velocity(body) - v0
    expected = force * duration / body.total_mass
    np.testing.assert_allclose(dv[[0, 2]], expected * np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)]), rtol=0.02)
    assert abs(dv[1]) < 1e-9


def test_gravity_knob_sets_free_fall_acceleration():
    body = _airborne(BodyConfig(gravity=4.0))
    v0 = _com_velocity(body)[2]
    for _ in range(4):
        body.step(np.zeros(body.n_act))
    np.testing.assert_allclose(_com_velocity(body)[2] - v0, -4.0 * body.time, rtol=1e-6)


def test_friction_mass_and_terrain_knobs():
    base = Body()
    other = Body(BodyConfig(friction=0.5, mass=1.5, roughness=0.05, terrain_seed=3))
    names = [mujoco.mj_id2name(other.model, mujoco.mjtObj.mjOBJ_GEOM, i) or "" for i in range(other.model.ngeom)]
    bump = np.array([n.startswith("bump") for n in names])
    np.testing.assert_allclose(other.model.geom_friction[~bump, 0], 0.5 * base.model.geom_friction[:, 0])
    np.testing.assert_allclose(other.total_mass, 1.5 * base.total_mass)
    assert bump.sum() == other.model.ngeom - base.model.ngeom > 50
    heights = other.model.geom_size[bump, 2]
    assert heights.max() <= 0.05 and heights.min() >= 0.01


def test_gymnasium_env_passes_the_checker():
    from gymnasium.utils.env_checker import check_env

    env = make_env(max_steps=20)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=1)
    assert obs.shape == env.observation_space.shape
    total = 0
    for _ in range(20):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        total += 1
        if terminated or truncated:
            break
    assert truncated and total == 20


def test_rodent_body_builds_from_dm_control():
    body = Body(BodyConfig(body="rodent"))
    assert body.n_act == body.model.nu > 30
    body.step(np.zeros(body.n_act))
    assert np.isfinite(body.observation()).all()


@pytest.mark.parametrize("bad", [{"friction": 0}, {"gravity": -1}, {"body": "horse"}, {"colour": "red"}])
def test_bad_config_is_one_line_error(bad):
    with pytest.raises(EmbodiedError, match="invalid BodyConfig") as err:
        BodyConfig(**bad)
    assert "\n" not in str(err.value)


def test_swimmer_body_and_animal():
    from neurosafe.embodied import PlantedAnimal

    config = BodyConfig(body="swimmer")
    behaviour = PlantedAnimal(config).simulate(2, 40, seed=0)
    assert behaviour.actions.shape == (2, 40, 2) and np.isfinite(behaviour.kinematics).all()
    assert behaviour.kinematics[..., :2].std() > 0.05  # the joints oscillate
    assert not Body(config).fallen()  # a swimmer cannot fall
