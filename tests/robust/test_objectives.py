"""Objectives against closed forms on hand-made logits, and the representation wrapper."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neurosafe.robust import AttackError, CrossEntropy, DifferenceOfLogitsRatio, Margin, OutputChange, Representation

LOGITS = torch.tensor([[3.0, 1.0, 0.5, -1.0], [0.0, 2.0, 4.0, 1.0]])
LABELS = torch.tensor([0, 1])


def test_dlr_closed_form_and_invariance():
    # example 0: z_y = 3 is the max; runner-up 1; sorted z: 3, 1, 0.5 -> -(3 - 1) / (3 - 0.5)
    # example 1: z_y = 2; max other 4; sorted z: 4, 2, 1 -> -(2 - 4) / (4 - 1)
    expected = torch.tensor([-2 / 2.5, 2 / 3])
    dlr = DifferenceOfLogitsRatio()
    torch.testing.assert_close(dlr(LOGITS, LABELS), expected)
    # Croce & Hein's point: invariant to shifting and positive rescaling of the logits
    torch.testing.assert_close(dlr(7.0 * LOGITS - 3.0, LABELS), expected)


def test_margin_and_cross_entropy_closed_form():
    torch.testing.assert_close(Margin()(LOGITS, LABELS), torch.tensor([1.0 - 3.0, 4.0 - 2.0]))
    targeted = Margin(targeted=True)(LOGITS, torch.tensor([2, 2]))
    torch.testing.assert_close(targeted, torch.tensor([0.5 - 3.0, 4.0 - 2.0]))
    ce = -torch.log_softmax(LOGITS, 1)[torch.arange(2), LABELS]
    torch.testing.assert_close(CrossEntropy()(LOGITS, LABELS), ce)
    torch.testing.assert_close(CrossEntropy(targeted=True)(LOGITS, LABELS), -ce)
    assert CrossEntropy().success(LOGITS, LABELS).tolist() == [False, True]
    assert CrossEntropy(targeted=True).success(LOGITS, torch.tensor([0, 2])).tolist() == [True, True]


def test_output_change_is_squared_distance():
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    torch.testing.assert_close(OutputChange()(a, b), ((a - b) ** 2).sum(1))


def test_representation_returns_the_layer_activation(net, digits):
    x = digits[2][:4]
    with torch.no_grad():
        expected = net.features[:4](x)
        got = Representation(net, "features.3")(x)
    torch.testing.assert_close(got, expected)
    with pytest.raises(AttackError, match="unknown layer 'nope'"):
        Representation(net, "nope")


def test_dlr_needs_three_classes_and_is_untargeted():
    with pytest.raises(AttackError, match="at least 3 classes"):
        DifferenceOfLogitsRatio().check(torch.zeros(2, 2), torch.tensor([0, 1]))
    with pytest.raises(AttackError, match="untargeted"):
        DifferenceOfLogitsRatio(targeted=True)
    assert F.one_hot(LABELS, 4).shape == (2, 4)
