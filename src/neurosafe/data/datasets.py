"""Loaders for public datasets in their published layout. Users download the data; nothing is fetched here.

- Cowley, Stan, Pillow & Smith 2023 (macaque V4, natural images, spike counts with repeats);
- Kriegeskorte et al. 2008 "92 images" (stimuli, categories, monkey/human IT, behavioural and model RDMs);
- Ecker et al. 2010 (macaque V1 tetrodes, static gratings, binned spikes).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurosafe.core.errors import DataFileError
from neurosafe.data.io import Recording
from neurosafe.data.recording import make_responses
from neurosafe.data.stimuli import StimulusSet

__all__ = ["COWLEY_SESSIONS", "cowley2023_sessions", "load_cowley2023", "load_ecker2010", "load_kriegeskorte92"]


def _need(path: Path) -> Path:
    if not path.exists():
        raise DataFileError(f"expected file not found: {path}")
    return path


def _loadmat(path: Path) -> dict:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        return loadmat(_need(path))
    except (MatReadError, ValueError, OSError, TypeError, NotImplementedError, IndexError, KeyError,
            EOFError) as err:  # scipy raises any of these for a file that is not MATLAB
        raise DataFileError(f"{path} is not a readable MATLAB v5 file: {str(err) or type(err).__name__}") from err


COWLEY_SESSIONS = ("210325", "190925", "190927", "190928", "190929", "210224")


def cowley2023_sessions(directory: str | Path) -> list[str]:
    """Sessions of Cowley et al. 2023 present in ``directory`` (with repeats or repeat-averaged), sorted."""
    directory = Path(directory)
    averaged = directory.glob("responses_repeat_averaged_*.npy")
    found = {p.stem.removeprefix("responses_repeat_averaged_") for p in averaged}
    found |= {p.stem.removeprefix("responses_") for p in directory.glob("responses_*.npy")
              if not p.stem.startswith("responses_repeat_averaged_")}
    return sorted(found)


def load_cowley2023(directory: str | Path, session: str = "210325") -> Recording:
    """V4 spike counts (100 ms bins) to natural images, one session, and its 112x112 RGB images
    (``image0001.jpg`` matches stimulus 0).

    A session with repeats (``responses_SESSION.npy``, (neurons, images, repeats), NaN-padded) gives
    responses (stimulus, neuron, repeat); a repeat-averaged one (``responses_repeat_averaged_SESSION.npy``,
    (neurons, images)) gives (stimulus, neuron) with ``attrs["repeat_averaged"] = 1``: no noise ceiling of
    its own. Neuron ids are ``SESSION_nNN`` (unique across sessions).
    """
    from PIL import Image

    directory = Path(directory)
    session = str(session)
    npy, averaged = directory / f"responses_{session}.npy", False
    if not npy.exists() and (directory / f"responses_repeat_averaged_{session}.npy").exists():
        npy, averaged = directory / f"responses_repeat_averaged_{session}.npy", True
    if not npy.exists():
        have = cowley2023_sessions(directory) if directory.is_dir() else []
        raise DataFileError(f"Cowley session {session!r} not found in {directory} (no responses_{session}.npy "
                            f"or responses_repeat_averaged_{session}.npy); sessions there: {have or 'none'}")
    try:
        raw = np.load(npy, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise DataFileError(f"{npy.name} is corrupt or holds objects: {err}") from err
    want = 2 if averaged else 3
    if raw.ndim != want:
        layout = "(neurons, images)" if averaged else "(neurons, images, repeats)"
        raise DataFileError(f"{npy.name} must be {layout}; got shape {raw.shape}")
    n_neurons, n_images = raw.shape[:2]
    images = np.empty((n_images, 3, 112, 112), np.float32)
    try:
        with zipfile.ZipFile(_need(directory / f"images_{session}.zip")) as zf:
            names = {Path(n).name: n for n in zf.namelist()}
            for i in range(n_images):
                name = f"image{i + 1:04d}.jpg"
                if name not in names:
                    raise DataFileError(f"images_{session}.zip lacks {name}")
                with Image.open(io.BytesIO(zf.read(names[name]))) as im:
                    arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
                if arr.shape != (112, 112, 3):
                    raise DataFileError(f"{name} has shape {arr.shape}; expected (112, 112, 3)")
                images[i] = arr.transpose(2, 0, 1)
    except zipfile.BadZipFile as err:
        raise DataFileError(f"images_{session}.zip is not a valid zip archive: {err}") from err
    ids = [f"image{i + 1:04d}" for i in range(n_images)]
    attrs = {"area": "V4", "species": "macaque", "units": "spike count (100 ms)", "session": session,
             "source": "Cowley, Stan, Pillow & Smith 2023 (GPL-3.0)"}
    neuron_ids = [f"{session}_n{j:02d}" for j in range(n_neurons)]
    if averaged:
        responses = make_responses(raw.T.astype(np.float64), ids, neuron_ids, dims=("stimulus", "neuron"),
                                   attrs=attrs | {"units": "mean spike count (100 ms)", "repeat_averaged": 1})
    else:
        responses = make_responses(raw.transpose(1, 0, 2).astype(np.float64), ids, neuron_ids, attrs=attrs)
    return Recording(responses, StimulusSet(images, ids, pd.DataFrame({"file": [f"{i}.jpg" for i in ids]})))


def _rdm_matrix(entry) -> np.ndarray:
    rdm = np.asarray(entry, dtype=np.float64)
    if rdm.ndim == 2 and 1 in rdm.shape:
        from scipy.spatial.distance import squareform

        rdm = squareform(rdm.ravel(), checks=False)
    return rdm


def _stack_rdms(items: list[tuple[str, np.ndarray]], ids: list[str]) -> xr.DataArray:
    names = [n for n, _ in items]
    data = np.stack([m for _, m in items])
    return xr.DataArray(data, dims=("rdm", "stimulus_a", "stimulus_b"),
                        coords={"rdm": names, "stimulus_a": ids, "stimulus_b": ids})


def load_kriegeskorte92(directory: str | Path) -> Recording:
    """The 92-image set: stimuli (175x175 RGB) with category flags, and RDMs as extras.

    Extras: ``monkey_it`` (Kiani 2007, 674 neurons), ``human_it`` (4 subjects x 2 sessions, fMRI; coords
    ``subject``, ``session``), ``behaviour`` (16 subjects' similarity judgements), ``models``.
    """
    directory = Path(directory)
    sup = _loadmat(directory / "Kriegeskorte_Neuron2008_supplementalData.mat")
    try:
        objs = sup["stimuli_92objs"][0]
        labels = [str(np.ravel(x)[0]) for x in sup["categoryLabels"][0]]
        cats = np.asarray(sup["categoryVectors"], dtype=bool)
        fig1 = {str(np.ravel(e["name"])[0]): e["RDM"] for e in sup["RDMs_mIT_hIT_fig1"][0]}
    except (KeyError, IndexError, ValueError) as err:
        raise DataFileError(f"unexpected layout of the 92-image supplemental file: {err}") from err
    if len(objs) != 92 or cats.shape != (92, len(labels)):
        raise DataFileError(f"expected 92 stimuli with {len(labels)} category flags; got {len(objs)}, {cats.shape}")
    images = np.stack([np.asarray(o["image"], np.float32) / 255 for o in objs]).transpose(0, 3, 1, 2)
    ids = [f"obj{i + 1:02d}" for i in range(92)]
    meta = pd.DataFrame(cats, columns=labels)
    meta.insert(0, "category", [str(np.ravel(o["category"])[0]) for o in objs])
    extras = {"monkey_it": _stack_rdms([(k, _rdm_matrix(v)) for k, v in fig1.items() if k.startswith("mIT")], ids)}
    brain = _loadmat(directory / "92_brainRDMs.mat")["RDMs"][0]
    human = [(str(np.ravel(brain[i, j]["name"])[0]), _rdm_matrix(brain[i, j]["RDM"]))
             for i in range(brain.shape[0]) for j in range(brain.shape[1])]
    hit = _stack_rdms(human, ids)
    parts = [n.split("|") for n, _ in human]
    hit = hit.assign_coords(subject=("rdm", [p[1].strip() for p in parts]),
                            session=("rdm", [int(p[2].split(":")[1]) for p in parts]))
    extras["human_it"] = hit
    behav = _loadmat(directory / "92_behavRDMs.mat")["rdms_behav_92"][0]
    extras["behaviour"] = _stack_rdms([(str(np.ravel(e["name"])[0]), _rdm_matrix(e["RDM"])) for e in behav], ids)
    models = _loadmat(directory / "92_modelRDMs.mat")["Models"][0]
    extras["models"] = _stack_rdms([(str(np.ravel(e["name"])[0]), _rdm_matrix(e["RDM"])) for e in models], ids)
    for name, rdm in extras.items():
        if rdm.shape[1:] != (92, 92):
            raise DataFileError(f"RDM set {name!r} has shape {rdm.shape}; expected (k, 92, 92)")
    stimuli = StimulusSet(images, ids, meta)
    return Recording(None, stimuli, extras, attrs={"source": "Kriegeskorte et al. 2008 (rsatoolbox demo data, MIT)"})


def load_ecker2010(file: str | Path, window: tuple[float, float] | None = (0.0, 500.0),
                   session: int | None = None) -> Recording:
    """V1 responses to static gratings (8 orientations x 2 contrasts), all sessions' neurons side by side.

    Responses are spike counts summed over bins whose centres lie in ``window`` (ms after stimulus onset;
    ``None`` keeps the 10 ms ``time`` dim). Orientations are snapped to the 22.5 deg grid (files round
    them); contrast is given as ``contrast_level`` low/high because sessions used different contrast
    values (the raw values are neuron coords). A session lacking a condition has NaN there.
    """
    mat = _loadmat(Path(file))
    if "data" not in mat:
        raise DataFileError(f"{file} has no variable 'data'")
    sessions = mat["data"].ravel()
    chosen = range(len(sessions)) if session is None else [session]
    oris = np.arange(0, 180, 22.5)
    blocks, meta = [], []
    times = None
    for s in chosen:
        d = sessions[s]
        try:
            spikes = np.asarray(d["spikes"][0, 0], dtype=np.float64)  # (neurons, conditions, bins, trials)
            cond = d["conditions"][0, 0]
            t = np.asarray(d["times"][0, 0], dtype=float).ravel()
        except (KeyError, IndexError, ValueError) as err:
            raise DataFileError(f"session {s}: unexpected layout: {err}") from err
        c_ori = np.array([float(np.ravel(x)[0]) for x in cond["orientation"][0]])
        c_con = np.array([float(np.ravel(x)[0]) for x in cond["contrast"][0]])
        levels = np.unique(c_con)
        if len(levels) != 2:
            raise DataFileError(f"session {s}: expected 2 contrast values; got {levels}")
        times = t if times is None else times
        n_neu, _, n_bins, n_trials = spikes.shape
        full = np.full((16, n_neu, n_bins, n_trials), np.nan)
        for k in range(spikes.shape[1]):
            o = int(np.argmin(np.abs(((c_ori[k] - oris + 90) % 180) - 90)))
            full[2 * o + int(c_con[k] == levels[1])] = spikes[:, k]
        blocks.append(full)
        for j in range(n_neu):
            meta.append({"session": s, "subject": str(np.ravel(d["subject"][0, 0])[0]),
                         "date": str(np.ravel(d["date"][0, 0])[0]), "unit": j,
                         "contrast_low": levels[0], "contrast_high": levels[1]})
    max_trials = max(b.shape[3] for b in blocks)
    data = np.concatenate([np.pad(b, ((0, 0), (0, 0), (0, 0), (0, max_trials - b.shape[3])),
                                  constant_values=np.nan) for b in blocks], axis=1)
    data = data.transpose(0, 1, 3, 2)  # (stimulus, neuron, repeat, time)
    meta_df = pd.DataFrame(meta)
    ids = [f"s{m['session']:02d}_u{m['unit']:02d}" for m in meta]
    stim_ids = [f"ori{o:g}_{lvl}" for o in oris for lvl in ("low", "high")]
    stim_coords = {"orientation": np.repeat(oris, 2), "contrast_level": np.tile(["low", "high"], 8)}
    attrs = {"area": "V1", "species": "macaque", "source": "Ecker et al. 2010 (CC BY-NC-ND 3.0)"}
    neuron_coords = {c: meta_df[c].to_numpy() for c in meta_df.columns if c != "unit"}
    if window is None:
        resp = make_responses(data, stim_ids, ids, dims=("stimulus", "neuron", "repeat", "time"),
                              attrs=attrs | {"units": "spike count (10 ms bin)"},
                              stimulus_coords=stim_coords, neuron_coords=neuron_coords)
        return Recording(resp.assign_coords(time=times))
    sel = (times >= window[0]) & (times < window[1])
    if not sel.any():
        raise DataFileError(f"window {window} ms contains no bin (bins run {times[0]}..{times[-1]} ms)")
    counts = data[..., sel].sum(-1)  # NaN stays NaN for missing trials/conditions
    units = f"spike count ({window[0]:g}-{window[1]:g} ms)"
    resp = make_responses(counts, stim_ids, ids, attrs=attrs | {"units": units}, stimulus_coords=stim_coords,
                          neuron_coords=neuron_coords)
    return Recording(resp)
