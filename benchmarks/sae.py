"""SAE training throughput: ``neurosafe.interp.fit_sae`` vs a plain PyTorch loop of the same model, same run.

Both train the same ReLU sparse autoencoder (Bricken et al. 2023: pre-encoder bias, ReLU encoder, unit-norm
decoder renormalised after each step, MSE + L1 weighted by decoder norms, Adam) on the same activations with the
same batch size and number of steps; neurosafe additionally tracks which features fired and resamples dead ones
(the plain loop does not: it is the lower bound of overhead). Prints activations/s of each and the ratio
neurosafe / plain (goal >= 0.9).

Run: .venv/bin/python benchmarks/sae.py [--samples 200000] [--dim 128] [--latents 1024] [--epochs 3]
     [--batch 1024] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from neurosafe.interp.dictionary import SAEConfig, fit_sae


def plain_loop(x: torch.Tensor, latents: int, epochs: int, batch: int, l1: float, lr: float) -> None:
    """The reference: the same SAE written directly in PyTorch."""
    d = x.shape[1]
    w = torch.randn(d, latents, device=x.device)
    w_dec = torch.nn.Parameter(w / w.norm(dim=0, keepdim=True))
    w_enc = torch.nn.Parameter(w_dec.detach().t().clone())
    b_enc = torch.nn.Parameter(torch.zeros(latents, device=x.device))
    b_dec = torch.nn.Parameter(x.mean(0).clone())
    opt = torch.optim.Adam([w_dec, w_enc, b_enc, b_dec], lr=lr)
    steps = len(x) // batch
    for _ in range(epochs):
        perm = torch.randperm(len(x)).to(x.device)
        for b in range(steps):
            xb = x[perm[b * batch:(b + 1) * batch]]
            f = torch.relu((xb - b_dec) @ w_enc.t() + b_enc)
            err = ((f @ w_dec.t() + b_dec - xb) ** 2).sum(-1).mean()
            loss = err + l1 * (f * w_dec.norm(dim=0)).sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                w_dec.div_(w_dec.norm(dim=0, keepdim=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--latents", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each (best kept)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(args.samples, args.dim, generator=gen) * torch.rand(args.dim, generator=gen)).to(args.device)
    x = x / x.pow(2).sum(1).mean().sqrt() * args.dim ** 0.5  # already normalised: both see the same scale
    cfg = SAEConfig(n_latents=args.latents, epochs=args.epochs, batch_size=args.batch, device=args.device,
                    resample_every=2000)

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(args.repeats):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            best = min(best, time.perf_counter() - t0)
        return best

    n_seen = (args.samples // args.batch) * args.batch * args.epochs
    t_plain = timed(lambda: plain_loop(x, args.latents, args.epochs, args.batch, cfg.l1, cfg.lr))
    t_ours = timed(lambda: fit_sae(x, cfg, seed=0))
    print(f"machine: {platform.processor() or platform.machine()}, threads {torch.get_num_threads()}, "
          f"device {args.device}, torch {torch.__version__}")
    print(f"data: {args.samples} x {args.dim}, {args.latents} latents, batch {args.batch}, {args.epochs} epochs")
    print(f"plain PyTorch loop: {n_seen / t_plain:,.0f} activations/s ({t_plain:.2f} s)")
    print(f"neurosafe fit_sae:  {n_seen / t_ours:,.0f} activations/s ({t_ours:.2f} s)")
    print(f"ratio neurosafe / plain: {t_plain / t_ours:.3f} (goal >= 0.9)")


if __name__ == "__main__":
    main()
