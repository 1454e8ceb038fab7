import numpy as np
import pytest
from scipy.optimize import brentq

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.twin import StackedCoreConfig, TwinConfig, TwinError, TwinTrainConfig
from neurosafe.twin.scaling import fit_scaling_law, plot_scaling, recording_time, scaling_sweep

TIMES = np.geomspace(60, 3600 * 8, 12)


def _sigmoid(t, a, m, k):
    return a / (1 + np.exp(-k * (np.log10(t) - m)))


def test_recording_time_follows_the_papers_convention():
    assert recording_time(300, 12, 1.0) == 3600  # 12 repeats of 300 one-second images: one hour
    assert recording_time(100, 2, 0.5) == 100


def test_sigmoid_recovers_planted_parameters():
    y = _sigmoid(TIMES, 0.8, 3.0, 2.5)
    fit = fit_scaling_law(TIMES, y, "sigmoid", n_boot=20)
    assert fit.params["asymptote"] == pytest.approx(0.8, abs=1e-4)
    assert fit.params["midpoint"] == pytest.approx(3.0, abs=1e-4)
    assert fit.params["slope"] == pytest.approx(2.5, abs=1e-3)
    assert fit.rmse < 1e-5


def test_noisy_sigmoid_cis_cover_the_truth():
    rng = np.random.default_rng(0)
    t = np.repeat(TIMES, 3)
    y = _sigmoid(t, 0.7, 3.2, 3.0) + rng.normal(0, 0.02, t.size)
    fit = fit_scaling_law(t, y, "sigmoid", n_boot=200, seed=1)
    for name, true in (("asymptote", 0.7), ("midpoint", 3.2), ("slope", 3.0)):
        lo, hi = fit.ci[name]
        assert lo <= true <= hi, name
    lo, hi = fit.time_to_fraction_ci
    true_t = 10 ** (3.2 - np.log(1 / 0.9 - 1) / 3.0)
    assert lo <= true_t <= hi


def test_power_law_recovers_planted_parameters():
    log_ref = np.log10(TIMES).mean()
    y = 0.9 - 0.3 * (TIMES / 10**log_ref) ** -0.4
    fit = fit_scaling_law(TIMES, y, "power", n_boot=0)
    assert fit.params["asymptote"] == pytest.approx(0.9, abs=1e-4)
    assert fit.params["scale"] == pytest.approx(0.3, abs=1e-4)
    assert fit.params["exponent"] == pytest.approx(0.4, abs=1e-4)


@pytest.mark.parametrize("model", ["sigmoid", "power"])
def test_time_to_fraction_solves_the_fitted_curve(model):
    """The closed-form inverse agrees with a numerical root of the fitted curve."""
    y = _sigmoid(TIMES, 0.75, 3.1, 2.0) + np.random.default_rng(2).normal(0, 0.01, TIMES.size)
    fit = fit_scaling_law(TIMES, y, model, fraction=0.8, n_boot=0)
    root = brentq(lambda t: fit.predict(t) - 0.8 * fit.asymptote, 1e-3, 1e12)
    assert fit.time_to_fraction == pytest.approx(root, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"time": [1, 2, 3], "score": [0.1, 0.2, 0.3]}, ">= 4 points"),
        ({"time": [1, 1, 1, 2], "score": [0.1, 0.2, 0.3, 0.3]}, "3 distinct"),
        ({"time": [0, 2, 3, 4], "score": [0.1, 0.2, 0.3, 0.3]}, "positive"),
        ({"time": [1, 2, 3, 4], "score": [0.1, np.nan, 0.3, 0.3]}, "finite"),
        ({"time": [1, 2, 3, 4], "score": [0.1, 0.3]}, "one length"),
        ({"time": [1, 2, 3, 4], "score": [0.1, 0.2, 0.3, 0.3], "model": "linear"}, "model"),
        ({"time": [1, 2, 3, 4], "score": [0.1, 0.2, 0.3, 0.3], "fraction": 1.0}, "fraction"),
    ],
)
def test_bad_scaling_inputs(kwargs, fragment):
    with pytest.raises(TwinError, match=fragment):
        fit_scaling_law(**kwargs)


def test_sweep_rejects_budgets_beyond_the_data(tiny_data, tiny_config):
    stim, rec, test, test_rec = tiny_data
    with pytest.raises(TwinError, match="n_stimuli"):
        scaling_sweep(stim, rec, test, test_rec, n_stimuli=[10_000], config=tiny_config)
    with pytest.raises(TwinError, match="repeats"):
        scaling_sweep(stim, rec, test, test_rec, n_stimuli=[50], repeats=[3], config=tiny_config)
    with pytest.raises(TwinError, match="same neurons"):
        scaling_sweep(
            stim, rec, test, test_rec.isel(neuron=slice(1, None)), n_stimuli=[50], config=tiny_config
        )


def test_synthetic_scaling_law(tmp_path):
    """Sweep recording time (repeats x stimuli) on the synthetic brain; the paper's sigmoid fitted to it is
    monotone and its asymptote lies within 0.1 of the FEVE at the largest budget; the figure is written."""
    brain = SyntheticBrain(
        n_neurons=20, area="V1", seed=3, image_size=16, n_calibration=300, snr_range=(0.3, 1.0)
    )
    stim, test = natural_patches(460, 16, seed=1), natural_patches(100, 16, seed=2)
    rec, test_rec = brain.record(stim, repeats=16, seed=3), brain.record(test, repeats=10, seed=4)
    cfg = TwinConfig(
        core=StackedCoreConfig(channels=8, kernel_sizes=(9, 3)),
        train=TwinTrainConfig(epochs=40, batch_size=32, progress=False),
    )
    table = scaling_sweep(stim, rec, test, test_rec, n_stimuli=[400], repeats=[1, 2, 4, 8, 16], config=cfg)
    assert list(table["recording_time"]) == [400, 800, 1600, 3200, 6400]
    largest = table.loc[table["recording_time"].idxmax(), "feve"]
    assert largest > table.loc[table["recording_time"].idxmin(), "feve"]
    fits = {
        m: fit_scaling_law(table["recording_time"], table["feve"], m, n_boot=50) for m in ("sigmoid", "power")
    }
    grid = np.geomspace(10, 1e6, 400)
    for fit in fits.values():
        assert (np.diff(fit.predict(grid)) >= -1e-12).all()
    assert abs(fits["sigmoid"].asymptote - largest) < 0.1
    path = plot_scaling(table, fits, tmp_path / "scaling.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_cells_run_the_same_on_ray(tiny_data, tiny_config):
    """The executor interface: a local Ray instance gives the in-process results."""
    import ray  # installed by the dev extra: a missing Ray fails here instead of skipping

    from neurosafe.core.executor import get_executor

    stim, rec, test, test_rec = tiny_data
    cfg = tiny_config.replace(train=TwinTrainConfig(epochs=1, progress=False))
    kwargs = {"n_stimuli": [60, 200], "n_neurons": [6], "config": cfg}
    here = scaling_sweep(stim, rec, test, test_rec, **kwargs)
    try:
        remote = scaling_sweep(stim, rec, test, test_rec, executor=get_executor("ray", num_cpus=1), **kwargs)
    finally:
        ray.shutdown()
    assert list(remote.columns) == list(here.columns)
    np.testing.assert_allclose(remote[["feve", "correlation"]], here[["feve", "correlation"]], rtol=1e-4)
