"""Brain-data finetuning (paper section 6): train networks with neural regularizers, against controls.

Regularizers (RSA, CKA, a prediction head) pull a site's representation toward neural targets; controls
(shuffled, statistics-matched targets) separate the effect of brain data from that of any regularization
(Federer et al. 2020). Training itself is ``neurosafe.subjects.train_classifier`` (re-exported here).
"""

from neurosafe.core.lazy import lazy_exports

# public names import their module on first use (a cached `neurosafe run` needs few of them: issue 18)
__getattr__, __dir__ = lazy_exports(__name__, {
    "neurosafe.finetune.config": ["RegularizerConfig"],
    "neurosafe.finetune.regularizers": [
        "CKARegularizer", "PredictionRegularizer", "RSARegularizer", "make_regularizer",
    ],
    "neurosafe.finetune.targets": ["CONTROLS", "NeuralTargets", "make_control", "shuffled", "statistics_matched"],
    "neurosafe.subjects.config": ["TrainConfig"],
    "neurosafe.subjects.training": ["Regularizer", "TrainResult", "evaluate_accuracy", "train_classifier"],
})

__all__ = [
    "CONTROLS", "CKARegularizer", "NeuralTargets", "PredictionRegularizer", "RSARegularizer", "Regularizer",
    "RegularizerConfig",
    "TrainConfig", "TrainResult", "evaluate_accuracy", "make_control", "make_regularizer", "shuffled",
    "statistics_matched", "train_classifier",
]
