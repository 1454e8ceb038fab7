"""The bottom layer: what every package needs and nothing else (imports nothing else of neurosafe).

Atomic writes and safe reads (:mod:`.io`), content hashing (:mod:`.hashing`), seed streams
(:mod:`.seeds`), device resolution (:mod:`.devices`), figure saving (:mod:`.figures`), the executor
(:mod:`.executor`), forward-hook helpers (:mod:`.hooks`), per-thread scratch arrays (:mod:`.workspace`) and the
error family (:mod:`.errors`).
"""

from neurosafe.core.devices import resolve_device
from neurosafe.core.errors import DataFileError, DataValidationError, NeurosafeError
from neurosafe.core.executor import BACKENDS, Executor, ExecutorError, LocalExecutor, RayExecutor, get_executor
from neurosafe.core.hashing import data_hash, file_hash, source_hash, stable_int, state_hash
from neurosafe.core.hooks import SiteError, capture, check_sites, eval_mode, first_tensor, hooked, module_sites
from neurosafe.core.io import (
    CorruptFileError,
    atomic_dir,
    atomic_path,
    load_json,
    load_state,
    save_json,
    save_state,
)
from neurosafe.core.seeds import child_seed, make_rng, seed_sequence, spawn_seeds, torch_generator

__all__ = [
    "BACKENDS", "CorruptFileError", "DataFileError", "DataValidationError", "Executor", "ExecutorError",
    "LocalExecutor", "NeurosafeError", "RayExecutor", "SiteError", "atomic_dir", "atomic_path", "capture",
    "check_sites", "child_seed", "data_hash", "eval_mode", "file_hash", "first_tensor", "get_executor", "hooked",
    "load_json", "load_state", "make_rng", "module_sites", "resolve_device", "save_json", "save_state",
    "seed_sequence", "source_hash", "spawn_seeds", "stable_int", "state_hash", "torch_generator",
]
