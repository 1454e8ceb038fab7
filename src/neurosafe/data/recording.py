"""Responses: the schema every recording, model activation and twin prediction follows, and its validation.

A response array is an ``xarray.DataArray`` with dims ``stimulus`` and ``neuron`` (in that order), then
optional ``repeat`` and ``time``; coords ``stimulus_id`` and ``neuron_id`` (unique strings); attrs for
``area``, ``species``, ``units``. NaN marks a missing repeat. Validation happens once, at the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from neurosafe.core.errors import DataValidationError
from neurosafe.data.stimuli import check_unique, format_ids

__all__ = ["make_responses", "trial_average", "validate_responses"]

REQUIRED_DIMS = ("stimulus", "neuron")
OPTIONAL_DIMS = ("repeat", "time")


def make_responses(values: np.ndarray, stimulus_ids: Sequence | None = None, neuron_ids: Sequence | None = None,
                   dims: Sequence[str] = ("stimulus", "neuron", "repeat"), attrs: Mapping | None = None,
                   stimulus_coords: Mapping[str, Sequence] | None = None,
                   neuron_coords: Mapping[str, Sequence] | None = None, allow_dead: bool = False) -> xr.DataArray:
    """Build a validated response DataArray from a plain array (dims in the order given; ``allow_dead`` as in
    :func:`validate_responses`)."""
    values = np.asarray(values)
    dims = tuple(dims)
    if values.ndim != len(dims):
        raise DataValidationError(f"values have {values.ndim} dims but dims={dims} names {len(dims)}")
    order = [d for d in (*REQUIRED_DIMS, *OPTIONAL_DIMS) if d in dims]
    sizes = dict(zip(dims, values.shape, strict=True))
    coords: dict = {}
    if "stimulus" in sizes:
        sid = np.arange(sizes["stimulus"]) if stimulus_ids is None else stimulus_ids
        coords["stimulus_id"] = ("stimulus", np.asarray([str(s) for s in sid], dtype=object))
        for k, v in (stimulus_coords or {}).items():
            coords[k] = ("stimulus", np.asarray(v))
    if "neuron" in sizes:
        nid = np.arange(sizes["neuron"]) if neuron_ids is None else neuron_ids
        coords["neuron_id"] = ("neuron", np.asarray([str(s) for s in nid], dtype=object))
        for k, v in (neuron_coords or {}).items():
            coords[k] = ("neuron", np.asarray(v))
    da = xr.DataArray(values, dims=dims, coords=coords, attrs=dict(attrs or {}), name="responses")
    if set(order) == set(dims):
        da = da.transpose(*order)
    return validate_responses(da, allow_dead=allow_dead)


def validate_responses(responses: xr.DataArray, min_repeats: int | None = None, *,
                       allow_dead: bool = False) -> xr.DataArray:
    """Check a response array against the schema; return it (float, canonical dim order) or raise.

    ``allow_dead``: accept neurons or stimuli with no valid response (all NaN); only for describing a file
    (``neurosafe info`` flags them), never for analysis.

    ``min_repeats``: when a noise ceiling is requested, every neuron must have at least this many valid
    repeats for at least two stimuli (and the ``repeat`` dim must exist).
    Errors are :class:`DataValidationError` with a message that names the problem and the offending ids.
    """
    if not isinstance(responses, xr.DataArray):
        raise DataValidationError(f"responses must be an xarray.DataArray; got {type(responses).__name__}")
    dims = responses.dims
    missing = [d for d in REQUIRED_DIMS if d not in dims]
    unknown = [d for d in dims if d not in (*REQUIRED_DIMS, *OPTIONAL_DIMS)]
    if missing or unknown:
        raise DataValidationError(f"responses need dims {REQUIRED_DIMS} plus optional {OPTIONAL_DIMS}; got {dims}"
                                  + (f" (missing {missing})" if missing else "")
                                  + (f" (unknown {unknown})" if unknown else ""))
    if not np.issubdtype(responses.dtype, np.floating):
        raise DataValidationError("responses must be floating point (NaN marks missing repeats); "
                                  f"got dtype {responses.dtype}")
    if responses.sizes["stimulus"] == 0 or responses.sizes["neuron"] == 0:
        raise DataValidationError(f"responses are empty: sizes {dict(responses.sizes)}")
    for dim, coord in (("stimulus", "stimulus_id"), ("neuron", "neuron_id")):
        if coord not in responses.coords or responses[coord].dims != (dim,):
            raise DataValidationError(f"responses need a coordinate {coord!r} along dim {dim!r}")
        check_unique(responses[coord].values.astype(str), dim)
    order = [d for d in (*REQUIRED_DIMS, *OPTIONAL_DIMS) if d in dims]
    responses = responses.transpose(*order)
    values = responses.values
    if np.isinf(values).any():
        where = np.isinf(values).reshape(values.shape[0], values.shape[1], -1).any(axis=2)
        raise DataValidationError("responses contain inf: neurons "
                                  f"{format_ids(responses.neuron_id.values[where.any(axis=0)])}, stimuli "
                                  f"{format_ids(responses.stimulus_id.values[where.any(axis=1)])}")
    valid = ~np.isnan(values).reshape(values.shape[0], values.shape[1], -1)
    dead_neurons = ~valid.any(axis=(0, 2))
    if allow_dead:
        return responses
    if dead_neurons.any():
        raise DataValidationError("neurons with no valid response (all NaN): "
                                  f"{format_ids(responses.neuron_id.values[dead_neurons])}")
    dead_stimuli = ~valid.any(axis=(1, 2))
    if dead_stimuli.any():
        raise DataValidationError("stimuli with no valid response (all NaN): "
                                  f"{format_ids(responses.stimulus_id.values[dead_stimuli])}")
    if min_repeats is not None:
        check_repeats(responses, min_repeats)
    return responses


def check_repeats(responses: xr.DataArray, min_repeats: int = 2) -> None:
    """Raise unless every neuron has >= ``min_repeats`` valid repeats on at least two stimuli."""
    if "repeat" not in responses.dims:
        raise DataValidationError("a noise ceiling needs repeated presentations: responses have no 'repeat' dim "
                                  f"(dims {responses.dims})")
    if "time" in responses.dims:
        raise DataValidationError("reduce the 'time' dim first (e.g. sum spike counts over a window)")
    n_valid = responses.notnull().sum("repeat").transpose("stimulus", "neuron").values
    enough = (n_valid >= min_repeats).sum(axis=0) >= 2
    if not enough.all():
        raise DataValidationError(
            f"a noise ceiling needs at least {min_repeats} valid repeats on at least 2 stimuli; neurons "
            f"{format_ids(responses.neuron_id.values[~enough])} have fewer "
            f"(max valid repeats: {int(n_valid.max())})"
        )


def trial_average(responses: xr.DataArray) -> xr.DataArray:
    """Mean over the ``repeat`` dim, ignoring missing (NaN) repeats; unchanged without repeats."""
    responses = validate_responses(responses)
    if "repeat" not in responses.dims:
        return responses
    return responses.mean("repeat", skipna=True, keep_attrs=True)
