"""The embodied fits report through the one progress display: plain lines when stderr is not a terminal."""

from __future__ import annotations

from neurosafe.embodied import PPOConfig, train_task_agent


def test_ppo_reports_its_iterations_as_plain_lines(trials, progress_lines):
    _, train, _ = trials
    train_task_agent(train.subset([0, 1]), PPOConfig(iterations=2, steps=4, epochs=1))
    lines = progress_lines()
    assert lines[0] == "PPO task agent: started, 2 iterations"
    assert lines[1].startswith("PPO task agent: 1/2 iterations") and "ETA" in lines[1]
    assert lines[-1].startswith("PPO task agent: 2/2 iterations") and lines[-1].endswith("(done)")
    train_task_agent(train.subset([0, 1]), PPOConfig(iterations=2, steps=4, epochs=1, progress=False))
    assert progress_lines() == lines
