"""``tune_readout``: pick a readout's penalty strengths on a validation split of the TRAINING images, then
refit on all of them (Klindt et al. 2017, NeurIPS: the factorized readout's sparsity and smoothness
penalties are hyperparameters chosen on validation data; Lurz et al. 2021 likewise for the Gaussian
readout's position prior).

Every combination of the ``grid`` (a Cartesian product over ``ReadoutConfig`` penalty fields: ``l1``,
``smooth``, ``position_prior``, ``init_sigma``) is fit on the tuning-train part of the given stimuli and
scored by the median (over neurons) Pearson r with the repeat averages of the tuning-validation part;
those validation stimuli also drive each candidate's early stopping (the neuralpredictors practice: one
validation set for stopping and selection). The test images of a study are never passed here: the split
is made inside the stimuli given. The winner is refit on all given stimuli (its early stopping on the
config's own seeded ``val_fraction``). Two modes: a whole twin (``fit_twin``; ``config`` and, for a
feature core, ``subject``) or a new readout on a fitted twin's frozen core (``twin=``: ``transfer_twin``).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import xarray as xr

from neurosafe.core.seeds import child_seed, make_rng
from neurosafe.data.stimuli import StimulusSet
from neurosafe.twin.compare import test_correlation
from neurosafe.twin.config import ReadoutConfig, TwinConfig
from neurosafe.twin.errors import TwinConfigError, TwinError
from neurosafe.twin.model import DigitalTwin
from neurosafe.twin.train import fit_twin, transfer_twin

__all__ = ["TUNABLE", "ReadoutTuning", "tune_readout"]

TUNABLE = ("l1", "smooth", "position_prior", "init_sigma")


@dataclass(frozen=True)
class ReadoutTuning:
    """The chosen penalty strengths and every candidate's validation score (median r over neurons)."""

    chosen: dict[str, float]
    table: list[dict]
    n_train: int
    n_validation: int

    def to_dict(self) -> dict:
        return {"chosen": self.chosen, "table": self.table, "n_train": self.n_train,
                "n_validation": self.n_validation, "criterion": "median validation r over neurons"}


def _candidates(base: ReadoutConfig, grid: Mapping[str, Sequence[float]]) -> list[ReadoutConfig]:
    if not isinstance(grid, Mapping) or not grid:
        raise TwinConfigError(f"grid must be a non-empty mapping {{penalty: [values]}} over {TUNABLE}")
    names = {f.name for f in fields(ReadoutConfig)}
    for key, values in grid.items():
        if key not in TUNABLE:
            hint = "" if key in names else f" (not a readout option; options: {sorted(names)})"
            raise TwinConfigError(f"cannot tune readout.{key}: tunable penalties are {TUNABLE}{hint}")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) == 0:
            raise TwinConfigError(f"grid[{key!r}] must be a non-empty list of numbers; got {values!r}")
    keys = list(grid)
    return [replace(base, **dict(zip(keys, map(float, combo), strict=True)))
            for combo in itertools.product(*(grid[k] for k in keys))]


def _split(data: Mapping[str, tuple[StimulusSet, xr.DataArray]], fraction: float, seed: int) -> dict[str, list[str]]:
    """Per session, the seeded validation stimulus ids (a ``fraction`` of the session's stimuli)."""
    out = {}
    for name, (_, resp) in data.items():
        ids = resp.stimulus_id.values.astype(str)
        n_val = max(3, round(fraction * len(ids)))
        if len(ids) - n_val < 10:
            raise TwinError(f"session {name!r} has {len(ids)} stimuli: too few to hold out {n_val} for tuning")
        rng = make_rng(seed, "tune_readout", name)
        out[name] = sorted(ids[rng.choice(len(ids), n_val, replace=False)].tolist())
    return out


def _subset(resp: xr.DataArray, ids: Sequence[str]) -> xr.DataArray:
    return resp.isel(stimulus=np.isin(resp.stimulus_id.values.astype(str), list(ids)))


def _validation_r(model: DigitalTwin, data, val: Mapping[str, list[str]]) -> np.ndarray:
    rs = []
    for name, (stim, resp) in data.items():
        held = _subset(resp, val[name])
        pred = model.respond(stim.aligned_to(held), f"readout.{name}")
        rs.append(test_correlation(pred.values, held))
    return np.concatenate(rs)


def tune_readout(stimuli: StimulusSet | Mapping[str, StimulusSet], responses: xr.DataArray | Mapping[str, xr.DataArray],
                 grid: Mapping[str, Sequence[float]], config: TwinConfig | None = None, *,
                 twin: DigitalTwin | None = None, readout: ReadoutConfig | None = None, session: str = "transfer",
                 subject=None, seed: int = 0,
                 tune_fraction: float = 0.2, refit: bool = True) -> tuple[DigitalTwin | None, ReadoutTuning]:
    """Choose readout penalties by validation on the given (training) stimuli, then refit.

    ``grid``: {``l1`` | ``smooth`` | ``position_prior`` | ``init_sigma``: values}, tried as a Cartesian
    product on top of ``readout`` (default ``config.readout``, or the twin's with ``twin=``). Without ``twin`` each
    candidate is a whole twin (``fit_twin(stimuli, responses, config, subject=subject)``; ``responses``
    one DataArray or {session: DataArray}); with ``twin`` a new readout for ``session`` on its frozen core
    (``transfer_twin``; ``responses`` one DataArray). ``tune_fraction`` of each session's stimuli
    (seeded) validates. Returns (the refit twin, or None when ``refit=False``; the :class:`ReadoutTuning`).
    """
    if not 0 < tune_fraction < 1:
        raise TwinConfigError(f"tune_fraction must lie in (0, 1); got {tune_fraction}")
    if twin is not None:
        if not isinstance(twin, DigitalTwin):
            raise TwinError(f"twin must be a fitted DigitalTwin; got {type(twin).__name__}")
        if not isinstance(responses, xr.DataArray) or not isinstance(stimuli, StimulusSet):
            raise TwinError("transfer tuning (twin=) takes one session: a StimulusSet and one DataArray")
        base, data = twin.config, {session: (stimuli, responses)}
    else:
        base = TwinConfig() if config is None else config
        if not isinstance(base, TwinConfig):
            raise TwinError(f"config must be a TwinConfig; got {type(base).__name__}")
        resp_map = responses if isinstance(responses, Mapping) else {"default": responses}
        data = {n: (stimuli[n] if isinstance(stimuli, Mapping) else stimuli, r) for n, r in resp_map.items()}
    if readout is not None:
        if not isinstance(readout, ReadoutConfig):
            raise TwinError(f"readout must be a ReadoutConfig; got {type(readout).__name__}")
        base = base.replace(readout=readout)
    if base.readout.kind == "linear":
        raise TwinConfigError("the linear readout is tuned in closed form (ridge CV); tune a trained readout")
    candidates = _candidates(base.readout, grid)
    val = _split(data, tune_fraction, seed)

    def fit(readout: ReadoutConfig, validation, fit_seed: int) -> DigitalTwin:
        """Train on every given stimulus but ``validation`` (early stopping on those; None: the config's own
        seeded ``val_fraction``)."""
        if twin is not None:
            return transfer_twin(twin, stimuli, responses, session=session, seed=fit_seed, readout=readout,
                                 validation=None if validation is None else validation[session])
        cfg = base.replace(readout=readout)
        return fit_twin(stimuli, responses, cfg, seed=fit_seed, subject=subject, validation=validation)

    table = []
    fit_seed = child_seed(seed, "tune_readout", "fit")
    for cand in candidates:
        model = fit(cand, val, fit_seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r = _validation_r(model, data, val)
            score = float(np.nanmedian(r)) if np.isfinite(r).any() else float("nan")
        table.append({**{k: getattr(cand, k) for k in grid}, "val_median_r": score,
                      "val_mean_r": float(np.nanmean(r)) if np.isfinite(r).any() else float("nan")})
    scores = np.array([row["val_median_r"] for row in table])
    if not np.isfinite(scores).any():
        raise TwinError("every candidate's validation correlation is undefined (constant predictions)")
    best = int(np.nanargmax(scores))
    chosen = {k: float(getattr(candidates[best], k)) for k in grid}
    n_val = sum(len(v) for v in val.values())
    n_all = sum(r.sizes["stimulus"] for _, r in data.values())
    result = ReadoutTuning(chosen, table, n_all - n_val, n_val)
    if not refit:
        return None, result
    return fit(candidates[best], None, seed), result
