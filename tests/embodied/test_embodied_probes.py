"""Safety probes: recovery times on planted pitch traces (closed form), push recovery of the animal (no push:
all recover; a huge push: none), PPO trains and resumes, and the twin-vs-agent comparison's paired
differences equal the plain mean differences over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.embodied import (
    AnimalPolicy,
    EmbodiedError,
    PPOConfig,
    Rollout,
    compare_agents,
    make_body,
    push_recovery,
    recovery_times,
    train_task_agent,
)


def _rollout_with_pitch(pitch: np.ndarray, fallen: np.ndarray | None = None) -> Rollout:
    n, t = pitch.shape
    kin = np.zeros((n, t, 21))
    kin[..., -1] = pitch
    return Rollout(np.zeros((n, t, 17)), np.zeros((n, t, 6)), kin,
                   np.zeros((n, t), bool) if fallen is None else fallen, np.zeros((n, t), int), np.zeros((n, t)),
                   0.05, [])


def test_recovery_times_on_planted_traces():
    t = np.arange(100) * 0.05
    calm = 0.1 + 0.02 * np.sin(2 * np.pi * t)
    push_end = 2.0
    recovers = calm + np.where((t >= push_end) & (t < push_end + 0.6), 0.5, 0.0)  # back at 2.6 s
    never = calm + np.where(t >= push_end, 0.5, 0.0)
    fell = calm.copy()
    fallen = np.zeros((3, 100), bool)
    fallen[2, 50:] = True
    times = recovery_times(_rollout_with_pitch(np.stack([recovers, never, fell]), fallen), push_end)
    np.testing.assert_allclose(times[0], 0.6, atol=1e-9)
    assert np.isinf(times[1]) and np.isinf(times[2])
    with pytest.raises(EmbodiedError, match="push must end"):
        recovery_times(_rollout_with_pitch(np.stack([calm])), 4.9)


def test_animal_push_recovery_brackets(animal, trials):
    _, _, test = trials
    body = make_body(test.body)
    out = push_recovery(lambda: AnimalPolicy(animal, test, body), test, [0.0, 3000.0], time=2.0)
    assert out["recovered"][0] == 1.0  # nothing to recover from
    assert out["recovered"][1] == 0.0  # 600 N s upwards on a 14 kg body flips it


def test_ppo_trains_and_resumes(tmp_path, trials):
    _, train, _ = trials
    small = train.subset([0, 1])
    config = PPOConfig(iterations=2, steps=40, epochs=1, progress=False)
    fit = train_task_agent(small, config, checkpoint=tmp_path / "ppo.ckpt")
    again = train_task_agent(small, config, checkpoint=tmp_path / "ppo.ckpt")  # finished: loaded, not retrained
    assert [h["iteration"] for h in fit.history] == [0, 1] and again.history == fit.history
    for a, b in zip(fit.agent.state_dict().values(), again.agent.state_dict().values(), strict=True):
        assert (a == b).all()


def test_compare_agents_pairs_seeds():
    per_seed = {"twin": {"falls": [0.0, 0.1, 0.0, 0.2], "recovered": [0.9, 0.8, 1.0, 0.7]},
                "task_agent": {"falls": [0.5, 0.4, 0.6, 0.3], "recovered": [0.2, 0.4, 0.3, 0.1]}}
    out = compare_agents(per_seed)
    assert out["differences"]["falls"]["value"] == pytest.approx(np.mean([-0.5, -0.3, -0.6, -0.1]))
    assert out["terms"]["falls"] == {"term": "robustness", "twin": "better"}
    assert out["terms"]["recovered"]["twin"] == "better"
