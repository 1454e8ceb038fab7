"""PGD / FGSM / APGD against torchattacks 3.5.1 run side by side on 1,000 held-out digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchattacks

from neurosafe.data import StimulusSet
from neurosafe.robust import apgd, fgsm, pgd
from neurosafe.robust.apgd import apgd_checkpoints
from tests.robust.conftest import accuracy

STEPS = 20
# budgets where the digits CNN sits mid-way (accuracy ~0.2-0.7), so the comparison has room to disagree
BUDGETS = {"linf": 0.08, "l2": 0.8}


def _peer(norm, model, eps, alpha, random_start):
    cls = torchattacks.PGD if norm == "linf" else torchattacks.PGDL2
    return cls(model, eps=eps, alpha=alpha, steps=STEPS, random_start=random_start)


@pytest.fixture(scope="module")
def ours_random_start(net, digits):
    """Our PGD-20 with random start (seed 7) on all 1,000 test images, per norm (shared by two tests)."""
    _, _, x, y = digits
    return {norm: pgd(net, x, y, eps=eps, norm=norm, steps=STEPS, step_size=2.5 * eps / STEPS, seed=7,
                      batch_size=len(x)) for norm, eps in BUDGETS.items()}


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_equals_torchattacks_without_random_start(net, digits, norm):
    _, _, x, y = digits
    eps = BUDGETS[norm]
    alpha = 2.5 * eps / STEPS
    theirs = _peer(norm, net, eps, alpha, False)(x, y)
    ours = pgd(net, x, y, eps=eps, norm=norm, steps=STEPS, step_size=alpha, random_start=False)
    clean, acc_theirs, acc_ours = accuracy(net, x, y), accuracy(net, theirs, y), accuracy(net, ours, y)
    assert 0.1 < acc_theirs < clean - 0.2  # the attack bites but does not saturate
    assert abs(acc_ours - acc_theirs) <= 0.01
    with torch.no_grad():
        agree = (net(ours).argmax(1) == net(theirs).argmax(1)).float().mean()
    assert agree >= 0.99


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_random_start_matches_torchattacks(net, digits, ours_random_start, norm):
    """torchattacks draws its start from torch's global generator: with the same seed the starts coincide;
    with unrelated seeds the robust accuracies agree statistically."""
    _, _, x, y = digits
    eps = BUDGETS[norm]
    alpha = 2.5 * eps / STEPS
    ours = ours_random_start[norm]
    torch.manual_seed(7)
    same_start = _peer(norm, net, eps, alpha, True)(x, y)
    torch.manual_seed(12345)
    other_start = _peer(norm, net, eps, alpha, True)(x, y)
    assert abs(accuracy(net, ours, y) - accuracy(net, same_start, y)) <= 0.01
    assert abs(accuracy(net, ours, y) - accuracy(net, other_start, y)) <= 0.01
    if norm == "linf":  # sign steps: identical starts give identical iterates, up to signs of ~0 gradients
        assert float(((ours - same_start).abs() > 1e-6).float().mean()) < 1e-3


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_apgd_at_least_as_strong_as_pgd(net, digits, ours_random_start, norm):
    _, _, x, y = digits
    eps = BUDGETS[norm]
    acc_pgd = accuracy(net, ours_random_start[norm], y)
    adv_ce = apgd(net, x, y, eps=eps, norm=norm, steps=STEPS, loss="ce")
    adv_dlr = apgd(net, x[:300], y[:300], eps=eps, norm=norm, steps=STEPS, loss="dlr")
    assert accuracy(net, adv_ce, y) <= acc_pgd
    # DLR ignores the softmax scale (a fix for masked gradients) and must bite too
    assert accuracy(net, adv_dlr, y[:300]) < accuracy(net, x[:300], y[:300]) - 0.3
    _assert_in_ball(x, adv_ce, eps, norm)


def test_fgsm_equals_torchattacks(net, digits):
    _, _, x, y = digits
    theirs = torchattacks.FGSM(net, eps=0.05)(x[:300], y[:300])
    torch.testing.assert_close(fgsm(net, x[:300], y[:300], eps=0.05), theirs, atol=1e-6, rtol=0)


def test_targeted_pgd_equals_torchattacks(net, digits):
    _, _, x, y = digits
    x, target = x[:300], (y[:300] + 1) % 10
    peer = torchattacks.PGD(net, eps=0.2, alpha=0.02, steps=10, random_start=False)
    peer.set_mode_targeted_by_label(quiet=True)
    theirs = peer(x, target)
    ours = pgd(net, x, target, eps=0.2, steps=10, step_size=0.02, random_start=False, targeted=True)
    with torch.no_grad():
        hit_ours = (net(ours).argmax(1) == target).float().mean()
        hit_theirs = (net(theirs).argmax(1) == target).float().mean()
    assert hit_ours > 0.5
    assert abs(hit_ours - hit_theirs) <= 0.01


def _assert_in_ball(x, adv, eps, norm):
    delta = (adv - x).flatten(1)
    size = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
    assert float(size.max()) <= eps + 1e-5
    assert float(adv.min()) >= 0 and float(adv.max()) <= 1


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_budget_box_and_restarts(net, digits, norm):
    _, _, x, y = digits
    x, y = x[:300], y[:300]
    eps = BUDGETS[norm]
    once = pgd(net, x, y, eps=eps, norm=norm, steps=10)
    thrice = pgd(net, x, y, eps=eps, norm=norm, steps=10, restarts=3)
    early = pgd(net, x, y, eps=eps, norm=norm, steps=10, early_stop=True)
    for adv in (once, thrice, early):
        _assert_in_ball(x, adv, eps, norm)
    # restarts keep the first restart's result unless a later one fools the model
    assert accuracy(net, thrice, y) <= accuracy(net, once, y)
    assert accuracy(net, early, y) <= accuracy(net, once, y) + 1 / len(x)


def test_early_stop_freezes_at_first_success(net, digits):
    """An example fooled at step k keeps iterate k: early-stopped examples stay fooled at any step count."""
    _, _, x, y = digits
    x, y = x[:200], y[:200]
    few = pgd(net, x, y, eps=0.1, steps=3, early_stop=True, random_start=False, step_size=0.03)
    many = pgd(net, x, y, eps=0.1, steps=12, early_stop=True, random_start=False, step_size=0.03)
    with torch.no_grad():
        fooled_early = net(few).argmax(1) != y
    torch.testing.assert_close(many[fooled_early], few[fooled_early])


def test_seeded_and_type_preserving(net, digits):
    _, _, x, y = digits
    x, y = x[:50], y[:50]
    a = pgd(net, x, y, eps=0.05, steps=3, seed=1)
    torch.testing.assert_close(a, pgd(net, x, y, eps=0.05, steps=3, seed=1), atol=0, rtol=0)
    assert not torch.equal(a, pgd(net, x, y, eps=0.05, steps=3, seed=2))
    as_numpy = pgd(net, x.numpy(), y.numpy(), eps=0.05, steps=3, seed=1)
    assert isinstance(as_numpy, np.ndarray) and as_numpy.dtype == np.float32
    np.testing.assert_allclose(as_numpy, a.numpy(), atol=1e-6)
    stim = StimulusSet(x.numpy(), [f"d{i}" for i in range(50)])
    out = pgd(net, stim, y, eps=0.05, steps=3, seed=1)
    assert isinstance(out, StimulusSet) and list(out.ids) == list(stim.ids)
    assert torch.equal(pgd(net, x, y, eps=0.0), x)


def test_attacks_run_in_eval_mode_and_restore_it(net, digits):
    """Dropout off during the attack (else results would be random), the caller's training flag restored."""
    _, _, x, y = digits
    noisy = torch.nn.Sequential(torch.nn.Dropout(0.5), net)
    noisy.train()
    a = pgd(noisy, x[:20], y[:20], eps=0.05, steps=3, seed=0)
    torch.testing.assert_close(a, pgd(net, x[:20], y[:20], eps=0.05, steps=3, seed=0))
    assert noisy.training
    net.eval()  # the shared fixture stays in evaluation mode


def test_apgd_checkpoints_follow_the_paper():
    # p = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (Croce & Hein 2020, section 3.2)
    assert apgd_checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert apgd_checkpoints(20) == [5, 9, 12, 14, 16, 18, 19, 20]


def test_attack_progress_is_plain_lines_of_images_when_not_a_terminal(progress_lines):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    x, y = torch.rand(6, 1, 4, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    pgd(model, x, y, eps=0.1, steps=2, batch_size=4, progress=True)
    lines = progress_lines()
    assert lines[0] == "PGD-2 linf eps=0.1: started, 6 images"
    assert lines[1].startswith("PGD-2 linf eps=0.1: 4/6 images") and lines[-1].endswith("(done)")
    pgd(model, x, y, eps=0.1, steps=2, batch_size=4)  # progress=False, the library default: silent
    assert progress_lines() == lines
