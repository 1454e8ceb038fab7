"""A simulated visual cortex with known ground truth: the embedded default subject of every command.

V1 (``area="V1"``): simple cells (a Gabor filter followed by a rectified power nonlinearity) and complex
cells (the energy model of Adelson & Bergen 1985: sum of squares of a quadrature pair), both divisively
normalized by the local contrast energy (Heeger 1992; Carandini & Heeger 2012), with per-neuron gain and
baseline. ``area="V4"``: a fixed, seeded second stage on a convolutional V1 bank: each unit multiplies two
rectified feature pools taken over a large spatial field (a conjunction; an LN-LN cascade in the spirit of
Pasupathy & Connor 2001), so a single linear readout of Gabor energies cannot fit it but deeper features can.

Noise: Poisson spike counts per trial (``noise="poisson"``) or Gaussian with the same mean-variance at the
calibration set. Each neuron's single-trial signal-to-noise ratio (signal variance / noise variance over
natural patches) is drawn log-uniformly from ``snr_range``; the split-half reliability of an R-repeat
recording is then about snr R / (1 + snr R), so ``snr_range`` sets the spread of reliabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from torch import nn

from neurosafe.core.errors import DataValidationError
from neurosafe.data.recording import make_responses
from neurosafe.data.stimuli import StimulusSet, grating_carrier, natural_patches

__all__ = ["SyntheticBrain", "gabor"]

_LUMA = (0.299, 0.587, 0.114)


def gabor(size: tuple[int, int], x: float, y: float, sigma: float, orientation: float, sf: float,
          phase: float) -> np.ndarray:
    """Zero-mean, unit-L2-norm Gabor filter centred at (x, y) px; angles in degrees, sf in cycles/px."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    env = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    g = env * grating_carrier(size, orientation, sf, phase, center=(x, y))
    g -= env * (g.sum() / env.sum())
    return g / np.linalg.norm(g)


def _luminance(x: torch.Tensor) -> torch.Tensor:
    """Contrast image (luminance - 0.5) of a (B, C, H, W) batch in [0, 1]; returns (B, H, W)."""
    if x.shape[1] == 3:
        x = torch.tensordot(x, x.new_tensor(_LUMA), dims=([1], [0]))
    else:
        x = x[:, 0]
    return x - 0.5


class _V1(nn.Module):
    """Simple / complex cells with divisive normalization; output: expected counts (B, N)."""

    def __init__(self, even, odd, window, is_complex, exponent):
        super().__init__()
        self.register_buffer("even", torch.as_tensor(even, dtype=torch.float32))
        self.register_buffer("odd", torch.as_tensor(odd, dtype=torch.float32))
        self.register_buffer("window", torch.as_tensor(window, dtype=torch.float32))
        self.register_buffer("is_complex", torch.as_tensor(is_complex))
        self.register_buffer("exponent", torch.as_tensor(exponent, dtype=torch.float32))
        n = len(exponent)
        self.register_buffer("sigma", torch.ones(n))
        self.register_buffer("gain", torch.ones(n))
        self.register_buffer("offset", torch.zeros(n))

    def drive(self, x: torch.Tensor) -> torch.Tensor:
        lum = _luminance(x).flatten(1)
        le, lo = lum @ self.even.T, lum @ self.odd.T
        simple = torch.relu(le) ** self.exponent
        complex_ = (le**2 + lo**2 + 1e-12) ** (self.exponent / 2)
        energy = torch.where(self.is_complex, complex_, simple)
        local_contrast = (lum**2) @ self.window.T
        return energy / (self.sigma**self.exponent + local_contrast ** (self.exponent / 2))

    def local_contrast(self, x: torch.Tensor) -> torch.Tensor:
        return (_luminance(x).flatten(1) ** 2) @ self.window.T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * (self.offset + self.drive(x))


class _V4(nn.Module):
    """Conjunction of two rectified feature pools over a convolutional, normalized V1 energy bank."""

    def __init__(self, kernels, mask, weights_a, weights_b, pool: int):
        super().__init__()
        self.register_buffer("kernels", torch.as_tensor(kernels, dtype=torch.float32))  # (2F, 1, K, K)
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float32))  # (N, h', w')
        self.register_buffer("wa", torch.as_tensor(weights_a, dtype=torch.float32))  # (N, F')
        self.register_buffer("wb", torch.as_tensor(weights_b, dtype=torch.float32))
        self.pool = pool
        n = len(mask)
        for name, val in (("mu_a", 0.0), ("sd_a", 1.0), ("mu_b", 0.0), ("sd_b", 1.0), ("gain", 1.0), ("offset", 0.0)):
            self.register_buffer(name, torch.full((n,), val))

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        lum = _luminance(x)[:, None]
        k = self.kernels
        resp = nn.functional.conv2d(lum, k, padding=k.shape[-1] // 2)
        f = resp.shape[1] // 2
        even, odd = resp[:, :f], resp[:, f:]
        energy = even**2 + odd**2
        on = torch.relu(even) ** 2
        contrast = nn.functional.avg_pool2d(lum**2, 7, stride=1, padding=3, count_include_pad=False)
        maps = torch.cat([energy, on], dim=1) / (0.01 + contrast)
        return nn.functional.avg_pool2d(maps, self.pool)

    def pools(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spatial = torch.einsum("bfhw,nhw->bnf", self.feature_maps(x), self.mask)
        return (spatial * self.wa).sum(-1), (spatial * self.wb).sum(-1)

    def drive(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.pools(x)
        sp = nn.functional.softplus
        return sp((a - self.mu_a) / self.sd_a) * sp((b - self.mu_b) / self.sd_b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * (self.offset + self.drive(x))


@dataclass(frozen=True)
class _Draw:
    """Per-neuron parameters shared by both areas."""

    snr: np.ndarray
    baseline_fraction: np.ndarray


class SyntheticBrain:
    """A ground-truth visual cortex implementing the ``Subject`` protocol.

    Parameters: ``n_neurons``; ``area`` "V1" or "V4"; ``seed`` fixes every random choice;
    ``image_size`` (pixels, square images expected); ``fraction_complex`` (V1); ``noise`` "poisson" or
    "gaussian"; ``snr_range`` single-trial signal-to-noise range (log-uniform);
    ``n_calibration`` natural patches used to set gains and normalization constants.
    """

    def __init__(self, n_neurons: int = 200, area: str = "V1", seed: int = 0, image_size: int = 32,
                 fraction_complex: float = 0.4, noise: str = "poisson",
                 snr_range: tuple[float, float] = (0.1, 2.0), n_calibration: int = 1000,
                 species: str = "synthetic macaque"):
        if n_neurons < 1:
            raise DataValidationError(f"n_neurons must be >= 1; got {n_neurons}")
        if area not in ("V1", "V4"):
            raise DataValidationError(f"area must be 'V1' or 'V4'; got {area!r}")
        if noise not in ("poisson", "gaussian"):
            raise DataValidationError(f"noise must be 'poisson' or 'gaussian'; got {noise!r}")
        if not 0 < snr_range[0] <= snr_range[1]:
            raise DataValidationError(f"snr_range must be positive and increasing; got {snr_range}")
        if image_size < 16:
            raise DataValidationError(f"image_size must be >= 16 pixels; got {image_size}")
        self.n_neurons, self.area, self.seed, self.image_size = n_neurons, area, seed, image_size
        self.noise, self.species = noise, species
        rng = np.random.default_rng(seed)
        self.neuron_ids = np.array([f"{area.lower()}_{i:04d}" for i in range(n_neurons)], dtype=object)
        if area == "V1":
            self.module, table = self._build_v1(rng, fraction_complex)
        else:
            self.module, table = self._build_v4(rng)
        draw = _Draw(snr=np.exp(rng.uniform(*np.log(snr_range), n_neurons)),
                     baseline_fraction=rng.uniform(0.05, 0.3, n_neurons))
        self._calibrate(natural_patches(n_calibration, image_size, seed=seed + 7919), draw)
        table.update(gain=self.module.gain.numpy().astype(float),
                     baseline=(self.module.gain * self.module.offset).numpy().astype(float), snr=draw.snr)
        self._table = table

    # ------------------------------------------------------------------------------------------ build
    def _build_v1(self, rng: np.random.Generator, fraction_complex: float):
        n, s = self.n_neurons, self.image_size
        size = rng.uniform(0.06, 0.14, n) * s
        sf = rng.uniform(0.15, 0.35, n) / size
        ori = rng.uniform(0, 180, n)
        phase = rng.uniform(0, 360, n)
        x, y = rng.uniform(0.2 * s, 0.8 * s, n), rng.uniform(0.2 * s, 0.8 * s, n)
        is_complex = rng.random(n) < fraction_complex
        exponent = rng.uniform(1.5, 2.5, n)
        even = np.stack([gabor((s, s), x[i], y[i], size[i], ori[i], sf[i], phase[i]) for i in range(n)])
        odd = np.stack([gabor((s, s), x[i], y[i], size[i], ori[i], sf[i], phase[i] - 90) for i in range(n)])
        yy, xx = np.mgrid[0:s, 0:s]
        win = np.exp(-((xx[None] - x[:, None, None]) ** 2 + (yy[None] - y[:, None, None]) ** 2)
                     / (2 * (1.5 * size[:, None, None]) ** 2))
        win /= win.sum(axis=(1, 2), keepdims=True)
        module = _V1(even.reshape(n, -1), odd.reshape(n, -1), win.reshape(n, -1), is_complex, exponent)
        self._semi_saturation = rng.uniform(0.3, 1.0, n)
        table = {
            "cell_type": np.where(is_complex, "complex", "simple"),
            "preferred_orientation": ori, "preferred_sf": sf, "preferred_phase": np.where(is_complex, np.nan, phase),
            "rf_x": x, "rf_y": y, "rf_size": size, "exponent": exponent,
            "filter": even, "filter_quadrature": odd,
        }
        return module, table

    def _build_v4(self, rng: np.random.Generator):
        n, s = self.n_neurons, self.image_size
        oris = np.arange(0, 180, 22.5)
        sfs = np.array([0.08, 0.16]) * 32 / s * (s / 32)  # cycles/px, independent of image size
        k = 13
        c = (k - 1) / 2
        bank = [(o, f) for f in sfs for o in oris]
        even = np.stack([gabor((k, k), c, c, 0.3 / f, o, f, 0) for o, f in bank])
        odd = np.stack([gabor((k, k), c, c, 0.3 / f, o, f, -90) for o, f in bank])
        kernels = np.concatenate([even, odd])[:, None]
        pool = 2
        m = s // pool
        x, y = rng.uniform(0.3 * s, 0.7 * s, n), rng.uniform(0.3 * s, 0.7 * s, n)
        size = rng.uniform(0.12, 0.25, n) * s
        gy, gx = (np.mgrid[0:m, 0:m] + 0.5) * pool - 0.5
        mask = np.exp(-((gx[None] - x[:, None, None]) ** 2 + (gy[None] - y[:, None, None]) ** 2)
                      / (2 * size[:, None, None] ** 2))
        mask /= mask.sum(axis=(1, 2), keepdims=True)
        n_feat = 2 * len(bank)
        wa = np.zeros((n, n_feat))
        wb = np.zeros((n, n_feat))
        for i in range(n):
            for w in (wa, wb):
                idx = rng.choice(n_feat, size=3, replace=False)
                w[i, idx] = rng.uniform(0.3, 1.0, 3)
        module = _V4(kernels, mask, wa, wb, pool)
        top = np.argmax(wa, axis=1) % len(bank)
        yy, xx = np.mgrid[0:s, 0:s]
        full_mask = np.exp(-((xx[None] - x[:, None, None]) ** 2 + (yy[None] - y[:, None, None]) ** 2)
                           / (2 * size[:, None, None] ** 2))
        table = {
            "cell_type": np.full(n, "v4_conjunction"),
            "preferred_orientation": np.array([bank[t][0] for t in top]),
            "preferred_sf": np.array([bank[t][1] for t in top]),
            "preferred_phase": np.full(n, np.nan),
            "rf_x": x, "rf_y": y, "rf_size": size, "exponent": np.full(n, np.nan),
            "filter": full_mask / np.linalg.norm(full_mask, axis=(1, 2), keepdims=True),
            "filter_quadrature": np.full((n, s, s), np.nan),
        }
        return module, table

    @torch.no_grad()
    def _calibrate(self, stimuli: StimulusSet, draw: _Draw) -> None:
        """Set normalization constants and gains so that each neuron has its drawn SNR on natural patches."""
        mod = self.module
        x = torch.from_numpy(stimuli.images)
        if isinstance(mod, _V1):
            typical = torch.sqrt(mod.local_contrast(x)).median(dim=0).values
            mod.sigma.copy_(torch.as_tensor(self._semi_saturation, dtype=torch.float32) * typical)
        else:
            a, b = mod.pools(x)
            mod.mu_a.copy_(a.mean(0))
            mod.sd_a.copy_(a.std(0) + 1e-8)
            mod.mu_b.copy_(b.mean(0))
            mod.sd_b.copy_(b.std(0) + 1e-8)
        d = mod.drive(x).double()
        m, v = d.mean(0).numpy(), d.var(0).numpy()
        beta = draw.baseline_fraction
        # expected count = g (beta m + d): signal var g^2 v, Poisson noise g m (1 + beta) -> snr
        gain = draw.snr * m * (1 + beta) / np.maximum(v, 1e-12)
        mod.gain.copy_(torch.as_tensor(gain, dtype=torch.float32))
        mod.offset.copy_(torch.as_tensor(beta * m, dtype=torch.float32))
        self._gaussian_var = gain * m * (1 + beta)

    # ---------------------------------------------------------------------------------------- Subject
    @property
    def sites(self) -> tuple[str, ...]:
        return (self.area,)

    @property
    def device(self) -> torch.device:
        return self.module.gain.device

    def activations(self, x: torch.Tensor, sites) -> dict[str, torch.Tensor]:
        """Differentiable expected counts (B, neuron) of images ``x`` in [0, 1]: the ``DifferentiableSubject``
        protocol (structural; ``data`` does not import ``subjects``). The one site is the area."""
        for site in sites:
            self._check_site(site)
        out = self.module(x)
        return {site: out for site in sites}

    @property
    def ground_truth(self) -> xr.Dataset:
        """Per-neuron ground truth over dim ``neuron``: cell type, preferred orientation (deg, [0, 180)),
        preferred SF (cycles/px), preferred phase (deg, relative to the RF centre; NaN for complex cells),
        RF centre ``rf_x``, ``rf_y`` and Gaussian s.d. ``rf_size`` (px), gain, baseline (expected counts),
        single-trial SNR, and the linear filters (the even Gabor and its quadrature; for V4 the spatial
        pooling field) over (neuron, y, x)."""
        t = self._table
        data = {k: (("neuron", "y", "x"), v) if k.startswith("filter") else ("neuron", v) for k, v in t.items()}
        return xr.Dataset(data, coords={"neuron_id": ("neuron", self.neuron_ids)},
                          attrs={"area": self.area, "seed": self.seed, "image_size": self.image_size})

    def _check(self, stimuli) -> StimulusSet:
        if not isinstance(stimuli, StimulusSet):
            stimuli = StimulusSet(np.asarray(stimuli, dtype=np.float32))
        if stimuli.size != (self.image_size, self.image_size):
            raise DataValidationError(
                f"this SyntheticBrain sees {self.image_size}x{self.image_size} images; got "
                f"{stimuli.size[0]}x{stimuli.size[1]} (make stimuli with size={self.image_size} or build the "
                f"brain with image_size={stimuli.size[0]})"
            )
        return stimuli

    def _check_site(self, site: str | None) -> None:
        if site not in (None, self.area):
            raise DataValidationError(f"unknown site {site!r}; this brain has sites {self.sites}")

    @torch.no_grad()
    def _expected(self, stimuli: StimulusSet, batch_size: int = 2048) -> np.ndarray:
        out = [self.module(torch.from_numpy(stimuli.images[i:i + batch_size])).numpy()
               for i in range(0, len(stimuli), batch_size)]
        return np.concatenate(out).astype(np.float64)

    def _attrs(self, kind: str) -> dict:
        return {"area": self.area, "species": self.species, "units": "spike count",
                "source": f"neurosafe.SyntheticBrain(seed={self.seed})", "kind": kind}

    def respond(self, stimuli: StimulusSet, site: str | None = None) -> xr.DataArray:
        """Noise-free expected spike counts per trial, dims (stimulus, neuron)."""
        self._check_site(site)
        stimuli = self._check(stimuli)
        return make_responses(self._expected(stimuli), stimuli.ids, self.neuron_ids, dims=("stimulus", "neuron"),
                              attrs=self._attrs("expected"))

    def noise_variance(self, expected: np.ndarray | xr.DataArray) -> np.ndarray:
        """Trial-to-trial variance given expected counts (Poisson: the mean; Gaussian: a per-neuron constant)."""
        expected = np.asarray(expected, dtype=np.float64)
        if self.noise == "poisson":
            return expected
        return np.broadcast_to(self._gaussian_var, expected.shape).copy()

    def record(self, stimuli: StimulusSet, repeats: int = 10, seed: int = 0) -> xr.DataArray:
        """A noisy recording, dims (stimulus, neuron, repeat), validated."""
        if repeats < 1:
            raise DataValidationError(f"repeats must be >= 1; got {repeats}")
        stimuli = self._check(stimuli)
        mean = self._expected(stimuli)
        rng = np.random.default_rng(seed)
        shape = (*mean.shape, repeats)
        if self.noise == "poisson":
            trials = rng.poisson(np.broadcast_to(mean[..., None], shape)).astype(np.float64)
        else:
            sd = np.sqrt(self._gaussian_var)[None, :, None]
            trials = mean[..., None] + sd * rng.standard_normal(shape)
        attrs = self._attrs("recording") | {"noise": self.noise, "record_seed": seed}
        return make_responses(trials, stimuli.ids, self.neuron_ids, attrs=attrs,
                              neuron_coords={"cell_type": self._table["cell_type"]})
