"""Robustness: adversarial attacks on any differentiable objective (classifiers, digital twins, layer
representations), gradient-masking sanity checks, common corruptions, OOD sets and scores, and
``robustness_report`` that turns them all (with calibration and detection metrics from
``neurosafe.metrics``) into ``Score`` records."""

from neurosafe.robust._inputs import AttackError
from neurosafe.robust.apgd import apgd
from neurosafe.robust.attacks import fgsm, pgd, random_noise
from neurosafe.robust.checks import Check, GradientMaskingWarning, gradient_masking_checks
from neurosafe.robust.corruptions import CORRUPTIONS, corrupt
from neurosafe.robust.evaluation import corruption_curve, corruption_summary
from neurosafe.robust.objectives import CrossEntropy, DifferenceOfLogitsRatio, Margin, OutputChange, Representation
from neurosafe.robust.ood import OOD_SETS, energy_score, max_softmax_score, ood_images
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
    "corrupt",
    "corruption_curve",
    "corruption_summary",
    "energy_score",
    "fgsm",
    "gradient_masking_checks",
    "max_softmax_score",
    "ood_images",
    "pgd",
    "random_noise",
    "robustness_curve",
    "robustness_report",
]
