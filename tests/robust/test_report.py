"""robustness_report on the digits CNN and on the synthetic brain; the corruption summary's closed form."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
import xarray as xr

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.metrics import Score, expected_calibration_error
from neurosafe.robust import corruption_summary, robustness_report
from neurosafe.robust.figures import corruption_grid, reliability_diagram, robustness_curve_figure


@pytest.fixture(scope="module")
def report(net, digits):
    _, _, x, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an undefended CNN must pass the gradient-masking checks
        return robustness_report(net, x[:150].numpy(), y[:150].numpy(), eps=[0.05, 0.1], steps=5, n_boot=50,
                                 corruptions=["gaussian_noise", "contrast"], severities=(1, 5),
                                 ood_sets=["uniform_noise", "natural"])


def test_report_scores(report, net, digits):
    _, _, x, y = digits
    x, y = x[:150], y[:150]
    assert all(isinstance(s, Score) for s in report.values())
    with torch.no_grad():
        logits = net(x)
    clean = float((logits.argmax(1) == y).float().mean())
    assert report["accuracy_clean"].value == pytest.approx(clean)
    low, high = report["accuracy_clean"].ci
    assert low <= clean <= high
    assert report["accuracy_pgd_linf_eps0.1"].value < report["accuracy_pgd_linf_eps0.05"].value < clean
    assert report["accuracy_noise_linf_eps0.1"].value > report["accuracy_pgd_linf_eps0.1"].value
    checks = report["accuracy_pgd_linf_eps0.1"].provenance["gradient_masking_checks"]
    assert all(c["passed"] for c in checks.values())
    probs = torch.softmax(logits.double(), 1).numpy()
    ece = report["expected_calibration_error"]  # bias-corrected: below the plug-in ECE, inside its CI
    assert ece.value < expected_calibration_error(probs, y.numpy()) and ece.ci[0] <= ece.value <= ece.ci[1]
    assert ece.n == 150 and ece.method == "bias_corrected" and ece.replicates is not None
    assert not ece.higher_is_better
    assert 0 <= report["mean_corruption_accuracy"].value <= 1
    assert set(report["mean_corruption_accuracy"].per_unit.corruption.values) == {"gaussian_noise", "contrast"}
    for name in ("ood_auroc_msp", "ood_auroc_energy"):
        assert 0 <= report[name].value <= 1 and report[name].per_unit.sizes == {"ood_set": 2}
    json.dumps({k: s.to_dict() for k, s in report.items()})  # JSON-ready


def test_report_on_the_synthetic_brain():
    brain = SyntheticBrain(n_neurons=20, area="V1", seed=1)
    x = natural_patches(30, 32, seed=2)
    scores = robustness_report(brain, x, eps=[2 / 255], steps=5, n_boot=50, corruptions=["fog"], severities=(3,))
    attacked, noise = scores["output_change_pgd_linf_eps0.007843"], scores["output_change_noise_linf_eps0.007843"]
    assert attacked.value > 3 * noise.value
    assert scores["corruption_output_change"].value > 0
    assert "accuracy_clean" not in scores and "expected_calibration_error" not in scores


def test_corruption_summary_closed_form():
    acc = xr.DataArray([[0.8, 0.6], [0.9, 0.5]], dims=("corruption", "severity"),
                       coords={"corruption": ["a", "b"], "severity": [1, 2]})
    base = xr.DataArray([[0.6, 0.4], [0.7, 0.5]], dims=acc.dims, coords=acc.coords)
    out = corruption_summary(acc, 0.9, baseline=base, baseline_clean_accuracy=0.8)
    assert out["mean_corruption_accuracy"] == pytest.approx(0.7)
    np.testing.assert_allclose(out["relative_error"].values, [0.2, 0.2])  # errors 0.2, 0.4 / 0.1, 0.5 vs 0.1
    np.testing.assert_allclose(out["corruption_error"].values, [0.6 / 1.0, 0.6 / 0.8])
    assert out["mce"] == pytest.approx((0.6 + 0.75) / 2)
    # relative: a: (0.1 + 0.3) / (0.2 + 0.4); b: (0.0 + 0.4) / (0.1 + 0.3)
    assert out["relative_mce"] == pytest.approx((0.4 / 0.6 + 1.0) / 2)


def test_figures_are_written(tmp_path, digits):
    x = digits[2][:3]
    assert corruption_grid(x, tmp_path / "grid.png", index=2, kinds=["fog", "pixelate"]).stat().st_size > 0
    probs = np.array([[0.7, 0.3], [0.2, 0.8], [0.9, 0.1]])
    assert reliability_diagram(probs, [0, 1, 1], tmp_path / "rel.png").stat().st_size > 0
    curve = xr.DataArray([0.9, 0.5], dims=("epsilon",), coords={"epsilon": [0, 0.1]}, name="accuracy")
    assert robustness_curve_figure({"pgd": curve}, tmp_path / "curve.png").stat().st_size > 0
