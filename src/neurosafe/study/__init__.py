"""Studies: a YAML config that chains the paths (record -> twin -> train -> evaluate) into ``results.json``."""

from neurosafe.study.config import StudyConfig, StudyConfigError, load_study
from neurosafe.study.effects import condition_scores, network_scores, paired_effects
from neurosafe.study.results import ScoreRecord, StudyResults, load_results, results_schema

__all__ = [
    "ScoreRecord", "StudyConfig", "StudyConfigError", "StudyResult", "StudyResults",
    "condition_scores", "load_results", "load_study", "network_scores", "paired_effects", "results_schema",
    "run_study",
]


def __getattr__(name: str):
    """The runner (models, data, training) is imported on first use: a fully cached ``neurosafe run`` never
    needs it (:func:`neurosafe.study.cache.cached_results`)."""
    if name in ("StudyResult", "run_study", "runner"):
        import importlib

        runner = importlib.import_module("neurosafe.study.runner")
        return runner if name == "runner" else getattr(runner, name)
    raise AttributeError(f"module 'neurosafe.study' has no attribute {name!r}")
