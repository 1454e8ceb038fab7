import json
import warnings

import numpy as np
import pytest
import torch

from neurosafe.core import checkpoint
from neurosafe.core.checkpoint import (
    StaleCheckpointWarning,
    fingerprint,
    load_checkpoint,
    read_or_none,
    save_checkpoint,
)
from neurosafe.core.io import load_json, save_json


def test_a_checkpoint_resumes_only_under_its_fingerprint(tmp_path):
    path = tmp_path / "ckpt.pt"
    fp = fingerprint({"lr": 0.1}, np.arange(5), 3)
    save_checkpoint(path, {"epoch": 4, "w": torch.ones(3)}, fp)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the matching checkpoint loads without a word
        state = load_checkpoint(path, fp)
    assert state["epoch"] == 4 and torch.equal(state["w"], torch.ones(3))
    for other in (fingerprint({"lr": 0.2}, np.arange(5), 3), fingerprint({"lr": 0.1}, np.arange(1, 6), 3),
                  fingerprint({"lr": 0.1}, np.arange(5), 4)):
        with pytest.warns(StaleCheckpointWarning, match="another run"):
            assert load_checkpoint(path, other) is None
    torch.save({"epoch": 4}, path)  # a checkpoint written without any fingerprint
    with pytest.warns(StaleCheckpointWarning, match="another run"):
        assert load_checkpoint(path, fp) is None
    assert load_checkpoint(tmp_path / "missing.pt", fp) is None


def test_the_fingerprint_covers_the_source(monkeypatch):
    fp = fingerprint("config")
    monkeypatch.setattr(checkpoint, "source_hash", lambda: "edited")
    assert fingerprint("config") != fp


@pytest.mark.parametrize("cut", [0, 10, 0.5])
def test_truncated_files_are_reported_in_one_line(tmp_path, cut):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"w": torch.arange(1000.0)}, "fp")
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: int(cut * size) if isinstance(cut, float) else cut])
    with pytest.warns(StaleCheckpointWarning, match="unreadable") as caught:
        assert load_checkpoint(path, "fp") is None
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    js = tmp_path / "entry.json"
    save_json(js, {"a": [1, 2, 3]})
    js.write_text(js.read_text()[:5])
    with pytest.warns(StaleCheckpointWarning, match="unreadable"):
        assert read_or_none(js, load_json) is None
    save_json(js, {"a": 1})
    assert read_or_none(js, load_json) == json.loads(js.read_text())
