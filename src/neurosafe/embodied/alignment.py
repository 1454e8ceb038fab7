"""Neural alignment, the virtual-rodent protocol (Aldarondo et al. 2024, Nature 632:594).

The twin replays the animal's trials (closed loop: it drives the body while tracking each trial's reference,
so its activity is that of its own movement) and every layer's activations are recorded. Each layer, and
the animal's kinematic features (joint angles, velocities, torques, forward velocity, height, pitch), is
then mapped to the animal's neurons with cross-validated ridge regression
(:func:`neurosafe.metrics.ridge_predictivity`; folds grouped by trial, so no trial is both trained on and
predicted); time bins are the samples and the Poisson repeats give the noise ceiling. All Scores share one
seed, so :func:`~neurosafe.metrics.paired_difference` gives each layer's advantage over kinematics with a
paired-bootstrap CI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from neurosafe.data.io import Recording
from neurosafe.data.recording import make_responses
from neurosafe.embodied.animal import Behaviour
from neurosafe.embodied.body import EmbodiedError
from neurosafe.embodied.rollout import rollout
from neurosafe.embodied.twin import SITES, EmbodiedTwin
from neurosafe.metrics import Score, correlation_ceiling, paired_difference, ridge_predictivity

__all__ = ["Alignment", "flatten_trials", "neural_alignment", "twin_activations"]


@dataclass
class Alignment:
    """Per-layer predictivity Scores (plus ``"kinematics"``) and each layer's paired difference against
    kinematics."""

    scores: dict[str, Score]
    differences: dict[str, Score]

    def table(self) -> list[dict]:
        """One row per feature set: value, CI, ceiling, ceiled value, features, difference vs kinematics."""
        rows = []
        for name, s in self.scores.items():
            d = self.differences.get(name)
            rows.append({"features": name, "value": s.value, "ci": s.ci, "ceiling": s.ceiling,
                         "ceiled_value": s.ceiled_value, "n_features": s.provenance.get("n_features"),
                         "minus_kinematics": None if d is None else d.value,
                         "minus_kinematics_ci": None if d is None else d.ci})
        return rows

    def to_dict(self) -> dict:
        return {"table": self.table(), "scores": {k: s.to_dict(per_unit=False) for k, s in self.scores.items()},
                "differences": {k: s.to_dict(per_unit=False) for k, s in self.differences.items()}}


def flatten_trials(recording: Recording) -> xr.DataArray:
    """(stimulus = trial, neuron, repeat, time) responses as (stimulus = time bin, neuron, repeat), with a
    ``trial`` stimulus coordinate for grouped folds."""
    r = recording.responses
    if r is None or "time" not in r.dims or "repeat" not in r.dims:
        raise EmbodiedError("alignment needs responses over (stimulus, neuron, repeat, time); got "
                            f"{None if r is None else r.dims}")
    values = r.transpose("stimulus", "time", "neuron", "repeat").values
    n_trials, n_time = values.shape[:2]
    trials = np.repeat(r["stimulus_id"].values.astype(str), n_time)
    ids = [f"{t}_t{k:04d}" for t, k in zip(trials, np.tile(np.arange(n_time), n_trials), strict=True)]
    return make_responses(values.reshape(n_trials * n_time, *values.shape[2:]), ids, r["neuron_id"].values,
                          dims=("stimulus", "neuron", "repeat"), attrs=dict(r.attrs),
                          stimulus_coords={"trial": trials})


def twin_activations(twin: EmbodiedTwin, behaviour: Behaviour, closed_loop: bool = True) -> dict[str, np.ndarray]:
    """Each site's activations (trial, time, units) while the twin replays the behaviour's trials
    (``closed_loop``: driving the body; else on the animal's own observations)."""
    obs = rollout(twin.policy(), behaviour).obs if closed_loop else behaviour.obs
    with torch.inference_mode():
        acts = twin.activations(torch.as_tensor(obs, dtype=torch.float32),
                                torch.as_tensor(behaviour.reference, dtype=torch.float32))
    return {k: v.numpy().astype(np.float64) for k, v in acts.items()}


def neural_alignment(twin: EmbodiedTwin, behaviour: Behaviour, recording: Recording, sites=SITES,
                     closed_loop: bool = True, seed: int = 0, n_folds: int = 5, n_boot: int = 200,
                     extra_features: dict[str, np.ndarray] | None = None) -> Alignment:
    """Cross-validated ridge predictivity of the recording's neurons from each twin site and from the
    animal's kinematics, with ceilings, CIs and paired differences against kinematics. ``extra_features``:
    other named feature sets (trial, time, k) scored alongside (e.g. the animal's planted drives)."""
    responses = flatten_trials(recording)
    n = behaviour.n_trials * behaviour.n_steps
    if responses.sizes["stimulus"] != n:
        raise EmbodiedError(f"the recording has {responses.sizes['stimulus']} time bins, the behaviour {n}")
    if behaviour.n_trials < n_folds:
        raise EmbodiedError(f"need at least n_folds={n_folds} trials for trial-grouped folds; got "
                            f"{behaviour.n_trials}")
    unknown = [s for s in sites if s not in SITES]
    if unknown:
        raise EmbodiedError(f"unknown twin sites {unknown}; the twin has {list(SITES)}")
    acts = twin_activations(twin, behaviour, closed_loop)
    features = {site: acts[site].reshape(n, -1) for site in sites}
    for name, x in (extra_features or {}).items():
        x = np.asarray(x, dtype=float)
        if x.shape[:2] != (behaviour.n_trials, behaviour.n_steps):
            raise EmbodiedError(f"extra features {name!r} must be (trial, time, k) = ({behaviour.n_trials}, "
                                f"{behaviour.n_steps}, k); got {x.shape}")
        features[name] = x.reshape(n, -1)
    features["kinematics"] = behaviour.kinematics.reshape(n, -1)
    ceiling = correlation_ceiling(responses, seed)
    scores = {name: ridge_predictivity(x, responses, groups="trial", seed=seed, n_folds=n_folds, n_boot=n_boot,
                                       ceiling=ceiling)
              for name, x in features.items()}
    diffs = {name: paired_difference(s, scores["kinematics"], name=f"{name} minus kinematics")
             for name, s in scores.items() if name != "kinematics"}
    return Alignment(scores, diffs)
