"""Time to record 10,000 stimuli x 1,000 neurons x 4 repeats from the synthetic brain.

There is no peer simulator of this brain, so the reference in the same run is a plain per-stimulus numpy
loop over the same filters (what a straightforward implementation would do) on a 500-stimulus subset,
scaled up; the ratio is printed. Run: .venv/bin/python benchmarks/record.py
"""

from __future__ import annotations

import time

import numpy as np

from neurosafe.data import SyntheticBrain, natural_patches


def naive_record(brain: SyntheticBrain, images: np.ndarray, repeats: int, seed: int) -> np.ndarray:
    """Per-stimulus loop: same V1 equations as the module, one image at a time in numpy."""
    m = brain.module
    even, odd, win = m.even.numpy(), m.odd.numpy(), m.window.numpy()
    p, sig, gain, off = m.exponent.numpy(), m.sigma.numpy(), m.gain.numpy(), m.offset.numpy()
    cx = m.is_complex.numpy()
    rng = np.random.default_rng(seed)
    out = np.empty((len(images), even.shape[0], repeats))
    for i, img in enumerate(images):
        lum = img[0].ravel() - 0.5
        le, lo = even @ lum, odd @ lum
        energy = np.where(cx, (le**2 + lo**2) ** (p / 2), np.maximum(le, 0) ** p)
        drive = energy / (sig**p + (win @ lum**2) ** (p / 2))
        out[i] = rng.poisson(np.repeat((gain * (off + drive))[:, None], repeats, axis=1))
    return out


def main() -> None:
    n_stim, n_neurons, repeats = 10_000, 1_000, 4
    t0 = time.perf_counter()
    brain = SyntheticBrain(n_neurons=n_neurons, seed=0)
    t_build = time.perf_counter() - t0
    stimuli = natural_patches(n_stim, 32, seed=1)
    t0 = time.perf_counter()
    rec = brain.record(stimuli, repeats=repeats, seed=2)
    t_record = time.perf_counter() - t0
    sub = 500
    t0 = time.perf_counter()
    naive_record(brain, stimuli.images[:sub], repeats, seed=2)
    t_naive = (time.perf_counter() - t0) * n_stim / sub
    print(f"brain construction + calibration ({n_neurons} neurons): {t_build:.2f} s")
    print(f"record {n_stim} stimuli x {n_neurons} neurons x {repeats} repeats: {t_record:.2f} s "
          f"({rec.size / t_record / 1e6:.1f} M samples/s)")
    print(f"naive per-stimulus numpy loop (extrapolated from {sub}): {t_naive:.2f} s")
    print(f"speed-up vs naive loop: {t_naive / t_record:.1f}x")


if __name__ == "__main__":
    main()
