"""Studies: a YAML config that chains the paths (record -> twin -> train -> evaluate) into ``results.json``."""

from neurosafe.study.config import StudyConfig, StudyConfigError, load_study
from neurosafe.study.effects import condition_scores, network_scores, paired_effects
from neurosafe.study.results import ScoreRecord, StudyResults, load_results, results_schema
from neurosafe.study.runner import StudyResult, run_study

__all__ = [
    "ScoreRecord", "StudyConfig", "StudyConfigError", "StudyResult", "StudyResults",
    "condition_scores", "load_results", "load_study", "network_scores", "paired_effects", "results_schema",
    "run_study",
]
