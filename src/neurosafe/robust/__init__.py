"""Robustness: adversarial attacks on any differentiable objective (classifiers, digital twins, layer
representations), gradient-masking sanity checks, common corruptions, calibration and OOD detection, and
``robustness_report`` that turns them all into ``Score`` records."""

from neurosafe.robust._inputs import AttackError
from neurosafe.robust.apgd import apgd
from neurosafe.robust.attacks import fgsm, pgd, random_noise
from neurosafe.robust.calibration import (
    brier_score,
    calibration_bins,
    expected_calibration_error,
    negative_log_likelihood,
)
from neurosafe.robust.checks import Check, GradientMaskingWarning, gradient_masking_checks
from neurosafe.robust.corruptions import CORRUPTIONS, corrupt
from neurosafe.robust.evaluation import corruption_curve, corruption_summary
from neurosafe.robust.objectives import (
    CrossEntropy,
    DifferenceOfLogitsRatio,
    Margin,
    OutputChange,
    Representation,
)
from neurosafe.robust.ood import OOD_SETS, auroc, energy_score, fpr_at_tpr, max_softmax_score, ood_images
from neurosafe.robust.report import robustness_report
from neurosafe.robust.sweep import robustness_curve

__all__ = [
    "CORRUPTIONS",
    "OOD_SETS",
    "AttackError",
    "Check",
    "CrossEntropy",
    "DifferenceOfLogitsRatio",
    "GradientMaskingWarning",
    "Margin",
    "OutputChange",
    "Representation",
    "apgd",
    "auroc",
    "brier_score",
    "calibration_bins",
    "corrupt",
    "corruption_curve",
    "corruption_summary",
    "energy_score",
    "expected_calibration_error",
    "fgsm",
    "fpr_at_tpr",
    "gradient_masking_checks",
    "max_softmax_score",
    "negative_log_likelihood",
    "ood_images",
    "pgd",
    "random_noise",
    "robustness_curve",
    "robustness_report",
]
