"""Sparse dictionaries of real V4 responses (Cowley et al. 2023, session 210325: 50 neurons x 640 natural images,
trial-averaged): held-out FVE and L0 of TopK SAEs (k = 2, 5, 10), a ReLU SAE and scikit-learn's
MiniBatchDictionaryLearning with the same number of atoms, fitted on 80% of the images.

Run: OMP_NUM_THREADS=1 .venv/bin/python scripts/experiments/sae_cowley2023.py [--data ../shared/data] [--atoms 100]
Data: Cowley, Stan, Pillow & Smith 2023 (GPL-3.0), from ../shared/data/v4-cowley2023.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neurosafe.core.seeds import make_rng
from neurosafe.data.datasets import load_cowley2023
from neurosafe.interp.dictionary import SAEConfig, dictionary_metrics, learn_dictionary, site_samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--atoms", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rec = load_cowley2023(Path(args.data) / "v4-cowley2023")
    x = site_samples(rec)
    x = x / x.std(0).clip(1e-12)  # neurons on a common scale (spike counts differ by an order of magnitude)
    order = make_rng(args.seed, "split").permutation(len(x))
    train, test = x[order[: int(0.8 * len(x))]], x[order[int(0.8 * len(x)):]]
    rows = {}
    for name, method, cfg, extra in [
        ("topk k=2", "topk", SAEConfig(k=2, epochs=300, batch_size=64, lr=3e-3), {}),
        ("topk k=5", "topk", SAEConfig(k=5, epochs=300, batch_size=64, lr=3e-3), {}),
        ("topk k=10", "topk", SAEConfig(k=10, epochs=300, batch_size=64, lr=3e-3), {}),
        ("relu l1=1", "sae", SAEConfig(l1=1.0, epochs=300, batch_size=64, lr=3e-3), {}),
        ("sklearn minibatch DL alpha=1", "minibatch_dictionary_learning", None, {"alpha": 1.0}),
    ]:
        d = learn_dictionary(train, method, args.atoms, seed=args.seed, config=cfg, **extra)
        rows[name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in dictionary_metrics(d, test).items()}
        print(name, rows[name], flush=True)
    print(json.dumps({"n_train": len(train), "n_test": len(test), "n_neurons": x.shape[1], "results": rows}, indent=1))


if __name__ == "__main__":
    main()
