"""Gradient-masking checks: an undefended CNN passes them all; the same CNN behind a zero-gradient
quantiser (shattered gradients) is caught."""

from __future__ import annotations

import warnings

import pytest

from neurosafe.robust import GradientMaskingWarning, gradient_masking_checks, robustness_curve


def test_undefended_cnn_passes_every_check(net, surrogate, digits):
    _, _, x, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientMaskingWarning)
        checks = gradient_masking_checks(net, x[:200], y[:200], eps=[0.03, 0.08, 0.15], surrogate=surrogate,
                                         steps=10)
    assert set(checks) == {"monotone", "beats_noise", "large_eps", "beats_transfer"}
    assert all(c.passed for c in checks.values()), {k: c.message for k, c in checks.items()}
    assert checks["large_eps"].values["accuracy"] <= 0.05


def test_masked_gradients_are_caught(masked, surrogate, digits):
    _, _, x, y = digits
    with pytest.warns(GradientMaskingWarning) as caught:
        checks = gradient_masking_checks(masked, x[:200], y[:200], eps=[0.08, 0.15], surrogate=surrogate,
                                         steps=10)
    assert not checks["large_eps"].passed  # random starts only: far from 0% at the whole cube
    assert not checks["beats_transfer"].passed  # the surrogate's gradients do what the masked ones cannot
    assert len(caught) == sum(not c.passed for c in checks.values())


def test_monotone_check_flags_rising_accuracy(net, digits):
    _, _, x, y = digits
    # strengths as error rates: 0.5 at eps=0.1 but 0.2 at eps=0.2 means accuracy rose with epsilon
    with pytest.warns(GradientMaskingWarning, match="monotone"):
        checks = gradient_masking_checks(net, x[:50], y[:50], eps=[0.1, 0.2], steps=3,
                                         strengths={"attack": [0.5, 0.2], "noise": [0.0, 0.0]})
    assert not checks["monotone"].passed and checks["beats_noise"].passed


def test_curve_is_monotone_and_starts_clean(net, digits):
    _, _, x, y = digits
    curve = robustness_curve(net, x[:200], y[:200], eps=[0.1, 0, 0.05], steps=10)
    assert curve.name == "accuracy" and list(curve.epsilon.values) == [0, 0.05, 0.1]
    clean = float((net(x[:200]).argmax(1) == y[:200]).float().mean())
    assert curve.sel(epsilon=0).item() == pytest.approx(clean)
    assert curve[0] >= curve[1] >= curve[2]
