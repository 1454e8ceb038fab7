"""Real data: macaque V4 (Cowley et al. 2023, GPL-3.0), 640 natural images, 50 neurons, 6-10 repeats.

Fixed split (seed 0): 512 training images (the twin validates early stopping on 10% of them), 128 test
images. Baselines on the same split and the same 56x56 grey images: ridge (sklearn RidgeCV, alpha per
neuron by leave-one-out) on pixels and on a V1-like Gabor-energy front end. The twin reads that front end
as a frozen feature core (Cadena et al. 2019) with two trainable conv layers and a factorized readout; a
conv core trained from scratch has far too few images here (median test r 0.20 on this split)."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from twin_baselines import GaborFrontEnd, gabor_energy, ridge_correlations

from neurosafe.data.datasets import load_cowley2023
from neurosafe.twin import TwinConfig, fit_twin
from neurosafe.twin.evaluate import evaluate_twin
from neurosafe.twin.runs import holdout_split

TWIN = {
    "image_size": 56,
    "core": {"kind": "feature", "site": "gabor", "pool": 7, "kernel_sizes": [3, 3], "channels": 32},
    "readout": {"kind": "factorized", "l1": 3e-3},
    "train": {"progress": False},
}


@pytest.mark.real
def test_twin_beats_ridge_baselines_on_v4(cowley_dir):
    rec = load_cowley2023(cowley_dir)
    resp = rec.responses
    train_ids, test_ids = holdout_split(resp.stimulus_id.values, 0.2, seed=0)
    train, test = (resp.isel(stimulus=np.isin(resp.stimulus_id.values, ids)) for ids in (train_ids, test_ids))
    twin = fit_twin(rec.stimuli, train, TwinConfig.from_dict(TWIN), seed=0, subject=GaborFrontEnd())
    score = evaluate_twin(twin, rec.stimuli, test, n_boot=200)

    grey = F.interpolate(torch.from_numpy(rec.stimuli.grey()[:, None]), size=(56, 56), mode="area")[
        :, 0
    ].numpy()
    is_train = np.isin(rec.stimuli.ids, train_ids)
    is_test = np.isin(rec.stimuli.ids, test_ids)
    y_train, y_test = train.mean("repeat").values, test.mean("repeat").values
    ridge = {
        name: ridge_correlations(x[is_train], y_train, x[is_test], y_test)
        for name, x in (("pixels", grey.reshape(len(grey), -1)), ("gabor", gabor_energy(grey)))
    }
    ceiling = score.ceiling.per_unit.values
    print(
        f"\nV4 test (128 images, 50 neurons): twin r={score.correlation.value:.3f} "
        f"CI=({score.correlation.ci[0]:.3f}, {score.correlation.ci[1]:.3f}), fraction of ceiling="
        f"{score.fraction_of_ceiling.value:.3f}, FEVE={score.feve.value:.3f}, "
        f"ceiling={score.ceiling.value:.3f}; "
        + "; ".join(
            f"ridge {k} r={np.nanmedian(v):.3f}, fraction of ceiling={np.nanmedian(v / ceiling):.3f}"
            for k, v in ridge.items()
        )
    )
    ridge = {k: np.nanmedian(v) for k, v in ridge.items()}
    assert score.correlation.value > ridge["pixels"]
    assert score.correlation.value > ridge["gabor"]
    assert 0 < score.fraction_of_ceiling.value < 1.2
