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


def test_mei_figure_shows_each_units_best_natural_image_beside_its_mei(monkeypatch, tmp_path):
    """Issue 18: ``probe mei`` promised the best natural image but drew MEIs only. Through the CLI: one MEI and
    one best-natural panel per unit."""
    import json

    from typer.testing import CliRunner

    from neurosafe.cli.app import app

    captured = {}
    real = figures.save_figure
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: captured.setdefault("fig", fig) and real(fig, path))
    result = CliRunner().invoke(app, ["probe", "mei", "--neurons", "8", "--units", "0,1,2", "--steps", "10",
                                      "--seeds", "1", "--n-natural", "50", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    titles = [ax.get_title() for ax in captured["fig"].axes]
    assert sum("MEI" in t for t in titles) == 3 and sum("best natural" in t for t in titles) == 3
    out = json.loads(result.stdout)
    assert (tmp_path / "mei.png").exists() and out["figure"].endswith("mei.png")
