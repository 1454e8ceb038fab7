"""Studies: a YAML config that chains the paths (record -> twin -> train -> evaluate) into ``results.json``."""

from neurosafe.study.config import StudyConfig, StudyConfigError, load_study
from neurosafe.study.runner import StudyResult, run_study

__all__ = ["StudyConfig", "StudyConfigError", "StudyResult", "load_study", "run_study"]
