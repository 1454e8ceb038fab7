import numpy as np
import pytest
import torch

from neurosafe.twin import ReadoutConfig
from neurosafe.twin.readouts import FactorizedReadout, GaussianReadout, grid_to_pixels


def _gaussian(n=3, c=2, mu=None):
    ro = GaussianReadout(n, c, ReadoutConfig(init_sigma=0.2)).eval()
    with torch.no_grad():
        ro.features.copy_(torch.eye(n, c))
        ro.bias.zero_()
        if mu is not None:
            ro.mu.copy_(torch.as_tensor(mu, dtype=torch.float32))
    return ro


def test_gaussian_readout_reads_the_pixel_at_its_position():
    """grid_sample with align_corners=True: -1 and +1 are the centres of the first and last pixels; the
    first grid coordinate is x (width). A non-square map catches an x/y swap."""
    h, w = 5, 9
    fmap = torch.randn(4, 2, h, w)
    px = [(0, 0), (8, 4), (3, 1)]  # (x, y)
    mu = [[2 * x / (w - 1) - 1, 2 * y / (h - 1) - 1] for x, y in px]
    ro = _gaussian(3, 2, mu)
    out = ro(fmap)
    for n, (x, y) in enumerate(px):
        expected = fmap[:, 0, y, x] if n == 0 else fmap[:, 1, y, x] if n == 1 else torch.zeros(4)
        torch.testing.assert_close(out[:, n], expected)
    torch.testing.assert_close(ro.positions(h, w), torch.tensor(px, dtype=torch.float32), atol=1e-5, rtol=0)


def test_gaussian_readout_interpolates_bilinearly_between_pixels():
    h, w = 4, 6
    fmap = torch.randn(2, 1, h, w)
    x, y = 2.25, 1.5
    ro = _gaussian(1, 1, [[2 * x / (w - 1) - 1, 2 * y / (h - 1) - 1]])
    f = fmap[:, 0].numpy()
    x0, y0, fx, fy = 2, 1, 0.25, 0.5
    ref = (
        (1 - fx) * (1 - fy) * f[:, y0, x0]
        + fx * (1 - fy) * f[:, y0, x0 + 1]
        + (1 - fx) * fy * f[:, y0 + 1, x0]
        + fx * fy * f[:, y0 + 1, x0 + 1]
    )
    np.testing.assert_allclose(ro(fmap)[:, 0].detach().numpy(), ref, rtol=1e-5, atol=1e-6)


def test_shift_moves_every_receptive_field():
    h, w = 5, 5
    fmap = torch.arange(h * w, dtype=torch.float32).reshape(1, 1, h, w).repeat(2, 1, 1, 1)
    ro = _gaussian(1, 1, [[0.0, 0.0]])  # centre pixel (2, 2)
    one_px = 2 / (w - 1)
    out = ro(fmap, shift=torch.tensor([[one_px, 0.0], [0.0, -one_px]]))
    torch.testing.assert_close(out[:, 0], torch.tensor([fmap[0, 0, 2, 3], fmap[0, 0, 1, 2]]))


def test_training_jitters_positions_with_learned_extent():
    fmap = torch.randn(64, 1, 8, 8)
    ro = _gaussian(1, 1, [[0.0, 0.0]])
    evald = ro(fmap)
    ro.train()
    with torch.no_grad():
        ro.log_sigma.fill_(-20.0)
    torch.testing.assert_close(ro(fmap), evald)
    with torch.no_grad():
        ro.log_sigma.fill_(0.0)
    assert (ro(fmap) - evald).abs().mean() > 0.1


def test_grid_to_pixels():
    torch.testing.assert_close(
        grid_to_pixels(torch.tensor([-1.0, 0.0, 1.0]), 32), torch.tensor([0.0, 15.5, 31.0])
    )


def test_factorized_readout_matches_explicit_sum():
    rng = np.random.default_rng(0)
    ro = FactorizedReadout(3, 2, 4, 5, ReadoutConfig(kind="factorized", l1=0.1))
    x = torch.from_numpy(rng.standard_normal((6, 2, 4, 5)).astype(np.float32))
    m, f, b = ro.mask.detach().numpy(), ro.features.detach().numpy(), ro.bias.detach().numpy()
    ref = np.array(
        [
            [
                sum(
                    m[n, i, j] * f[n, c] * x.numpy()[s, c, i, j]
                    for c in range(2)
                    for i in range(4)
                    for j in range(5)
                )
                + b[n]
                for n in range(3)
            ]
            for s in range(6)
        ]
    )
    np.testing.assert_allclose(ro(x).detach().numpy(), ref, rtol=1e-4, atol=1e-5)
    assert ro.regularizer().item() == pytest.approx(0.1 * (np.abs(m).sum() + np.abs(f).sum()), rel=1e-5)


def test_factorized_positions_are_mask_centres_of_mass():
    ro = FactorizedReadout(2, 1, 6, 8, ReadoutConfig(kind="factorized"))
    with torch.no_grad():
        ro.mask.zero_()
        ro.mask[0, 2, 5] = 1.0
        ro.mask[1, 1, 1] = -1.0
        ro.mask[1, 3, 3] = 1.0
    torch.testing.assert_close(ro.positions(6, 8), torch.tensor([[5.0, 2.0], [2.0, 2.0]]))
