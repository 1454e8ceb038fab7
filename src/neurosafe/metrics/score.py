"""``Score``: the record every metric returns (value, per-unit values, ceiling, CI, direction, provenance).

Modelled on rsatoolbox's inference result and Brain-Score's scores: a number never travels without its
uncertainty, its ceiling and where it came from.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

import neurosafe

__all__ = ["Score", "data_hash", "provenance"]


def data_hash(*arrays: Any) -> str:
    """Short content hash (sha256) of arrays / DataArrays / strings, for provenance and cache keys."""
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, xr.DataArray):
            h.update(np.ascontiguousarray(a.values).tobytes())
            for name in sorted(a.coords):
                h.update(str(name).encode())
                h.update(np.asarray(a[name].values).astype(str).tobytes())
        elif isinstance(a, np.ndarray):
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        else:
            h.update(repr(a).encode())
    return h.hexdigest()[:16]


def provenance(metric: str, params: dict | None = None, data: Any = None, seed: int | None = None,
               **extra: Any) -> dict:
    """A provenance dict: metric name and parameters, data hash, seed and package version."""
    out = {"metric": metric, "params": dict(params or {}), "seed": seed, "version": neurosafe.__version__}
    if data is not None:
        out["data_hash"] = data_hash(data)
    out.update(extra)
    return out


def _json_number(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class Score:
    """A metric's result.

    ``value`` summarises ``per_unit`` (usually the median over neurons); ``ceiled_value`` = value / ceiling
    when a ceiling is known; ``ci`` is a (low, high) confidence interval for ``value``;
    ``higher_is_better`` gives the direction.
    """

    value: float
    per_unit: xr.DataArray | None = None
    ceiling: float | None = None
    ceiled_value: float | None = None
    ci: tuple[float, float] | None = None
    higher_is_better: bool = True
    provenance: dict = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        ci = f" [{self.ci[0]:.3f}, {self.ci[1]:.3f}]" if self.ci else ""
        ceil = f", ceiled {self.ceiled_value:.3f}" if self.ceiled_value is not None else ""
        name = self.provenance.get("metric", "score")
        return f"Score({name}: {self.value:.4f}{ci}{ceil})"

    def to_dict(self, per_unit: bool = True) -> dict:
        """JSON-ready dict (NaN becomes null)."""
        out: dict[str, Any] = {
            "value": _json_number(self.value),
            "ceiling": None if self.ceiling is None else _json_number(self.ceiling),
            "ceiled_value": None if self.ceiled_value is None else _json_number(self.ceiled_value),
            "ci": None if self.ci is None else [_json_number(c) for c in self.ci],
            "higher_is_better": self.higher_is_better,
            "provenance": self.provenance,
        }
        if per_unit and self.per_unit is not None:
            dim = self.per_unit.dims[0]
            ids = self.per_unit[f"{dim}_id"].values if f"{dim}_id" in self.per_unit.coords else None
            ids = self.per_unit[dim].values if ids is None else ids
            out["per_unit"] = {str(i): _json_number(v) for i, v in zip(ids, self.per_unit.values, strict=True)}
        return out
