"""Results of in-silico experiments on disk and as JSON-ready summaries (used by the CLI and reports)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from neurosafe.core.io import atomic_path

__all__ = ["dose_summary", "mei_summary", "rf_summary", "save_result", "tuning_summary"]

_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def save_result(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a result Dataset to netCDF atomically; non-scalar attrs are stored as JSON strings."""
    ds = ds.copy()
    ds.attrs = {k: v if isinstance(v, str | int | float) else json.dumps(v, default=str) for k, v in ds.attrs.items()}
    for name in list(ds.variables):
        if ds[name].dtype == object:
            ds[name] = ds[name].astype(str)
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return {f"q{int(q * 100)}": (float(np.quantile(v, q)) if v.size else None) for q in _QUANTILES}


def _ids(ds: xr.Dataset) -> list[str]:
    return [str(i) for i in ds["neuron_id"].values]


def tuning_summary(ds: xr.Dataset) -> dict:
    """OSI and circular-variance distributions and each neuron's preferred orientation and OSI."""
    osi = ds["osi"].values
    defined = osi[np.isfinite(osi)]
    return {"n_neurons": int(ds.sizes["neuron"]), "osi": _quantiles(osi),
            "circular_variance": _quantiles(ds["circular_variance"].values),
            "fraction_osi_above_0.3": float((defined > 0.3).mean()) if defined.size else None,
            "per_neuron": {n: {"preferred_orientation": float(p), "osi": float(o)}
                           for n, p, o in zip(_ids(ds), ds["preferred_orientation"].values, osi, strict=True)}}


def rf_summary(ds: xr.Dataset) -> dict:
    """Distributions of fitted RF size and fit quality, and each neuron's centre and size."""
    return {"n_neurons": int(ds.sizes["neuron"]), "method": ds.attrs.get("method"),
            "rf_size": _quantiles(ds["rf_size"].values), "fit_r2": _quantiles(ds["fit_r2"].values),
            "n_fitted": int(np.isfinite(ds["rf_size"].values).sum()),
            "per_neuron": {n: {"x": _num(x), "y": _num(y), "size": _num(s)} | (
                {} if "p_value" not in ds.coords else {"sta_p_value": float(p),
                                                        "significant": bool(p < ds.attrs["alpha"])})
                for n, x, y, s, p in zip(_ids(ds), ds["rf_x"].values, ds["rf_y"].values, ds["rf_size"].values,
                                         ds["p_value"].values if "p_value" in ds.coords else ds["rf_x"].values,
                                         strict=True)}}


def _num(value) -> float | None:
    """A finite float, or None (JSON null) for NaN: an RF that was not fitted."""
    value = float(value)
    return value if np.isfinite(value) else None


def mei_summary(meis: xr.Dataset, comparison: xr.Dataset) -> dict:
    """Each unit's response to its MEI, to its best natural image, and their ratio."""
    return {"n_units": int(meis.sizes["neuron"]), "norm": meis.attrs.get("norm"),
            "ratio": _quantiles(comparison["ratio"].values),
            "per_unit": {n: {"mei": float(a), "best_natural": float(b), "best_natural_id": str(i)} for n, a, b, i in
                         zip(_ids(meis), comparison["mei_activation"].values, comparison["natural_max"].values,
                             comparison["best_natural"].values, strict=True)}}


def dose_summary(ds: xr.Dataset) -> dict:
    """Score per ablated fraction with its CI, and the intact score."""
    return {"site": ds.attrs.get("site"), "method": ds.attrs.get("method"), "n_units": ds.attrs.get("n_units"),
            "intact": ds.attrs.get("intact"),
            "curve": [{"fraction": float(f), "n_ablated": int(k), "score": float(s), "ci": [float(lo), float(hi)]}
                      for f, k, s, lo, hi in zip(ds["fraction"].values, ds["n_ablated"].values, ds["score"].values,
                                                 ds["ci_low"].values, ds["ci_high"].values, strict=True)]}
