"""Calibration metrics against closed forms and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, log_loss

from neurosafe.core.errors import DataValidationError
from neurosafe.metrics.calibration import (
    brier_score,
    calibration_bins,
    calibration_score,
    expected_calibration_error,
    negative_log_likelihood,
)


def _predictor(confidence: np.ndarray, p_correct: np.ndarray, k: int, rng: np.random.Generator):
    """Top class j with probability ``confidence`` (the rest spread evenly); the label is j with probability
    ``p_correct``, else another class."""
    n = len(confidence)
    top = rng.integers(0, k, n)
    probs = np.repeat(((1 - confidence) / (k - 1))[:, None], k, axis=1)
    probs[np.arange(n), top] = confidence
    correct = rng.random(n) < p_correct
    other = (top + rng.integers(1, k, n)) % k
    return probs, np.where(correct, top, other)


def test_calibrated_predictor_has_zero_ece():
    rng = np.random.default_rng(0)
    c = rng.uniform(0.1, 1.0, 200_000)
    probs, labels = _predictor(c, c, 10, rng)
    assert expected_calibration_error(probs, labels) < 0.01


def test_miscalibrated_predictor_matches_closed_form():
    # confidence c ~ U(0.5, 1), accuracy c^2: every bin is over-confident, ECE = E[c - c^2] = 1/6
    rng = np.random.default_rng(1)
    c = rng.uniform(0.5, 1.0, 200_000)
    probs, labels = _predictor(c, c**2, 10, rng)
    assert expected_calibration_error(probs, labels) == pytest.approx(1 / 6, abs=0.005)
    # a constant 0.9-confident predictor that is right 60% of the time: ECE = 0.3
    c = np.full(100_000, 0.9)
    probs, labels = _predictor(c, np.full_like(c, 0.6), 4, rng)
    assert expected_calibration_error(probs, labels) == pytest.approx(0.3, abs=0.005)


def test_bins_follow_right_closed_edges():
    probs = np.array([[0.5, 0.5], [0.6, 0.4], [0.4, 0.6], [1.0, 0.0]])
    bins = calibration_bins(probs, np.array([0, 0, 0, 0]), n_bins=5)  # edges 0, .2, .4, .6, .8, 1
    assert bins["count"].tolist() == [0, 0, 3, 0, 1]  # 0.5, 0.6 and 0.6 in (0.4, 0.6]; 1.0 in (0.8, 1]
    # predictions 0 (tie -> first), 0, 1, 0 against label 0: two of three right in the middle bin
    np.testing.assert_allclose(bins["accuracy"][[2, 4]], [2 / 3, 1.0])
    np.testing.assert_allclose(bins["confidence"][[2, 4]], [1.7 / 3, 1.0])


def test_brier_and_nll_match_sklearn():
    rng = np.random.default_rng(2)
    p1 = rng.uniform(0, 1, 500)
    probs = np.c_[1 - p1, p1]
    labels = (rng.random(500) < p1).astype(int)
    # the multi-class Brier score sums over both classes: twice scikit-learn's binary score
    assert brier_score(probs, labels) == pytest.approx(2 * brier_score_loss(labels, p1))
    logits = rng.normal(size=(300, 5))
    soft = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, 5, 300)
    assert negative_log_likelihood(soft, y) == pytest.approx(log_loss(y, soft, labels=range(5)))


def test_bad_inputs():
    probs = np.array([[0.7, 0.3], [0.2, 0.8]])
    with pytest.raises(DataValidationError, match="sum to 1"):
        expected_calibration_error(probs * 0.5, [0, 1])
    with pytest.raises(DataValidationError, match="not logits"):
        expected_calibration_error(probs * 3, [0, 1])
    with pytest.raises(DataValidationError, match="labels of shape"):
        expected_calibration_error(probs, [0, 1, 1])
    with pytest.raises(DataValidationError, match="integer"):
        brier_score(probs, [0.0, 1.0])
    with pytest.raises(DataValidationError, match=r"\[0, 1\]"):
        negative_log_likelihood(probs, [0, 2])
    with pytest.raises(DataValidationError, match="n_bins"):
        expected_calibration_error(probs, [0, 1], n_bins=0)


def test_hand_computed_ece_from_confidences_or_labels():
    # 15 bins of width 1/15: 0.95 and 0.95 share (14/15, 1], 0.55 is in (8/15, 9/15], 0.35 in (5/15, 6/15]
    conf, correct = np.array([0.95, 0.95, 0.55, 0.35]), np.array([True, False, True, False])
    expected = (abs(1 - 1.9) + abs(1 - 0.55) + abs(0 - 0.35)) / 4
    assert expected_calibration_error(conf, correct) == pytest.approx(expected)
    # the same predictions as probabilities over 3 classes, with labels or with correctness
    probs = np.array([[0.95, 0.03, 0.02], [0.95, 0.03, 0.02], [0.55, 0.25, 0.2], [0.35, 0.33, 0.32]])
    labels = np.array([0, 1, 0, 2])
    assert expected_calibration_error(probs, labels) == pytest.approx(expected)
    assert expected_calibration_error(probs, correct) == pytest.approx(expected)


def test_calibration_score_is_bias_corrected_toward_the_truth():
    """Planted truth: a perfectly calibrated predictor (true ECE 0). The plug-in ECE of 400 items is biased
    up; the bias-corrected Score is closer to 0 and lies inside its CI."""
    rng = np.random.default_rng(3)
    plug, corrected = [], []
    for seed in range(20):
        c = rng.uniform(0.3, 1.0, 400)
        probs, labels = _predictor(c, c, 10, rng)
        score = calibration_score(probs, labels, seed=seed, n_boot=300)
        assert score.ci[0] <= score.value <= score.ci[1]
        assert score.n == 400 and score.method == "bias_corrected" and not score.higher_is_better
        plug.append(expected_calibration_error(probs, labels))
        corrected.append(score.value)
    assert np.mean(np.abs(corrected)) < 0.6 * np.mean(plug)
    # a miscalibrated predictor (closed form ECE 1/6): the CI covers the truth
    c = rng.uniform(0.5, 1.0, 3000)
    probs, labels = _predictor(c, c**2, 10, rng)
    score = calibration_score(probs, labels, n_boot=300)
    assert score.ci[0] <= 1 / 6 <= score.ci[1]
    assert calibration_score(probs, labels, n_boot=0).value == pytest.approx(expected_calibration_error(probs, labels))
