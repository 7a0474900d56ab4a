"""Camera effects on rendered eye regions, vectorised over a batch whose samples have different frame resolutions.

Each sample stands for an eye of ``eye_width_px`` pixels in the original webcam frame, so its region covers
``s·W`` frame pixels for an ``(H, W)`` render (``s ≤ 1``; larger eyes are treated at render resolution). The
pipeline, all torch ops on the input's device:

1. auto exposure and white balance (scale to a target mean luminance, partial grey-world correction, gains),
2. **resample to the frame's resolution** into a common canvas: trilinear mip-mapping of an area-averaging
   pyramid gives the box filter of the frame's pixels plus defocus (Gaussian σ in frame pixels, folded into the
   mip level); a few taps along the motion vector add motion blur. Each low-resolution frame sits in the
   canvas's top-left corner at a random offset of 0–7 px so its JPEG block grid is not aligned with the eye,
3. sensor noise at frame pixels (shot noise ∝ signal + read noise), then gamma,
4. JPEG: YCbCr, 4:2:0 chroma, 8×8 DCT quantised with the IJG tables at the sample's quality,
5. bilinear resize back to the render size (small eyes become blurry, low-detail images).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..geometry import REGION_MM
from .params import RenderParams

__all__ = ["camera_effects", "frame_scale", "mip_level", "jpeg", "dct_matrix"]

MAX_LEVEL = 5

_LUMA_Q = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
           14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
           49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
_CHROMA_Q = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
             47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32


def frame_scale(params: RenderParams, width: int) -> torch.Tensor:
    """Frame pixels per render pixel ``(n,)``, capped at 1: the region is ``eye_width_px · 50 / eye_width_mm`` px wide."""
    region_px = params.eye_width_px * REGION_MM[1] / params.eye_width_mm
    return (region_px / width).clamp(max=1.0)


def mip_level(params: RenderParams, width: int) -> torch.Tensor:
    """Continuous mip level ``(n,)`` of each sample: log2 of its blur footprint in render pixels, in [0, MAX_LEVEL).

    The footprint combines the frame's pixel (a box of ``1/s`` render px, σ ≈ 0.29/s) and the defocus σ.
    """
    s = frame_scale(params, width)
    return torch.log2((torch.sqrt(1 + (params.defocus / 0.29) ** 2) / s).clamp_min(1)).clamp(max=MAX_LEVEL - 1e-3)


def dct_matrix(n: int = 8, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``(n, n)``: ``coef = D @ block @ D.T``.

    >>> D = dct_matrix()
    >>> bool(torch.allclose(D @ D.T, torch.eye(8), atol=1e-6))
    True
    """
    k = torch.arange(n, dtype=torch.float64).view(-1, 1)
    i = torch.arange(n, dtype=torch.float64).view(1, -1)
    D = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    D[0] /= math.sqrt(2)
    return D.to(device=device, dtype=dtype)


def _quant_tables(quality: torch.Tensor) -> torch.Tensor:
    """IJG quantisation tables ``(n, 3, 8, 8)`` (Y, Cb, Cr) for qualities ``(n,)`` in [1, 100]."""
    q = quality.clamp(1, 100)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q)
    base = torch.tensor([_LUMA_Q, _CHROMA_Q, _CHROMA_Q], dtype=q.dtype, device=q.device).view(1, 3, 8, 8)
    return ((base * scale.view(-1, 1, 1, 1) + 50) / 100).floor().clamp(min=1)


def jpeg(img: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Approximate JPEG round trip in torch (differentiable nowhere it matters, runs on any device).

    img: (n, 3, H, W) RGB in [0, 1] with H, W multiples of 16; quality: (n,) in [1, 100]. Returns (n, 3, H, W).
    """
    n, _, H, W = img.shape
    x = img.clamp(0, 1) * 255
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    ycc = torch.stack([y, cb, cr], 1)
    # 4:2:0 chroma subsampling
    chroma = F.interpolate(F.avg_pool2d(ycc[:, 1:], 2), scale_factor=2, mode="nearest")
    ycc = torch.cat([ycc[:, :1], chroma], 1) - 128
    D = dct_matrix(8, device=img.device, dtype=img.dtype)
    K = torch.kron(D, D)  # (64, 64): vec(D B Dᵀ) = K vec(B) for row-major vec, so one GEMM does every block
    blocks = ycc.view(n, 3, H // 8, 8, W // 8, 8).permute(0, 1, 2, 4, 3, 5).reshape(n, 3, -1, 64)
    coef = blocks @ K.T  # (n, 3, blocks, 64)
    Q = _quant_tables(quality.to(img.dtype)).view(n, 3, 1, 64)
    coef = torch.round(coef / Q) * Q
    ycc = (coef @ K).view(n, 3, H // 8, W // 8, 8, 8).permute(0, 1, 2, 4, 3, 5).reshape(n, 3, H, W) + 128
    y, cb, cr = ycc[:, 0], ycc[:, 1] - 128, ycc[:, 2] - 128
    rgb = torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    return (rgb / 255).clamp(0, 1)


def _pyramid(img: torch.Tensor) -> list[torch.Tensor]:
    levels = [img]
    for _ in range(MAX_LEVEL):
        levels.append(F.avg_pool2d(levels[-1], 2, ceil_mode=True))
    return levels


def camera_effects(linear: torch.Tensor, params: RenderParams, *, enabled: bool = True) -> torch.Tensor:
    """Turn a linear render ``(n, 3, H, W)`` into a camera image ``(n, 3, H, W)`` in [0, 1] (see module doc).

    With ``enabled=False`` only exposure, white balance and gamma are applied (a clean reference image).
    """
    n, _, H, W = linear.shape
    dev, dt = linear.device, linear.dtype
    # 1. auto exposure + partial grey-world white balance + per-camera gains
    mean_rgb = linear.mean((2, 3)).clamp_min(1e-6)  # (n, 3)
    lum = (mean_rgb * torch.tensor([0.2126, 0.7152, 0.0722], device=dev, dtype=dt)).sum(-1, keepdim=True)
    awb = (lum / mean_rgb) ** 0.6
    # metering: mean luminance to the target, but keep the brightest ~1 % (sclera, glints) from clipping much
    # (webcams meter the whole face and roll highlights off; a dark face would otherwise blow the sclera out)
    bright = torch.quantile((linear * awb[:, :, None, None]).amax(1).flatten(1), 0.99, dim=1).clamp_min(1e-6)
    expo = torch.minimum(params.exposure / lum.squeeze(1), 1.1 / bright)
    gain = expo.view(-1, 1) * awb * params.white_balance
    img = linear * gain[:, :, None, None]
    inv_gamma = 1 / params.gamma.view(-1, 1, 1, 1)
    if not enabled:
        return torch.exp(torch.log(img.clamp(1e-30, 1)) * inv_gamma)

    # 2. to frame resolution, in a canvas of multiples of 16 px
    s = frame_scale(params, W)  # (n,)
    Hc = int(math.ceil((math.ceil(H * float(s.max())) + 8) / 16) * 16)
    Wc = int(math.ceil((math.ceil(W * float(s.max())) + 8) / 16) * 16)
    off = params.jpeg_offset.to(dt)
    level = mip_level(params, W)
    lo = level.floor().long()
    frac = (level - lo).view(-1, 1, 1, 1)
    pyr = _pyramid(img)
    jc = torch.arange(Wc, device=dev, dtype=dt).view(1, 1, Wc)
    ic = torch.arange(Hc, device=dev, dtype=dt).view(1, Hc, 1)
    sv = s.view(-1, 1, 1)
    xr = (jc - off[:, 0].view(-1, 1, 1) + 0.5) / sv - 0.5  # render pixel coordinates of the canvas pixels
    yr = (ic - off[:, 1].view(-1, 1, 1) + 0.5) / sv - 0.5
    canvas = torch.empty(n, 3, Hc, Wc, device=dev, dtype=dt)
    moving = (params.motion.abs().sum(-1) > 0).long()
    for key in (lo * 2 + moving).unique().tolist():
        k, taps = key // 2, ((-0.5, 0.0, 0.5) if key % 2 else (0.0,))
        idx = (lo * 2 + moving == key).nonzero().squeeze(1)
        acc = 0.0
        for tap in taps:
            mx = (params.motion[idx, 0] * tap / s[idx]).view(-1, 1, 1)
            my = (params.motion[idx, 1] * tap / s[idx]).view(-1, 1, 1)
            gx = ((xr[idx] + mx + 0.5) / W * 2 - 1).expand(-1, Hc, Wc)
            gy = ((yr[idx] + my + 0.5) / H * 2 - 1).expand(-1, Hc, Wc)
            grid = torch.stack([gx, gy], -1)
            a = F.grid_sample(pyr[k][idx], grid, mode="bilinear", padding_mode="border", align_corners=False)
            b = F.grid_sample(pyr[k + 1][idx], grid, mode="bilinear", padding_mode="border", align_corners=False)
            acc = acc + torch.lerp(a, b, frac[idx])
        canvas[idx] = acc / len(taps)

    # 3. sensor noise (signal-dependent), then gamma
    g = torch.Generator(device=dev).manual_seed(int(params.noise_seed.sum().item() % (2**62)))
    shot, read = params.noise[:, 0].view(-1, 1, 1, 1), params.noise[:, 1].view(-1, 1, 1, 1)
    sigma = torch.sqrt(shot * canvas.clamp_min(0) + read**2)
    canvas = canvas + sigma * torch.randn(canvas.shape, generator=g, device=dev, dtype=dt)
    canvas = torch.exp(torch.log(canvas.clamp(1e-30, 1)) * inv_gamma)

    # 4. JPEG
    canvas = jpeg(canvas, params.jpeg_quality)

    # 5. back to the render size (bilinear)
    x = torch.arange(W, device=dev, dtype=dt).view(1, 1, W)
    y = torch.arange(H, device=dev, dtype=dt).view(1, H, 1)
    xc = off[:, 0].view(-1, 1, 1) + (x + 0.5) * sv - 0.5
    yc = off[:, 1].view(-1, 1, 1) + (y + 0.5) * sv - 0.5
    grid = torch.stack([((xc + 0.5) / Wc * 2 - 1).expand(-1, H, W), ((yc + 0.5) / Hc * 2 - 1).expand(-1, H, W)], -1)
    return F.grid_sample(canvas, grid, mode="bilinear", padding_mode="border", align_corners=False).clamp(0, 1)
