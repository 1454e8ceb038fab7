"""Feature recovery (mean max |cosine|, MMCS) against feature density on the planted toy superposition problem (20
features in 8 dims): TopK SAE (``interp.superposition.TOY_SAE``), scikit-learn MiniBatchDictionaryLearning and
FastICA, with bootstrap CIs over seeds; one line per density as it finishes (the same numbers as
``neurosafe probe sae --toy``, which also adds the ReLU SAE and a figure).

Run: OMP_NUM_THREADS=1 .venv/bin/python scripts/experiments/superposition_curve.py [--seeds 5]
"""

from __future__ import annotations

import argparse

from neurosafe.interp.superposition import recovery_curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--densities", default="0.01,0.05,0.1,0.2,0.4")
    parser.add_argument("--methods", default="topk,minibatch_dictionary_learning,ica")
    args = parser.parse_args()
    methods = args.methods.split(",")
    print("| p | " + " | ".join(methods) + " |")
    print("|---|" + "---|" * len(methods))
    for p in (float(v) for v in args.densities.split(",")):
        c = recovery_curve((p,), methods, n_seeds=args.seeds)
        cells = [f"{float(c['mmcs'].sel(dictionary=m)[0]):.3f} [{float(c['ci_low'].sel(dictionary=m)[0]):.3f}, "
                 f"{float(c['ci_high'].sel(dictionary=m)[0]):.3f}]" for m in methods]
        print(f"| {p:g} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
