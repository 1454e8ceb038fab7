"""Models and data named on the command line: built-in references, or the user's own files.

Models: ``digits-cnn`` (the reference CNN, trained in seconds on scikit-learn's digits), ``synthetic-v1`` /
``synthetic-v4`` (the ground-truth brain, a regression model), or any spec of
:func:`neurosafe.subjects.resolve` (a zoo name, ``package.module:factory`` or ``file.py:factory``, with
``weights``), which imports and runs the user's code. Data: ``digits`` (the held-out digits with labels),
``natural`` (natural image patches, no labels), an ``.npz`` file with ``images`` (and optional ``labels``), or
a neurosafe ``.nc`` recording's stimuli.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurosafe.core.errors import DataFileError
from neurosafe.robust._inputs import AttackError
from neurosafe.subjects import resolve

__all__ = ["MODELS", "load_data", "load_model"]

MODELS = ("digits-cnn", "synthetic-v1", "synthetic-v4")


def load_model(spec: str, weights: str | Path | None = None, seed: int = 0):
    """The model named by ``spec`` (see the module docstring): a module or a differentiable subject."""
    if spec == "digits-cnn":
        from neurosafe.data.tasks import digits_dataset
        from neurosafe.robust.digits import train_digits_cnn

        x, y, _, _ = digits_dataset(seed=seed)
        return train_digits_cnn(x, y, seed=seed)
    if spec in ("synthetic-v1", "synthetic-v4"):
        from neurosafe.data import SyntheticBrain

        return SyntheticBrain(n_neurons=100, area=spec[-2:].upper(), seed=seed)
    return resolve(spec, weights, seed=seed)


def load_data(
    spec: str, n: int | None = None, size: int = 32, seed: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """(images, labels or None) named by ``spec``; the first ``n`` examples when given."""
    if n is not None and n < 1:
        raise AttackError(f"n must be >= 1; got {n}")
    if spec == "digits":
        from neurosafe.data.tasks import digits_dataset

        _, _, x, y = digits_dataset(seed=seed)
    elif spec == "natural":
        from neurosafe.data import natural_patches

        x, y = natural_patches(n or 500, size, seed=seed).images, None
    else:
        x, y = _load_file(Path(spec))
    return (x[:n], None if y is None else y[:n]) if n is not None else (x, y)


def _load_file(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if not path.is_file():
        raise DataFileError(f"data file not found: {path} (or use 'digits' / 'natural')")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            if "images" not in f:
                raise DataFileError(f"{path} needs an 'images' array (n, c, h, w); it has {sorted(f.files)}")
            return f["images"].astype(np.float32), (f["labels"].astype(np.int64) if "labels" in f else None)
    if path.suffix in (".nc", ".nwb"):
        from neurosafe.data.io import load_recording

        rec = load_recording(path)
        if rec.stimuli is None:
            raise DataFileError(f"{path} holds no stimuli to attack")
        return rec.stimuli.images, None
    raise DataFileError(
        f"unsupported data file {path}: use .npz (images, labels) or a neurosafe .nc recording"
    )
