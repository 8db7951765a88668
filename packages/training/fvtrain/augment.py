"""Batched webcam-style augmentation on [B,1,H,W] float tensors in [0,1]."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


# The webcam-like augmentation's default strength, shared by training (fvtrain --aug-*) and the
# teacher views (fvtrain.views), which augment the same way.
SHIFT_PX, SCALE, ROTATE_DEG, BLUR_PROB = 2.5, 0.07, 6.0, 0.3


def augment(x: torch.Tensor, gen: torch.Generator, shift_px: float = SHIFT_PX, scale: float = SCALE,
            rotate_deg: float = ROTATE_DEG, blur_prob: float = BLUR_PROB) -> torch.Tensor:
    b, _, h, w = x.shape
    dev = x.device

    def u(lo, hi, n=b):
        return torch.rand(n, generator=gen, device=dev) * (hi - lo) + lo

    # geometry: flip, scale, rotation, shift (one affine resample)
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    s = u(1 - scale, 1 + scale)
    ang = u(-rotate_deg, rotate_deg) * math.pi / 180
    tx = u(-shift_px, shift_px) * 2 / w
    ty = u(-shift_px, shift_px) * 2 / h
    cos, sin = torch.cos(ang) / s, torch.sin(ang) / s
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin * h / w
    theta[:, 0, 2] = tx
    theta[:, 1, 0] = sin * w / h * flip
    theta[:, 1, 1] = cos
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    # photometric: gamma, contrast around the mean, brightness, sensor noise
    gamma = torch.exp(u(-0.25, 0.25)).view(b, 1, 1, 1)
    x = x.clamp(1e-4, 1).pow(gamma)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.7, 1.3).view(b, 1, 1, 1) + mean + u(-0.12, 0.12).view(b, 1, 1, 1)

    # slight blur on some faces (per-sample gaussian via grouped conv)
    sigma = u(0.4, 1.1)
    do_blur = torch.rand(b, generator=gen) < blur_prob
    if do_blur.any():
        r = torch.arange(-2, 3, dtype=x.dtype)
        k1 = torch.exp(-(r.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
        k1 = k1 / k1.sum(dim=1, keepdim=True)
        ident = torch.zeros(5)
        ident[2] = 1
        k1 = torch.where(do_blur.view(-1, 1), k1, ident.view(1, -1))
        k2 = (k1.view(b, 5, 1) * k1.view(b, 1, 5)).view(b, 1, 5, 5)
        xp = F.pad(x.view(1, b, h, w), (2, 2, 2, 2), mode="replicate")
        x = F.conv2d(xp, k2, groups=b).view(b, 1, h, w)

    noise = u(0.0, 0.02).view(b, 1, 1, 1)
    x = x + torch.randn(x.shape, generator=gen) * noise
    # quantise like a real 8-bit frame
    return (x.clamp(0, 1) * 255).round() / 255
