"""Image augmentations for contrastive learning and translated-patch sequences for the predictive objective.

``augment``: SimCLR's view distribution (Chen et al. 2020, ICML) for grey patches, vectorised on a batch:
random resized crop (area 0.35-1, aspect 3/4-4/3) with a random horizontal flip, as one affine resampling;
brightness and contrast jitter (+-0.4); additive Gaussian noise. Simplification: no colour jitter, grey
conversion or blur (the patches are grey and 32 px).

``translated_pairs``: two frames of a patch moving across a larger natural image (a shift of 1-4 px in a
random direction), the image sequences of slowness (Wiskott & Sejnowski 2002) and predictive coding
(van den Oord et al. 2018, CPC) objectives.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["augment", "translated_pairs"]


def augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """One random view of each image of ``x`` (B, C, H, W) in [0, 1]."""
    b = len(x)
    u = torch.rand(b, 7, generator=generator)
    area = 0.35 + 0.65 * u[:, 0]
    log_ratio = (u[:, 1] - 0.5) * 2 * math.log(4 / 3)
    ratio = torch.exp(log_ratio)
    sx = torch.sqrt(area * ratio).clamp(max=1.0)
    sy = torch.sqrt(area / ratio).clamp(max=1.0)
    tx = (2 * u[:, 2] - 1) * (1 - sx)
    ty = (2 * u[:, 3] - 1) * (1 - sy)
    flip = torch.where(u[:, 4] < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = sx * flip, tx
    theta[:, 1, 1], theta[:, 1, 2] = sy, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    v = F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="reflection", align_corners=False)
    brightness = (u[:, 5] - 0.5) * 0.8
    contrast = 1 + (u[:, 6] - 0.5) * 0.8
    mean = v.mean(dim=(1, 2, 3), keepdim=True)
    v = (v - mean) * contrast.view(-1, 1, 1, 1) + mean + brightness.view(-1, 1, 1, 1) * 0.5
    v = v + 0.03 * torch.randn(v.shape, generator=generator)
    return v.clamp(0, 1)


def translated_pairs(big: Tensor, size: int, generator: torch.Generator, max_shift: int = 4) -> tuple[Tensor, Tensor]:
    """Frames t and t+1 (B, C, size, size) of a ``size`` window moving 1-``max_shift`` px across ``big``
    (B, C, H, W), H and W >= size + 2 * max_shift."""
    b, _, h, w = big.shape
    u = torch.rand(b, 3, generator=generator)
    angle = 2 * math.pi * u[:, 0]
    step = 1 + u[:, 1] * (max_shift - 1)
    dx = torch.round(step * torch.cos(angle)).long()
    dy = torch.round(step * torch.sin(angle)).long()
    x0 = torch.randint(max_shift, w - size - max_shift + 1, (b,), generator=generator)
    y0 = torch.randint(max_shift, h - size - max_shift + 1, (b,), generator=generator)
    rows = torch.arange(size)
    first = torch.stack([big[i, :, y0[i] + rows][:, :, x0[i] + rows] for i in range(b)])
    second = torch.stack([big[i, :, y0[i] + dy[i] + rows][:, :, x0[i] + dx[i] + rows] for i in range(b)])
    return first, second
