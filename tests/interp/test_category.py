"""Category selectivity: closed forms on planted responses, bundled face stimuli, any subject."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.data import make_responses
from neurosafe.interp import InterpError, category_selectivity, face_stimuli
from tests.interp.helpers import tiny_net


def test_selectivity_index_and_d_prime_closed_form():
    faces = np.array([[4.0, 1.0], [6.0, 1.0], [5.0, 3.0]])  # 3 face stimuli x 2 neurons
    others = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 2.0], [2.0, 2.0]])
    values = np.vstack([faces, others])
    rec = make_responses(values, dims=("stimulus", "neuron"), stimulus_coords={"category": ["face"] * 3 + ["obj"] * 4})
    ds = category_selectivity(rec, "category", "face")
    # neuron 0: means 5 and 2, variances 1 and 2/3 -> SI 3/7, d' = 3 / sqrt(5/6)
    assert ds["selectivity_index"].values[0] == pytest.approx(3 / 7)
    assert ds["d_prime"].values[0] == pytest.approx(3 / np.sqrt(5 / 6))
    # neuron 1: means 5/3 and 2 -> SI (5/3 - 2) / (11/3) = -1/11; variances 4/3 and 0 -> d' = (-1/3) / sqrt(2/3)
    assert ds["selectivity_index"].values[1] == pytest.approx(-1 / 11)
    assert ds["d_prime"].values[1] == pytest.approx((-1 / 3) / np.sqrt(2 / 3))


def test_face_stimuli_and_a_network():
    stimuli = face_stimuli(32)
    assert stimuli.shape == (200, 1, 32, 32) and stimuli.metadata["face"].sum() == 100
    ds = category_selectivity(tiny_net(), site="2")
    assert ds.sizes["neuron"] == 6 and ds.attrs["n_target"] == 100
    assert np.isfinite(ds["d_prime"]).all()


def test_bad_inputs_raise_clear_errors():
    rec = make_responses(np.ones((4, 2)), dims=("stimulus", "neuron"), stimulus_coords={"face": [1, 0, 0, 0]})
    with pytest.raises(InterpError, match="no stimulus coord 'animate'"):
        category_selectivity(rec, "animate")
    with pytest.raises(InterpError, match="need >= 2 stimuli with face == True"):
        category_selectivity(rec, "face")
