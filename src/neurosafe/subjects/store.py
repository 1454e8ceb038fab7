"""A store of trained zoo networks, addressed by name, so a trained network is usable wherever a zoo name is.

A stored network is a :func:`~neurosafe.subjects.zoo.conv_net` (its channel widths, input channels and
outputs in ``NAME.json``) with its weights in ``NAME.pt`` (read with ``weights_only=True``). Names start with
a registered prefix (``objective:``, e.g. ``objective:contrastive:seed0``, written by
:mod:`neurosafe.objectives`); :func:`neurosafe.subjects.resolve` reads them from :func:`store_dir`: the
folder in ``$NEUROSAFE_MODEL_STORE``, else ``runs/models``. Grey-trained networks asked for
RGB input get the luminance of the RGB image (first-layer weights times the luma coefficients), so they
score RGB recordings unchanged.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch
from torch import nn

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.io import CorruptFileError, atomic_path, load_state, save_state
from neurosafe.subjects.zoo import conv_net

__all__ = ["PREFIXES", "STORE_ENV", "StoredModelError", "is_stored_name", "list_stored", "load_stored", "save_stored",
           "store_dir", "stored_info"]

STORE_ENV = "NEUROSAFE_MODEL_STORE"
PREFIXES = ("objective:",)
_LUMA = (0.299, 0.587, 0.114)


class StoredModelError(NeurosafeError):
    """A stored network that is missing or unreadable."""


def store_dir(directory: str | Path | None = None) -> Path:
    """``directory``, else ``$NEUROSAFE_MODEL_STORE``, else ``runs/models`` (beside every command's other
    outputs, never a surprise location); a path that exists and is not a folder is refused."""
    folder = Path(directory if directory is not None else os.environ.get(STORE_ENV) or Path("runs") / "models")
    if folder.exists() and not folder.is_dir():
        raise StoredModelError(f"the model store {folder} is a file, not a folder")
    return folder


def is_stored_name(spec: str) -> bool:
    return isinstance(spec, str) and spec.startswith(PREFIXES)


def _slug(name: str) -> str:
    if not is_stored_name(name) or not re.fullmatch(r"[A-Za-z0-9_.:-]+", name):
        raise StoredModelError(f"a stored network's name starts with one of {PREFIXES} and holds only letters, "
                               f"digits and _.:-; got {name!r}")
    return name.replace(":", "__")


def save_stored(name: str, model: nn.Module, widths: tuple[int, ...], in_channels: int, n_outputs: int,
                meta: dict | None = None, directory: str | Path | None = None) -> Path:
    """Write ``model`` (a ``conv_net(widths, in_channels, n_outputs)``) as ``name``; returns the JSON path."""
    folder = store_dir(directory)
    slug = _slug(name)
    save_state(folder / f"{slug}.pt", model.state_dict())
    info = {"name": name, "widths": [int(w) for w in widths], "in_channels": int(in_channels),
            "n_outputs": int(n_outputs), "meta": meta or {}}
    with atomic_path(folder / f"{slug}.json") as tmp:
        tmp.write_text(json.dumps(info, indent=2))
    return folder / f"{slug}.json"


def list_stored(directory: str | Path | None = None) -> list[str]:
    """Names of the networks in the store."""
    folder = store_dir(directory)
    names = []
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            names.append(json.loads(f.read_text())["name"])
        except (ValueError, KeyError):
            continue
    return names


def stored_info(name: str, directory: str | Path | None = None) -> dict:
    """The JSON record of stored network ``name``."""
    path = store_dir(directory) / f"{_slug(name)}.json"
    if not path.is_file():
        raise StoredModelError(f"no stored network {name!r} in {path.parent} (train it with "
                               f"`neurosafe objectives train`, or set ${STORE_ENV} to the store folder)")
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise StoredModelError(f"stored network record {path} is not valid JSON: {err}") from err


def load_stored(name: str, in_channels: int | None = None, directory: str | Path | None = None) -> nn.Module:
    """The stored network ``name`` with its weights (eval mode); ``in_channels=3`` on a grey network reads the
    luminance of RGB input."""
    info = stored_info(name, directory)
    stored_channels = int(info["in_channels"])
    model = conv_net(tuple(info["widths"]), stored_channels, int(info["n_outputs"]))
    try:
        model.load_state_dict(load_state(store_dir(directory) / f"{_slug(name)}.pt"))
    except (FileNotFoundError, CorruptFileError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StoredModelError(f"cannot load the weights of stored network {name!r}: {first}") from err
    if in_channels is not None and in_channels != stored_channels:
        if (stored_channels, in_channels) != (1, 3):
            raise StoredModelError(f"stored network {name!r} takes {stored_channels} input channels; "
                                   f"cannot adapt it to {in_channels}")
        conv = model.conv1
        rgb = nn.Conv2d(3, conv.out_channels, conv.kernel_size, padding=conv.padding)
        with torch.no_grad():
            rgb.weight.copy_(conv.weight * torch.tensor(_LUMA).view(1, 3, 1, 1))
            rgb.bias.copy_(conv.bias)
        model.conv1 = rgb
    return model.eval()
