"""The issue's real-data check: import Cowley V4 via the CLI, then reliability --json, against plain numpy."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _neurosafe(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-m", "neurosafe", *args], capture_output=True, text=True, env=env,
                         check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _independent_split_half(raw: np.ndarray, n_splits: int = 100, seed: int = 7) -> float:
    """raw: (neurons, images, repeats) as published. Median over neurons of Spearman-Brown(mean r)."""
    rng = np.random.default_rng(seed)
    n_neurons, n_images, _ = raw.shape
    rs = np.zeros((n_splits, n_neurons))
    for k in range(n_splits):
        a = np.empty((n_neurons, n_images))
        b = np.empty((n_neurons, n_images))
        for i in range(n_images):
            valid = np.flatnonzero(np.isfinite(raw[0, i]))
            perm = rng.permutation(valid)
            h = len(perm) // 2
            a[:, i] = raw[:, i, perm[:h]].mean(axis=1)
            b[:, i] = raw[:, i, perm[h:]].mean(axis=1)
        for j in range(n_neurons):
            rs[k, j] = np.corrcoef(a[j], b[j])[0, 1]
    r = rs.mean(axis=0)
    return float(np.median(2 * r / (1 + r)))


def test_cowley_import_and_reliability_cli(cowley_dir, tmp_path):
    nc = tmp_path / "v4.nc"
    info = json.loads(_neurosafe("import", "cowley2023", str(cowley_dir), "--out", str(nc), "--json"))
    assert info["responses"]["dims"] == {"stimulus": 640, "neuron": 50, "repeat": 10}
    result = json.loads(_neurosafe("reliability", str(nc), "--json", "--out", str(tmp_path)))
    raw = np.load(cowley_dir / "responses_210325.npy")
    # the NaN padding is per image, shared by all neurons (checked, since the reference relies on it)
    assert (np.isfinite(raw) == np.isfinite(raw[:1])).all()
    reference = _independent_split_half(raw)
    assert abs(result["median_split_half"] - reference) < 0.01
    assert 0.7 < reference < 0.82  # about 0.76 for these 50 neurons
    assert len(result["per_neuron"]) == 50
    assert Path(result["figure"]).exists()
