"""Time to record 10,000 stimuli x 1,000 neurons x 4 repeats from the synthetic brain.

No peer simulates this brain, so there is no ratio to print; the time is split into the noise-free forward
pass (batched torch matrix products) and the Poisson sampling, to show where it goes.
Run: .venv/bin/python benchmarks/record.py
"""

from __future__ import annotations

import time

import numpy as np

from neurosafe.data import SyntheticBrain, natural_patches


def main() -> None:
    n_stim, n_neurons, repeats = 10_000, 1_000, 4
    t0 = time.perf_counter()
    brain = SyntheticBrain(n_neurons=n_neurons, seed=0)
    t_build = time.perf_counter() - t0
    stimuli = natural_patches(n_stim, 32, seed=1)
    t0 = time.perf_counter()
    rec = brain.record(stimuli, repeats=repeats, seed=2)
    t_record = time.perf_counter() - t0
    t0 = time.perf_counter()
    mean = brain.respond(stimuli).values
    t_forward = time.perf_counter() - t0
    t0 = time.perf_counter()
    np.random.default_rng(0).poisson(np.broadcast_to(mean[..., None], (*mean.shape, repeats)))
    t_poisson = time.perf_counter() - t0
    print(f"brain construction + calibration ({n_neurons} neurons): {t_build:.2f} s")
    print(f"record {n_stim} stimuli x {n_neurons} neurons x {repeats} repeats: {t_record:.2f} s "
          f"({rec.size / t_record / 1e6:.1f} M samples/s)")
    print(f"  of which noise-free responses {t_forward:.2f} s, Poisson draws {t_poisson:.2f} s")


if __name__ == "__main__":
    main()
