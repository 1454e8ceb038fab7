"""Figures name what they show: a lesion curve at the subject's output says "output units", not "None"."""

import numpy as np
import xarray as xr

from neurosafe.interp import figures


def test_dose_response_label_without_a_site(monkeypatch, tmp_path):
    captured = {}
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: captured.setdefault("fig", fig) and path)
    f = np.array([0.0, 0.5, 1.0])
    for site, expected in ((None, "fraction of output units (neurons) ablated"),
                           ("relu2", "fraction of relu2 units ablated")):
        ds = xr.Dataset({"score": ("fraction", [1.0, 0.6, 0.1]), "ci_low": ("fraction", [0.9, 0.5, 0.0]),
                         "ci_high": ("fraction", [1.0, 0.7, 0.2])}, coords={"fraction": f},
                        attrs={"site": site, "method": "random", "intact": 1.0})
        captured.clear()
        figures.plot_dose_response(ds, tmp_path / "x.png")
        assert captured["fig"].axes[0].get_xlabel() == expected
