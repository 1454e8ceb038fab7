"""Files: netCDF (our own format, lossless), NWB export/import, npz import; atomic writes. Never pickle.

A ``Recording`` bundles responses, the stimuli shown and named extra arrays (e.g. RDMs). In netCDF the
responses are the variable ``responses``; stimuli are ``stimulus_images`` over dims (image, channel, y, x)
with coords ``image_id`` and ``image_meta__<column>``; extras are ``extra__<name>``. Attributes that
netCDF cannot hold exactly (dicts, bools, None) are stored as JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from datetime import UTC
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurosafe.core.errors import DataFileError, DataValidationError
from neurosafe.core.io import atomic_path
from neurosafe.data.recording import make_responses, validate_responses
from neurosafe.data.stimuli import StimulusSet

__all__ = ["Recording", "export_nwb", "import_nwb", "load_netcdf", "load_npz", "load_recording", "save_netcdf"]

_ATTRS_KEY = "neurosafe_attrs_json"
_FORMAT = "neurosafe-recording-1"


@dataclass
class Recording:
    """Responses (or None), the stimuli shown (or None) and named extra DataArrays (e.g. RDMs)."""

    responses: xr.DataArray | None = None
    stimuli: StimulusSet | None = None
    extras: dict[str, xr.DataArray] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    allow_dead: InitVar[bool] = False  # accept all-NaN neurons/stimuli: for describing a file only

    def __post_init__(self, allow_dead: bool) -> None:
        if self.responses is not None:
            self.responses = validate_responses(self.responses, allow_dead=allow_dead)
            if self.stimuli is not None:
                self.stimuli = self.stimuli.aligned_to(self.responses)



def _encode_attrs(attrs: Mapping) -> dict:
    try:
        return {_ATTRS_KEY: json.dumps(dict(attrs), allow_nan=True)}
    except TypeError as err:
        raise DataValidationError(f"attributes must be JSON-serialisable to be saved: {err}") from err


def _decode_attrs(attrs: Mapping) -> dict:
    return json.loads(attrs[_ATTRS_KEY]) if _ATTRS_KEY in attrs else dict(attrs)


def _strings(a) -> np.ndarray:
    return np.asarray([str(v) for v in np.asarray(a).ravel()], dtype=object).reshape(np.shape(a))


def _clean(da: xr.DataArray) -> xr.DataArray:
    """Copy with JSON-encoded attrs and object/unicode coords as str objects (h5netcdf vlen strings)."""
    da = da.copy()
    for name in list(da.coords):
        if da[name].dtype.kind in "OU":
            da = da.assign_coords({name: (da[name].dims, _strings(da[name].values))})
    da.attrs = _encode_attrs(da.attrs)
    return da


def _to_dataset(rec: Recording) -> xr.Dataset:
    variables: dict[str, xr.DataArray] = {}
    if rec.responses is not None:
        variables["responses"] = _clean(rec.responses).rename(None)
    if rec.stimuli is not None:
        st = rec.stimuli
        coords = {"image_id": ("image", _strings(st.ids))}
        for col in st.metadata.columns:
            values = st.metadata[col].to_numpy()
            coords[f"image_meta__{col}"] = ("image", _strings(values) if values.dtype.kind in "OU" else values)
        variables["stimulus_images"] = xr.DataArray(st.images, dims=("image", "channel", "y", "x"), coords=coords)
    for name, da in rec.extras.items():
        # each extra gets its own dims and coords, so extras with the same dim names are never joined
        names = {k: f"{name}__{k}" for k in (*da.dims, *da.coords)}
        variables[f"extra__{name}"] = _clean(da).rename(None).rename(names)
    ds = xr.Dataset(variables)
    ds.attrs = {"format": _FORMAT, **_encode_attrs(rec.attrs)}
    return ds


def save_netcdf(rec: Recording | xr.DataArray, path: str | os.PathLike, stimuli: StimulusSet | None = None) -> Path:
    """Write a recording (or bare responses + optional stimuli) to netCDF-4, atomically."""
    if isinstance(rec, xr.DataArray):
        rec = Recording(responses=rec, stimuli=stimuli)
    ds = _to_dataset(rec)
    encoding = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars if ds[v].dtype.kind == "f"}
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return path


def _restore(da: xr.DataArray) -> xr.DataArray:
    da = da.copy()
    da.attrs = _decode_attrs(da.attrs)
    da.encoding = {}
    for name in list(da.coords):
        da[name].encoding = {}
    return da


def load_netcdf(path: str | os.PathLike, *, allow_dead: bool = False) -> Recording:
    """Read a file written by :func:`save_netcdf`; validate it; clear errors for missing or corrupt files.
    ``allow_dead``: accept all-NaN neurons or stimuli (for ``neurosafe info``, which flags them)."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"no such file: {path}")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as err:  # h5py/xarray raise many types for a corrupt file
        raise DataFileError(f"{path} is not a readable netCDF-4 file: {err}") from err
    if ds.attrs.get("format") != _FORMAT:
        found = ds.attrs.get("format")
        raise DataFileError(f"{path} is netCDF but not a neurosafe recording (attribute format={found!r})")
    responses = _restore(ds["responses"]).rename("responses") if "responses" in ds else None
    stimuli = None
    if "stimulus_images" in ds:
        im = ds["stimulus_images"]
        meta = pd.DataFrame({c.removeprefix("image_meta__"): im[c].values for c in im.coords
                             if c.startswith("image_meta__")})
        stimuli = StimulusSet(im.values.astype(np.float32), im["image_id"].values, meta)
    extras = {}
    for key in ds.data_vars:
        if key.startswith("extra__"):
            name = key.removeprefix("extra__")
            da = _restore(ds[key]).rename(None)
            extras[name] = da.rename({k: k.removeprefix(f"{name}__") for k in (*da.dims, *da.coords)})
    return Recording(responses, stimuli, extras, _decode_attrs(ds.attrs), allow_dead=allow_dead)


# ------------------------------------------------------------------------------------------------ NWB
def export_nwb(rec: Recording, path: str | os.PathLike, session_description: str = "neurosafe recording",
               identifier: str | None = None) -> Path:
    """Write a recording and its stimuli to NWB (pynwb), atomically.

    Layout: stimuli as an ``ImageSeries`` "stimuli" in ``stimulus_template`` (frames (n, y, x, channel),
    one per stimulus, ids and metadata in the processing table "stimulus_table"); responses in the
    processing module "neurosafe" as a ``TimeSeries`` "responses" indexed by stimulus (timestamps 0..n-1),
    whose data keep the array's dims (listed, with attrs, in its JSON ``comments``), and DynamicTables
    "neurons" and "stimuli" with every coordinate.
    """
    from datetime import datetime
    from uuid import uuid4

    from hdmf.common import DynamicTable, VectorData
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.image import ImageSeries

    if rec.responses is None:
        raise DataValidationError("NWB export needs responses")
    resp = rec.responses
    nwb = NWBFile(session_description=session_description, identifier=identifier or str(uuid4()),
                  session_start_time=datetime(2000, 1, 1, tzinfo=UTC))

    def table(name: str, dim: str, da: xr.DataArray | pd.DataFrame) -> DynamicTable:
        if isinstance(da, pd.DataFrame):
            cols = {c: da[c].to_numpy() for c in da.columns}
        else:
            cols = {c: da[c].values for c in da.coords if da[c].dims == (dim,)}
        columns = [VectorData(name=f"col__{c}", description=f"{c} ({np.asarray(v).dtype.kind})",
                              data=list(_strings(v)) if np.asarray(v).dtype.kind in "OU" else np.asarray(v))
                   for c, v in cols.items()]
        return DynamicTable(name=name, description=f"{name}, one row per {dim}", columns=columns)

    mod = nwb.create_processing_module("neurosafe", "responses written by neurosafe")
    mod.add(table("neurons", "neuron", resp))
    mod.add(table("stimuli", "stimulus", resp))
    comments = json.dumps({"dims": list(resp.dims), "attrs": resp.attrs, "name": resp.name}, allow_nan=True)
    mod.add(TimeSeries(name="responses", data=resp.values, unit=str(resp.attrs.get("units", "a.u.")),
                       timestamps=np.arange(resp.sizes["stimulus"], dtype=float), comments=comments,
                       description="responses indexed by stimulus; dims in comments"))
    if rec.stimuli is not None:
        st = rec.stimuli
        nwb.add_stimulus_template(ImageSeries(name="stimuli", data=st.images.transpose(0, 3, 2, 1), unit="intensity",
                                              rate=1.0, description="stimulus frames (n, x, y, channel) in [0, 1]"))
        mod.add(table("stimulus_table", "stimulus", pd.DataFrame({"stimulus_id": st.ids, **{
            f"meta__{c}": st.metadata[c].to_numpy() for c in st.metadata.columns}})))
    path = Path(path)
    with atomic_path(path) as tmp, NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwb)
    return path


def _column(col) -> np.ndarray:
    values = np.asarray(col.data[:])
    if values.dtype.kind == "S":
        values = values.astype(str)
    kind = col.description.rsplit("(", 1)[-1].rstrip(")")
    return _strings(values) if kind in "OU" or values.dtype.kind in "OSU" else values


def import_nwb(path: str | os.PathLike, *, allow_dead: bool = False) -> Recording:
    """Read a recording written by :func:`export_nwb` (``allow_dead``: as in :func:`load_netcdf`)."""
    from pynwb import NWBHDF5IO

    path = Path(path)
    if not path.exists():
        raise DataFileError(f"no such file: {path}")
    try:
        with NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            mod = nwb.processing["neurosafe"]
            ts = mod["responses"]
            info = json.loads(ts.comments)
            values = np.asarray(ts.data[:])
            neurons = {c.name.removeprefix("col__"): _column(c) for c in mod["neurons"].columns}
            stims = {c.name.removeprefix("col__"): _column(c) for c in mod["stimuli"].columns}
            stimuli = None
            if "stimuli" in nwb.stimulus_template:
                images = np.asarray(nwb.stimulus_template["stimuli"].data[:]).transpose(0, 3, 2, 1)
                tab = {c.name.removeprefix("col__"): _column(c) for c in mod["stimulus_table"].columns}
                meta = pd.DataFrame({k.removeprefix("meta__"): v for k, v in tab.items() if k.startswith("meta__")})
                stimuli = StimulusSet(images.astype(np.float32), tab["stimulus_id"], meta)
    except (KeyError, OSError, ValueError) as err:
        raise DataFileError(f"{path} is not an NWB file written by neurosafe: {err}") from err
    da = xr.DataArray(values, dims=info["dims"], attrs=info["attrs"], name=info["name"],
                      coords={**{k: ("neuron", v) for k, v in neurons.items()},
                              **{k: ("stimulus", v) for k, v in stims.items()}})
    return Recording(da, stimuli, allow_dead=allow_dead)


# ------------------------------------------------------------------------------------------------ npz
def load_npz(path: str | os.PathLike, responses_key: str = "responses",
             dims: tuple[str, ...] = ("stimulus", "neuron", "repeat"), images_key: str | None = "images",
             stimulus_ids_key: str = "stimulus_ids", neuron_ids_key: str = "neuron_ids", *,
             allow_dead: bool = False) -> Recording:
    """Import plain arrays from an .npz (no pickles): responses with the given dims, optional images
    (n, channels, height, width) in [0, 1] or uint8, optional id arrays (``allow_dead``: as in
    :func:`load_netcdf`)."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as err:
        raise DataFileError(f"{path}: refusing object arrays (pickles) or corrupt npz: {err}") from err
    except (OSError, EOFError) as err:
        raise DataFileError(f"{path} is not a readable .npz file: {err}") from err
    if responses_key not in arrays:
        raise DataFileError(f"{path} has no array {responses_key!r}; it has {sorted(arrays)}")
    values = arrays[responses_key]
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    responses = make_responses(values, arrays.get(stimulus_ids_key), arrays.get(neuron_ids_key), dims=dims,
                               allow_dead=allow_dead)
    stimuli = None
    if images_key and images_key in arrays:
        images = arrays[images_key]
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 255
        stimuli = StimulusSet(images.astype(np.float32, copy=False), responses.stimulus_id.values)
    return Recording(responses, stimuli, allow_dead=allow_dead)


def load_recording(path: str | os.PathLike, *, allow_dead: bool = False) -> Recording:
    """Open a recording by extension: ``.nc`` (netCDF) or ``.nwb``; ``.npz`` with the default keys.
    ``allow_dead``: the lenient read of ``neurosafe info``, which accepts and flags neurons or
    stimuli with no valid response; every analysis reads strictly and rejects them."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".nwb":
        return import_nwb(path, allow_dead=allow_dead)
    if suffix == ".npz":
        return load_npz(path, allow_dead=allow_dead)
    if suffix in (".nc", ".netcdf", ".h5"):
        return load_netcdf(path, allow_dead=allow_dead)
    raise DataFileError(f"unknown recording file type {suffix!r} for {path}; use .nc, .nwb or .npz")
