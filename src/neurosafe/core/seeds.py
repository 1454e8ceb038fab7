"""Seeds: every random choice draws from a stream spawned with ``numpy.random.SeedSequence``.

``seed + k`` offsets make streams that overlap between runs (seed 1's second stream is seed 2's first);
spawned streams are statistically independent. A stream is named by its purpose, so adding a new random
step never shifts the numbers of the existing ones::

    rng = make_rng(seed, "bootstrap")          # a Generator
    fold_seed = child_seed(seed, "folds", 3)   # an int, for APIs that take an int (torch, sklearn)
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["child_seed", "make_rng", "seed_sequence", "spawn_seeds", "torch_generator"]


def _key(part: object) -> int:
    if isinstance(part, int | np.integer) and int(part) >= 0:
        return int(part)
    return zlib.crc32(str(part).encode())


def seed_sequence(seed: int | None, *purpose: object) -> np.random.SeedSequence:
    """The ``SeedSequence`` of ``seed`` for ``purpose`` (strings and non-negative ints), independent of
    every other purpose's stream."""
    if seed is not None and int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed}")
    return np.random.SeedSequence(seed, spawn_key=tuple(_key(p) for p in purpose))


def make_rng(seed: int | None, *purpose: object) -> np.random.Generator:
    """A numpy ``Generator`` on the stream of ``seed`` for ``purpose``."""
    return np.random.default_rng(seed_sequence(seed, *purpose))


def child_seed(seed: int | None, *purpose: object) -> int:
    """A 32-bit integer seed on the stream of ``seed`` for ``purpose`` (for APIs that take an int)."""
    return int(seed_sequence(seed, *purpose).generate_state(1, np.uint32)[0])


def spawn_seeds(seed: int | None, n: int, *purpose: object) -> list[int]:
    """``n`` independent integer seeds (e.g. one per fold, bootstrap block or training run)."""
    return [int(s.generate_state(1, np.uint32)[0]) for s in seed_sequence(seed, *purpose).spawn(n)]


def torch_generator(seed: int | None, *purpose: object, device: str = "cpu"):
    """A seeded ``torch.Generator`` on the stream of ``seed`` for ``purpose``."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(child_seed(seed, *purpose))
    return g
