"""The embodied twin: it imitates the animal on held-out trials, and an interrupted fit resumes from its
checkpoint to exactly the weights of an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neurosafe.embodied.twin as twin_module
from neurosafe.embodied import TwinConfig, exploration_safety, fit_embodied_twin, plan_targets, rollout


def test_twin_tracks_held_out_trials(twin_fit, trials):
    _, _, test = trials
    run = rollout(twin_fit.twin.policy(), test)
    safety = exploration_safety(run, test)
    # baseline: how far apart two of the animal's own trials are (same gait, unrelated phase)
    unrelated = np.abs(test.kinematics[:, :, :6] - np.roll(test.kinematics[:, :, :6], 1, axis=0)).mean()
    assert safety["tracking_error"] < 0.4 * unrelated
    assert safety["falls"] == 0
    assert [h["stage"] for h in twin_fit.history] == ["bc", "dagger1", "dagger2"]
    sizes = [h["n_samples"] for h in twin_fit.history]
    assert sizes == [7 * 120, 14 * 120, 21 * 120]  # DAgger aggregates one rollout per trial per iteration


def test_plan_targets_stack_future_actions():
    actions = np.arange(2 * 4 * 1, dtype=float).reshape(2, 4, 1)
    plan = plan_targets(actions, 3)
    np.testing.assert_array_equal(plan[0], [[0, 1, 2], [1, 2, 3], [2, 3, 3], [3, 3, 3]])


def test_interrupted_fit_resumes_to_the_same_weights(tmp_path, animal, trials, monkeypatch):
    _, train, _ = trials
    small = train.subset([0, 1, 2])
    config = TwinConfig(bc_epochs=3, dagger_iterations=2, dagger_epochs=2, progress=False)
    reference = fit_embodied_twin(small, animal, config)
    ckpt = tmp_path / "twin.ckpt"
    calls = {"n": 0}
    real_rollout = twin_module.rollout

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_rollout(*args, **kwargs)

    monkeypatch.setattr(twin_module, "rollout", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        fit_embodied_twin(small, animal, config, checkpoint=ckpt)
    monkeypatch.setattr(twin_module, "rollout", real_rollout)
    resumed = fit_embodied_twin(small, animal, config, checkpoint=ckpt)
    for (name, a), b in zip(reference.twin.state_dict().items(), resumed.twin.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert resumed.history == reference.history


def test_numpy_policy_equals_the_torch_module(twin_fit, trials):
    _, _, test = trials
    obs, ref = test.obs[:, 7], test.reference[:, 7]
    with torch.inference_mode():
        expected = twin_fit.twin(torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(ref, dtype=torch.float32))
    np.testing.assert_allclose(twin_fit.twin.policy()(obs, ref, 7), expected.numpy(), atol=1e-5)
