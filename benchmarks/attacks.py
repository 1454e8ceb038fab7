"""PGD-20 throughput (images/s) of neurosafe.robust.pgd against torchattacks 3.5.1 in the same run.

The attacked model is the reference digits CNN (16x16 inputs, trained at the start); both libraries attack
the same 1,000 held-out images with the same budget, step size and random start, L-inf and L2, as one
batch (ours also at its default batch size, 256). Runs alternate between the libraries and the best of
``--repeats`` is kept, which filters out noise from other processes on shared machines. Robust accuracies
are printed too: equal speed at unequal strength would mean nothing.

Run: .venv/bin/python benchmarks/attacks.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch
import torchattacks

from neurosafe.data.tasks import digits_dataset
from neurosafe.robust import pgd
from neurosafe.robust.digits import train_digits_cnn

STEPS = 20
BUDGETS = {"linf": 8 / 255, "l2": 0.5}


def _best_time(fn, repeats: int) -> tuple[float, torch.Tensor]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    x_tr, y_tr, x_te, y_te = digits_dataset(size=16, n_test=1000, seed=0)
    net = train_digits_cnn(x_tr, y_tr, seed=0)
    x, y = torch.from_numpy(x_te), torch.from_numpy(y_te)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(x)} images of 16x16, PGD-{STEPS}")

    def accuracy(adv: torch.Tensor) -> float:
        with torch.no_grad():
            return float((net(adv).argmax(1) == y).float().mean())

    for norm, eps in BUDGETS.items():
        alpha = 2.5 * eps / STEPS
        peer_cls = torchattacks.PGD if norm == "linf" else torchattacks.PGDL2
        peer = peer_cls(net, eps=eps, alpha=alpha, steps=STEPS, random_start=True)
        runs = {
            "torchattacks": lambda peer=peer: peer(x, y),
            "neurosafe (one batch)": lambda eps=eps, alpha=alpha, norm=norm: pgd(
                net, x, y, eps=eps, norm=norm, steps=STEPS, step_size=alpha, batch_size=len(x)),
            "neurosafe (batch 256)": lambda eps=eps, alpha=alpha, norm=norm: pgd(
                net, x, y, eps=eps, norm=norm, steps=STEPS, step_size=alpha),
        }
        best = {name: float("inf") for name in runs}
        outputs = {}
        for _ in range(args.repeats):  # alternate, so that load from other processes hits all alike
            for name, fn in runs.items():
                seconds, outputs[name] = _best_time(fn, 1)
                best[name] = min(best[name], seconds)
        print(f"\n{norm}, eps={eps:.4g}, step={alpha:.4g}")
        for name, seconds in best.items():
            print(f"  {name:24s} {len(x) / seconds:8.0f} images/s   robust accuracy {accuracy(outputs[name]):.3f}")
        for name in list(runs)[1:]:
            print(f"  ratio {name} / torchattacks: {best['torchattacks'] / best[name]:.2f}")


if __name__ == "__main__":
    main()
