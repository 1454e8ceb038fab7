"""Every Cowley et al. 2023 session loads, with or without repeats (real data)."""

import numpy as np
import pytest

from neurosafe.core.errors import DataFileError
from neurosafe.data import cowley2023_sessions, load_cowley2023
from neurosafe.data.datasets import COWLEY_SESSIONS

pytestmark = pytest.mark.real


def test_repeat_averaged_session_loads_as_stimulus_by_neuron(cowley_dir):
    assert cowley2023_sessions(cowley_dir) == sorted(COWLEY_SESSIONS)
    rec = load_cowley2023(cowley_dir, session="210224")
    raw = np.load(cowley_dir / "responses_repeat_averaged_210224.npy")
    assert rec.responses.dims == ("stimulus", "neuron") and rec.responses.attrs["repeat_averaged"] == 1
    np.testing.assert_array_equal(rec.responses.values, raw.T)
    assert rec.stimuli.shape == (800, 3, 112, 112)
    assert rec.responses.neuron_id.values[0] == "210224_n00"
    with pytest.raises(DataFileError, match="not found.*sessions there"):
        load_cowley2023(cowley_dir, session="999999")
