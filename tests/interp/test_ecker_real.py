"""Real V1 data (Ecker et al. 2010, CC BY-NC-ND 3.0): orientation tuning checked against a computation written here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from neurosafe.data.datasets import load_ecker2010
from neurosafe.interp import orientation_tuning
from neurosafe.subjects import TorchSubject
from tests.interp.helpers import tiny_net

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def ecker(ecker_file):
    return load_ecker2010(ecker_file).responses


def _independent(responses, level: str | None):
    """Per neuron, with plain loops: mean over valid trials per orientation (at ``level``, or at the contrast level
    whose best orientation drives the neuron most, ties going to the larger mean, then to the first level in sorted
    order); the vector-sum preferred orientation (NaN when an orientation
    was not shown); the OSI from the largest sampled response and the one 90 deg away (interpolated between the
    shown orientations when that one was not shown)."""
    oris = np.unique(responses["orientation"].values)
    levels = sorted(set(responses["contrast_level"].values)) if level is None else [level]  # full ties: first
    curves, pref, osi = [], [], []
    for n in range(responses.sizes["neuron"]):
        best = None
        for lvl in levels:
            curve = []
            for o in oris:
                k = np.flatnonzero((responses["orientation"].values == o) & (responses["contrast_level"].values == lvl))
                trials = responses.values[k[0], n]
                trials = trials[~np.isnan(trials)]
                curve.append(trials.mean() if len(trials) else np.nan)
            curve = np.array(curve)
            better = best is None or np.nanmax(curve) > np.nanmax(best)
            tie = best is not None and np.nanmax(curve) == np.nanmax(best) and np.nanmean(curve) > np.nanmean(best)
            if better or tie:
                best = curve
        r = np.maximum(best, 0)
        shown = ~np.isnan(r)
        defined = shown.all() and r.sum() > 0  # silent neurons have no preference
        pref.append(np.rad2deg(np.angle(np.sum(r * np.exp(2j * np.deg2rad(oris))))) / 2 % 180 if defined else np.nan)
        k = int(np.nanargmax(r))
        target = (oris[k] + 90) % 180
        a, v = oris[shown], r[shown]
        orth = np.interp(target, np.append(a, a[0] + 180), np.append(v, v[0]))
        osi.append((r[k] - orth) / (r[k] + orth) if r[k] + orth > 0 else np.nan)
        curves.append(best)
    return np.array(curves), np.array(pref), np.array(osi)


def _scipy_von_mises_preference(curves: np.ndarray, oris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Preferred orientation and R^2 of a von Mises fit by scipy's curve_fit, for the neurons with missing angles."""
    def f(theta, base, amp, kappa, mu):
        return base + amp * np.exp(kappa * (np.cos(np.deg2rad(2 * (theta - mu))) - 1))

    mus, r2s = [], []
    for c in curves:
        ok = np.isfinite(c)
        p0 = [c[ok].min(), np.ptp(c[ok]), 2.0, oris[ok][np.argmax(c[ok])]]
        try:
            p, _ = curve_fit(f, oris[ok], c[ok], p0=p0, bounds=([-np.inf, 0, 0, -180], [np.inf, np.inf, 50, 360]))
        except RuntimeError:
            mus.append(np.nan)
            r2s.append(np.nan)
            continue
        mus.append(p[3] % 180)
        total = ((c[ok] - c[ok].mean()) ** 2).sum()
        r2s.append(1 - ((c[ok] - f(oris[ok], *p)) ** 2).sum() / total if total > 0 else np.nan)
    return np.array(mus), np.array(r2s)


@pytest.mark.parametrize("level", ["high", None])
def test_orientation_tuning_matches_an_independent_computation(ecker, level):
    with pytest.warns(RuntimeWarning, match="80 of 307 neurons lack responses"):
        ds = orientation_tuning(ecker, select=None if level is None else {"contrast_level": level})
    curves, pref, osi = _independent(ecker, level)
    assert ds.sizes["neuron"] == ecker.sizes["neuron"] == 307
    np.testing.assert_allclose(ds["tuning"].values, curves, equal_nan=True)
    np.testing.assert_allclose(ds["osi"].values, osi, atol=1e-12, equal_nan=True)
    complete = np.isfinite(curves).all(1)
    assert complete.sum() == 227  # sessions 5-8 (80 neurons) did not show 157.5 deg
    np.testing.assert_array_equal(np.isnan(ds["preferred_orientation"].values[complete]), np.isnan(pref[complete]))
    err = np.abs((ds["preferred_orientation"].values - pref + 90) % 180 - 90)
    assert np.nanmax(err[complete]) < 1e-9
    mu, r2 = _scipy_von_mises_preference(curves[~complete], np.unique(ecker["orientation"].values))
    tuned = r2 > 0.8
    err_fit = np.abs((ds["preferred_orientation"].values[~complete][tuned] - mu[tuned] + 90) % 180 - 90)
    assert tuned.sum() > 20 and np.median(err_fit) < 0.5
    assert list(ds["neuron_id"].values) == list(ecker["neuron_id"].values)
    assert "session" in ds.coords  # the recording's neuron coords are kept
    print(f"Ecker 2010 OSI ({level or 'preferred'} contrast): quantiles 10/25/50/75/90 % = "
          f"{np.round(np.nanquantile(osi, [0.1, 0.25, 0.5, 0.75, 0.9]), 3).tolist()}, "
          f"fraction OSI > 0.3: {np.nanmean(osi > 0.3):.2f}, median circular variance "
          f"{np.nanmedian(ds['circular_variance']):.3f}, median bandwidth {np.nanmedian(ds['bandwidth']):.1f} deg")


def test_a_network_gives_the_same_table_as_the_recording(ecker):
    with pytest.warns(RuntimeWarning, match="lack responses"):
        brain_table = orientation_tuning(ecker, select={"contrast_level": "high"})
    for subject, site in ((tiny_net(), "3"), (TorchSubject(tiny_net()), "1")):
        net_table = orientation_tuning(subject, site)
        dims = {k: v.dims for k, v in net_table.data_vars.items()}
        assert dims == {k: v.dims for k, v in brain_table.data_vars.items()}
