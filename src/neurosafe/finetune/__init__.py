"""Brain-data finetuning (paper section 6): train networks with neural regularizers, against controls.

Regularizers (RSA, CKA, a prediction head) pull a site's representation toward neural targets; controls
(shuffled, statistics-matched targets) separate the effect of brain data from that of any regularization
(Federer et al. 2020). Training itself is ``neurosafe.subjects.train_classifier`` (re-exported here).
"""

from neurosafe.finetune.regularizers import (
    CKARegularizer,
    PredictionRegularizer,
    RegularizerConfig,
    RSARegularizer,
    make_regularizer,
)
from neurosafe.finetune.targets import CONTROLS, NeuralTargets, make_control, shuffled, statistics_matched
from neurosafe.subjects.training import Regularizer, TrainConfig, TrainResult, evaluate_accuracy, train_classifier

__all__ = [
    "CONTROLS", "CKARegularizer", "NeuralTargets", "PredictionRegularizer", "RSARegularizer", "Regularizer",
    "RegularizerConfig",
    "TrainConfig", "TrainResult", "evaluate_accuracy", "make_control", "make_regularizer", "shuffled",
    "statistics_matched", "train_classifier",
]
