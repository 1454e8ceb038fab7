import numpy as np
import pytest
import torch

from neurosafe.core.errors import DataValidationError
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.finetune.targets import NeuralTargets, make_control, shuffled, statistics_matched


@pytest.fixture(scope="module")
def targets():
    brain = SyntheticBrain(30, seed=0)
    st = natural_patches(200, 32, seed=1)
    return NeuralTargets.from_responses(st, brain.record(st, 4, seed=2))


def test_from_responses_averages_repeats(targets):
    assert targets.stimuli.shape == (200, 1, 32, 32) and targets.responses.shape == (200, 30)


def test_shuffled_permutes_rows(targets):
    s = shuffled(targets, seed=3)
    assert torch.equal(s.stimuli, targets.stimuli)
    rows = {tuple(r.tolist()) for r in targets.responses}
    assert {tuple(r.tolist()) for r in s.responses} == rows
    assert not torch.equal(s.responses, targets.responses)


def test_matched_keeps_statistics_and_breaks_structure(targets):
    m = statistics_matched(targets, seed=4)
    r, q = targets.responses.double(), m.responses.double()
    torch.testing.assert_close(q.mean(0), r.mean(0), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.cov(q.T), torch.cov(r.T), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(torch.linalg.svdvals(q - q.mean(0)), torch.linalg.svdvals(r - r.mean(0)),
                               rtol=1e-4, atol=1e-5)
    # per-neuron correlation between original and matched responses over stimuli is chance-level
    rc = [np.corrcoef(r[:, j], q[:, j])[0, 1] for j in range(r.shape[1])]
    assert abs(np.mean(rc)) < 0.1


def test_controls_are_seeded_and_validated(targets):
    a, b = make_control("matched", targets, 1), make_control("matched", targets, 1)
    assert torch.equal(a.responses, b.responses)
    with pytest.raises(DataValidationError, match="unknown control"):
        make_control("random", targets)
    with pytest.raises(DataValidationError, match="same n"):
        NeuralTargets(torch.zeros(5, 1, 4, 4), torch.zeros(4, 3))
    with pytest.raises(DataValidationError, match="NaN"):
        NeuralTargets(torch.zeros(5, 1, 4, 4), torch.full((5, 3), float("nan")))
