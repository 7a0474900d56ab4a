"""Camera effects on rendered eye regions, vectorised over a batch whose samples have different frame resolutions.

Each sample stands for an eye of ``eye_width_px`` pixels in the original webcam frame, so its region covers
``s·W`` frame pixels for an ``(H, W)`` render (``s ≤ 1``; larger eyes are treated at render resolution). The
pipeline, all torch ops on the input's device:

1. auto exposure and white balance (scale to a target mean luminance without clipping the sclera; remove part
   of the illuminant's colour; random channel gains),
2. **resample to the frame's resolution** into a common canvas: trilinear mip-mapping of an area-averaging
   pyramid gives the box filter of the frame's pixels plus defocus (Gaussian σ in frame pixels, folded into the
   mip level); a few taps along the motion vector add motion blur. Each low-resolution frame sits in the
   canvas's top-left corner at a random offset of 0–7 px so its JPEG block grid is not aligned with the eye,
3. sensor noise at frame pixels (shot noise ∝ signal + read noise), gamma, the camera's sharpening,
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

    The footprint combines the frame's pixel (a box of ``1/s`` render px, σ ≈ 0.29/s) and the defocus σ. A bias
    of −0.5 level compensates the extra blur of trilinear filtering (box of the level plus the bilinear tent:
    σ ≈ 0.41·2^ℓ instead of the area average's 0.29·2^ℓ).
    """
    s = frame_scale(params, width)
    foot = torch.sqrt(1 + (params.defocus / 0.29) ** 2) / s
    return (torch.log2(foot.clamp_min(1)) - 0.5).clamp(0, MAX_LEVEL - 1e-3)


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


def _block_dct_quant(plane: torch.Tensor, Q: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Quantise the 8×8-block DCT of ``plane (n, c, H, W)`` with tables ``Q (n, c, 64)``; returns the plane."""
    n, c, H, W = plane.shape
    blocks = plane.view(n, c, H // 8, 8, W // 8, 8).permute(0, 1, 2, 4, 3, 5).reshape(n, c, -1, 64)
    coef = blocks @ K.T  # (n, c, blocks, 64)
    Qb = Q.unsqueeze(2)
    coef = torch.round(coef / Qb) * Qb
    return (coef @ K).view(n, c, H // 8, W // 8, 8, 8).permute(0, 1, 2, 4, 3, 5).reshape(n, c, H, W)


def jpeg(img: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Approximate JPEG round trip in torch (runs on any device): YCbCr, 4:2:0 chroma, 8×8 DCT quantisation.

    img: (n, 3, H, W) RGB in [0, 1] with H, W multiples of 16; quality: (n,) in [1, 100] (IJG scale).
    Returns (n, 3, H, W). Luma blocks cover 8×8 px, chroma blocks 16×16 px, as in a baseline JPEG.
    """
    n, _, H, W = img.shape
    x = img.clamp(0, 1) * 255
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    y = 0.299 * r + 0.587 * g + 0.114 * b - 128
    cbcr = F.avg_pool2d(torch.cat([-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b], 1), 2)
    D = dct_matrix(8, device=img.device, dtype=img.dtype)
    K = torch.kron(D, D)  # (64, 64): vec(D B Dᵀ) = K vec(B) for row-major vec, so one GEMM does every block
    Q = _quant_tables(quality.to(img.dtype)).view(n, 3, 64)
    y = _block_dct_quant(y, Q[:, :1], K) + 128
    cbcr = F.interpolate(_block_dct_quant(cbcr, Q[:, 1:], K), scale_factor=2, mode="bilinear", align_corners=False)
    cb, cr = cbcr[:, 0:1], cbcr[:, 1:2]
    rgb = torch.cat([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    return (rgb / 255).clamp(0, 1)


def _pyramid(img: torch.Tensor, base: int, top: int) -> dict[int, torch.Tensor]:
    """Area-averaging mip levels ``base … top`` of ``img``, which is level ``base`` itself."""
    levels = {base: img}
    for k in range(base + 1, top + 1):
        levels[k] = F.avg_pool2d(levels[k - 1], 2, ceil_mode=True)
    return levels


def camera_effects(linear: torch.Tensor, params: RenderParams, *, out_size: tuple[int, int] | None = None,
                   base_level: int = 0, enabled: bool = True) -> torch.Tensor:
    """Turn a linear render into a camera image ``(n, 3, H, W)`` in [0, 1] (see the module doc).

    linear: (n, 3, h, w), the scene rendered at ``out_size / 2**base_level`` (a caller may shade samples whose
    mip level is >= k at 1/2^k resolution; it then stands for level k of the pyramid). ``out_size`` defaults to
    the input size. With ``enabled=False`` only exposure, white balance and gamma are applied (a clean image).
    """
    n, _, h, w = linear.shape
    H, W = out_size if out_size is not None else (h, w)
    dev, dt = linear.device, linear.dtype
    # 1. auto exposure + white balance + per-camera gains
    mean_rgb = linear.mean((2, 3)).clamp_min(1e-6)  # (n, 3)
    # white balance towards the illuminant (light + ambient), not grey-world: a face-filled frame keeps its colour
    illum = params.light_color + params.ambient_color  # (n, 3)
    illum_lum = (illum * torch.tensor([0.2126, 0.7152, 0.0722], device=dev, dtype=dt)).sum(-1, keepdim=True)
    awb = (illum_lum / illum.clamp_min(1e-6)) ** params.awb_strength.view(-1, 1)
    # metering: mean luminance to the target, but keep the brightest 4×4-px block (sclera; not a 1-px glint)
    # from clipping much: webcams meter the whole face and roll highlights off, and a dark face would otherwise
    # blow the sclera out.
    block = max(1, 4 >> base_level)
    bright = F.avg_pool2d((linear * awb[:, :, None, None]).amax(1, keepdim=True), block, ceil_mode=True)
    bright = bright.amax((1, 2, 3)).clamp_min(1e-6)
    lum_wb = (mean_rgb * awb * torch.tensor([0.2126, 0.7152, 0.0722], device=dev, dtype=dt)).sum(-1)
    expo = torch.minimum(params.exposure / lum_wb.clamp_min(1e-6), 1.1 / bright)
    gain = expo.view(-1, 1) * awb * params.white_balance
    img = linear * gain[:, :, None, None]
    inv_gamma = 1 / params.gamma.view(-1, 1, 1, 1)
    if not enabled:
        if (h, w) != (H, W):
            img = F.interpolate(img, size=(H, W), mode="bilinear", align_corners=True)
        return torch.exp(torch.log(img.clamp(1e-30, 1)) * inv_gamma)

    # 2. to frame resolution, in a canvas of multiples of 16 px (trilinear mip-mapping, motion-blur taps)
    s = frame_scale(params, W)  # (n,)
    Hc = int(math.ceil((math.ceil(H * float(s.max())) + 8) / 16) * 16)
    Wc = int(math.ceil((math.ceil(W * float(s.max())) + 8) / 16) * 16)
    off = params.jpeg_offset.to(dt)
    level = mip_level(params, W).clamp_min(base_level)
    lo = level.floor().long()
    frac = (level - lo).view(-1, 1, 1, 1)
    pyr = _pyramid(img, base_level, int(lo.max()) + 1)
    jc = torch.arange(Wc, device=dev, dtype=dt).view(1, 1, Wc)
    ic = torch.arange(Hc, device=dev, dtype=dt).view(1, Hc, 1)
    sv = s.view(-1, 1, 1)
    xr = (jc - off[:, 0].view(-1, 1, 1) + 0.5) / sv - 0.5  # full-resolution render pixel of each canvas pixel
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
            # normalised (align_corners=False) coordinates are the same at every pyramid level
            gx = ((xr[idx] + mx + 0.5) / W * 2 - 1).expand(-1, Hc, Wc)
            gy = ((yr[idx] + my + 0.5) / H * 2 - 1).expand(-1, Hc, Wc)
            grid = torch.stack([gx, gy], -1)
            a = F.grid_sample(pyr[k][idx], grid, mode="bilinear", padding_mode="border", align_corners=False)
            b = F.grid_sample(pyr[k + 1][idx], grid, mode="bilinear", padding_mode="border", align_corners=False)
            acc = acc + torch.lerp(a, b, frac[idx])
        canvas[idx] = acc / len(taps)

    # 3. sensor noise (signal-dependent; uniform with the Gaussian's variance, cheaper to draw), then gamma
    g = torch.Generator(device=dev).manual_seed(int(params.noise_seed.sum().item() % (2**62)))
    shot, read = params.noise[:, 0].view(-1, 1, 1, 1), params.noise[:, 1].view(-1, 1, 1, 1)
    sigma = torch.sqrt(shot * canvas.clamp_min(0) + read**2)
    canvas = canvas + sigma * ((torch.rand(canvas.shape, generator=g, device=dev, dtype=dt) - 0.5) * math.sqrt(12))
    canvas = torch.exp(torch.log(canvas.clamp(1e-30, 1)) * inv_gamma)
    # the camera's sharpening (unsharp mask with a 3×3 binomial blur, at frame pixels, before compression)
    k = torch.tensor([1.0, 2.0, 1.0], device=dev, dtype=dt)
    k = (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3)
    blur = F.conv2d(F.pad(canvas, (1, 1, 1, 1), mode="replicate"), k, groups=3)
    canvas = (canvas + params.sharpen.view(-1, 1, 1, 1) * (canvas - blur)).clamp(0, 1)

    # 4. JPEG
    canvas = jpeg(canvas, params.jpeg_quality)

    # 5. back to the render size (bilinear)
    x = torch.arange(W, device=dev, dtype=dt).view(1, 1, W)
    y = torch.arange(H, device=dev, dtype=dt).view(1, H, 1)
    xc = off[:, 0].view(-1, 1, 1) + (x + 0.5) * sv - 0.5
    yc = off[:, 1].view(-1, 1, 1) + (y + 0.5) * sv - 0.5
    grid = torch.stack([((xc + 0.5) / Wc * 2 - 1).expand(-1, H, W), ((yc + 0.5) / Hc * 2 - 1).expand(-1, H, W)], -1)
    return F.grid_sample(canvas, grid, mode="bilinear", padding_mode="border", align_corners=False).clamp(0, 1)
