"""CKA with bootstrap CIs: neurosafe's vectorised bootstrap (Gram / distance matrices of all stimuli computed
once, every resample a vector of counts, all resamples in a few matrix products) against two references kept
here, measured in one run on the same resamples:

- "recomputed": the statistic straight from its definition on every resample's rows (Gram matrices rebuilt
  per resample; the implementation before the by-index bootstrap, and the issue's "today");
- "by index": the implementation on main at the start of the speed17 session (full Gram / distance
  matrices once, each resample's rows and columns taken by index and double-centred).

Workload: 1,200 stimuli, 4,096 model features x 300 neurons, 20 bootstrap resamples; linear (biased) and rbf
CKA. BLAS threads are set explicitly (``--threads N``, default 1). Prints the times and the ratios
(goal >= 10x). Run: ``python benchmarks/cka.py [--quick]`` (``--quick``: 600 x 1,024 vs 150).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy.spatial.distance import pdist, squareform
from threadpoolctl import threadpool_limits

from neurosafe.metrics import cka, hsic
from neurosafe.metrics.bootstrap import bootstrap_indices


def _rbf(x: np.ndarray) -> np.ndarray:
    d = squareform(pdist(x))
    s = float(np.median(d[np.triu_indices(len(x), k=1)]))
    return np.exp(-(d**2) / (2 * s**2))


def recomputed(a: np.ndarray, b: np.ndarray, kernel: str, n_boot: int, seed: int) -> np.ndarray:
    """Reference 1: the definition (Kornblith et al. 2019) on each resample's rows, Grams rebuilt per resample."""
    out = []
    for idx in bootstrap_indices(len(a), n_boot, seed):
        x, y = a[idx] - a[idx].mean(axis=0), b[idx] - b[idx].mean(axis=0)
        k, l = (x @ x.T, y @ y.T) if kernel == "linear" else (_rbf(x), _rbf(y))  # noqa: E741
        out.append(hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l)))
    return np.array(out)


def by_index(a: np.ndarray, b: np.ndarray, kernel: str, n_boot: int, seed: int) -> np.ndarray:
    """Reference 2: the session-start implementation, matrices of all stimuli once, resamples by index."""
    if kernel == "linear":
        ac, bc = a - a.mean(axis=0), b - b.mean(axis=0)
        full = (ac @ ac.T, bc @ bc.T)
    else:
        full = (squareform(pdist(a)), squareform(pdist(b)))
    out = []
    for idx in bootstrap_indices(len(a), n_boot, seed):
        mats = []
        for m in full:
            m = m[np.ix_(idx, idx)]
            if kernel == "rbf":
                s = float(np.median(m[np.triu_indices(len(idx), k=1)]))
                m = np.exp(-(m**2) / (2 * s**2))
            mats.append(m)
        k, l = mats  # noqa: E741
        kc = k - k.mean(axis=0) - k.mean(axis=1, keepdims=True) + k.mean()
        lc = l - l.mean(axis=0) - l.mean(axis=1, keepdims=True) + l.mean()
        out.append(float((kc * l).sum()) / np.sqrt(float((kc * k).sum()) * float((lc * l).sum())))
    return np.array(out)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    quick = "--quick" in sys.argv
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    n, p, q, n_boot = (600, 1024, 150, 20) if quick else (1200, 4096, 300, 20)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, p))
    b = a[:, :64] @ rng.standard_normal((64, q)) + rng.standard_normal((n, q))
    with threadpool_limits(limits=threads):
        print(f"BLAS threads: {threads}")
        for kernel in ("linear", "rbf"):
            t_new, new = _timed(lambda kernel=kernel: cka(a, b, kernel=kernel, n_boot=n_boot, seed=0))
            t_idx, idx = _timed(lambda kernel=kernel: by_index(a, b, kernel, n_boot, 0))
            t_old, old = _timed(lambda kernel=kernel: recomputed(a, b, kernel, n_boot, 0))
            ours = np.r_[new.plugin if new.plugin is not None else new.value, new.replicates]
            err = max(np.abs(ours - old).max(), np.abs(ours - idx).max())
            print(f"CKA {kernel}, {n} x {p} vs {q}, {n_boot} bootstraps: neurosafe {t_new:.2f} s, "
                  f"by index (session start) {t_idx:.2f} s, recomputed {t_old:.2f} s; "
                  f"ratio {t_idx / t_new:.1f}x vs by index, {t_old / t_new:.1f}x vs recomputed; "
                  f"max |diff| {err:.1e}")


if __name__ == "__main__":
    main()
