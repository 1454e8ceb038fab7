"""The simulator: statistics against scipy, resumable per-group files, one-line config errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import neurosafe.rules.simulate as sim
from neurosafe.core.errors import NeurosafeError
from neurosafe.rules.simulate import aggregate_statistics, make_config, parse_architecture, simulate_rules


def test_aggregate_statistics_match_scipy():
    x = np.random.default_rng(0).gamma(2.0, size=(3, 401))
    got = aggregate_statistics(torch.from_numpy(x)).numpy()
    ref = np.stack([x.mean(1), np.median(x, 1), np.abs(x).mean(1), np.sqrt((x ** 2).mean(1)), x.std(1),
                    stats.skew(x, axis=1), stats.kurtosis(x, axis=1)], 1)
    np.testing.assert_allclose(got, ref, rtol=1e-10)


TINY = dict(rules=["sgd", "hebbian"], tasks=["regression"], architectures=[parse_architecture("mlp-d1-w12")],
            networks_per_group=2, steps=6, n_logs=2, units=[3, 0], noise=[0.5], n_probe=8)


def test_sweep_writes_groups_and_resumes(tmp_path, monkeypatch):
    config = make_config(**TINY)
    obs = simulate_rules(config, tmp_path, progress=False)
    assert obs.sizes == {"network": 4, "condition": 3, "time": 2, "observable": 3, "layer": 3, "statistic": 7}
    assert list(obs.units.values) == [3, 0, 0] and list(obs.noise.values) == [0, 0, 0.5]
    assert sorted(set(obs.rule.values)) == ["hebbian", "sgd"]
    # all units: activations' rms is that of the recorded probe responses, not of a subset
    assert np.isfinite(obs.values).all()
    files = sorted(p.name for p in (tmp_path / "groups").iterdir())
    assert len(files) == 2

    def boom(*a, **k):
        raise AssertionError("a finished group was recomputed")

    monkeypatch.setattr(sim, "simulate_group", boom)
    again = simulate_rules(config, tmp_path, progress=False)
    np.testing.assert_array_equal(again.values, obs.values)
    # a truncated group file is recomputed, not trusted
    (tmp_path / "groups" / files[0]).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(AssertionError, match="recomputed"):
        simulate_rules(config, tmp_path, progress=False)


def test_noise_and_subsampling_change_the_statistics(tmp_path):
    obs = simulate_rules(make_config(**{**TINY, "n_probe": 64}), tmp_path, progress=False)
    obs = obs.sel(layer="first")  # 12 units x 64 probes per network
    full = obs.isel(condition=1).sel(observable="activations").values
    assert not np.allclose(obs.isel(condition=0).sel(observable="activations").values, full)
    noisy = obs.isel(condition=2).sel(observable="activations", statistic="std").values
    # independent noise of 0.5 SD inflates the spread by sqrt(1 + 0.25)
    np.testing.assert_allclose(noisy / obs.isel(condition=1).sel(observable="activations", statistic="std").values,
                               np.sqrt(1.25), rtol=0.1)


@pytest.mark.parametrize("fields, match", [
    ({"rules": ["sgd", "rmsprop"]}, "rules"), ({"units": [-1]}, "units"), ({"steps": 1}, "steps"),
    ({"tasks": ["imagenet"]}, "tasks")])
def test_bad_config_is_one_line_error(fields, match):
    with pytest.raises(NeurosafeError, match=match) as err:
        make_config(**fields)
    assert "\n" not in str(err.value)


def test_bad_architecture_and_folder(tmp_path):
    with pytest.raises(NeurosafeError, match="KIND-dDEPTH"):
        parse_architecture("transformer")
    with pytest.raises(NeurosafeError, match="not a rules simulation folder"):
        sim.load_observables(tmp_path)


def test_sweep_progress_counts_groups_and_resumed_ones(tmp_path, progress_lines):
    config = make_config(**TINY)
    simulate_rules(config, tmp_path)
    sorted((tmp_path / "groups").iterdir())[0].unlink()
    simulate_rules(config, tmp_path)  # one group is still there: resumed at 1 of 2
    lines = progress_lines()
    assert lines[0] == "network groups: started, 2 groups" and lines[1].startswith("network groups: 1/2 groups")
    assert "network groups: started, 2 groups, resumed at 1" in lines
    assert lines[-1].startswith("network groups: 2/2 groups") and lines[-1].endswith("(done)")
