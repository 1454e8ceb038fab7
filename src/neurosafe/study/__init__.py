"""Studies: a YAML config that chains the paths (record -> twin -> train -> evaluate) into ``results.json``."""

from neurosafe.core.lazy import lazy_exports

# public names import their module on first use: a fully cached ``neurosafe run`` reads the config and the stored
# results (:func:`neurosafe.study.cache.cached_results`) without the runner (models, data, training) or the
# statistics (issue 18)
__getattr__, __dir__ = lazy_exports(__name__, {
    "neurosafe.study.config": ["StudyConfig", "StudyConfigError", "load_study"],
    "neurosafe.study.effects": ["condition_scores", "network_scores", "paired_effects"],
    "neurosafe.study.results": ["ScoreRecord", "StudyResults", "load_results", "results_schema"],
    "neurosafe.study.runner": ["StudyResult", "run_study", "runner"],
})

__all__ = [
    "ScoreRecord", "StudyConfig", "StudyConfigError", "StudyResult", "StudyResults",
    "condition_scores", "load_results", "load_study", "network_scores", "paired_effects", "results_schema",
    "run_study",
]
