"""CKA with bootstrap CIs: resampling by index from Gram / distance matrices computed once, against the
previous per-resample recomputation (``_GRAM_LIMIT = 0`` restores it), measured in one run.

Workload: 1,200 stimuli, 4,096 model features x 300 neurons, 20 bootstrap resamples; linear (biased) and
rbf CKA. Prints both times and the ratio old / new (goal >= 10x). Run: ``python benchmarks/cka.py``.
"""

from __future__ import annotations

import importlib
import time

import numpy as np

from neurosafe.metrics import cka

cka_module = importlib.import_module("neurosafe.metrics.cka")  # the package attribute 'cka' is the function


def main() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1200, 4096))
    b = a[:, :64] @ rng.standard_normal((64, 300)) + rng.standard_normal((1200, 300))
    for kernel in ("linear", "rbf"):
        t0 = time.perf_counter()
        new = cka(a, b, kernel=kernel, n_boot=20, seed=0)
        t_new = time.perf_counter() - t0
        limit, cka_module._GRAM_LIMIT = cka_module._GRAM_LIMIT, 0
        try:
            t0 = time.perf_counter()
            old = cka(a, b, kernel=kernel, n_boot=20, seed=0)
            t_old = time.perf_counter() - t0
        finally:
            cka_module._GRAM_LIMIT = limit
        assert np.allclose(new.replicates, old.replicates, rtol=1e-8)
        print(f"CKA {kernel}, 1200 x 4096 vs 300, 20 bootstraps: by index {t_new:.2f} s, recomputed {t_old:.2f} s, "
              f"ratio {t_old / t_new:.1f}x")


if __name__ == "__main__":
    main()
