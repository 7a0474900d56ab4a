"""Pure tensor functions of the saliency-based sampler (Recasens et al., *Learning to Zoom*, ECCV 2018, §3).

Conventions (those of the authors' released code unless said otherwise):

- ``saliency (B, 1, g, g)``: non-negative attraction mass per grid cell; only ratios matter.
- The saliency field is padded by ``g - 1`` cells per side (``"replicate"`` as in the paper, ``"reflect"`` for the
  FOVEA "anti-crop" variant, Thavamani et al. ICCV 2021). Padded cell ``(i, j)`` sits at image coordinates
  ``x = (j - (g-1)) / (g-1)``, ``y = (i - (g-1)) / (g-1)`` with the image spanning ``[0, 1]``.
- The attraction kernel is a ``(2g-1)``-wide Gaussian with peak 1 and a FWHM of ``fwhm`` cells (eq. 3–4: each output
  cell is the kernel- and saliency-weighted mean of the coordinates around it).
- ``grid (B, H, W, 2)`` is in ``grid_sample`` units ``[-1, 1]``; channel 0 is x (width), channel 1 is y (height).
- The g×g grid is resized to ``(H, W)`` bilinearly with ``align_corners=False``; the image is then sampled with
  ``align_corners=True`` — the behaviour of the paper-era framework (PyTorch < 0.4.1), which the released code
  silently loses on a modern PyTorch.

Regions: a ``region_to_frame (N, 3, 3)`` homography maps region coordinates ``(u, v, 1)``, ``u, v ∈ [-1, 1]``, to
frame pixels (pixel centres at integers). Composing a region grid with it lets the sampler read the original frame
once, with no intermediate crop.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..errors import InputValueError, ShapeError

__all__ = [
    "PADDING_MODES",
    "fwhm_to_sigma",
    "gaussian_kernel1d",
    "attraction",
    "saliency_grid",
    "uniform_grid",
    "warp",
    "grid_magnification",
    "magnification_at",
    "boxes_to_regions",
    "quads_to_regions",
    "region_grid",
    "sample_regions",
    "patch_to_frame",
    "frame_to_patch",
    "random_degrade",
]

PADDING_MODES = ("replicate", "reflect")


def _size2(size: Sequence[int] | int, name: str) -> tuple[int, int]:
    if isinstance(size, int):
        size = (size, size)
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 1:
        raise InputValueError(f"{name} must be two positive integers (H, W), got {size}")
    return size  # type: ignore[return-value]


def _check_saliency(saliency: torch.Tensor) -> int:
    if saliency.dim() != 4 or saliency.shape[1] != 1 or saliency.shape[2] != saliency.shape[3]:
        raise ShapeError("saliency", "(B, 1, g, g)", saliency.shape)
    g = saliency.shape[-1]
    if g < 2:
        raise ShapeError("saliency", "(B, 1, g, g) with g >= 2", saliency.shape)
    if not saliency.is_floating_point():
        raise InputValueError(f"saliency must be a floating tensor, got {saliency.dtype}")
    # One host sync per call (this runs every frame; on a GPU each bool() waits for the device): the reasons are
    # told apart only once the combined check has failed.
    if not torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export() and not bool(
        (torch.isfinite(saliency) & (saliency >= 0)).all()
    ):
        if not bool(torch.isfinite(saliency).all()):
            raise InputValueError("saliency contains NaN or inf")
        raise InputValueError(
            f"saliency must be non-negative (min {saliency.min().item():.3g}); "
            "pass softmax probabilities or exp(logits), not raw logits"
        )
    return g


def fwhm_to_sigma(fwhm: float) -> float:
    """Gaussian σ for a full width at half maximum: ``fwhm / (2 sqrt(2 ln 2))``.

    >>> round(fwhm_to_sigma(13.0), 4)
    5.5206
    """
    return fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def gaussian_kernel1d(g: int, fwhm: float, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """The 1-D attraction kernel ``(2g - 1,)`` with peak 1 at its centre (the 2-D kernel is its outer product).

    >>> k = gaussian_kernel1d(31, 13.0)
    >>> k.shape, float(k[30])
    (torch.Size([61]), 1.0)
    """
    r = torch.arange(-(g - 1), g, device=device, dtype=dtype)
    sigma = fwhm_to_sigma(fwhm)
    return torch.exp(-0.5 * (r / sigma) ** 2)


def _band(kernel: torch.Tensor, g: int) -> torch.Tensor:
    """``(g, 3g-2)`` matrix whose row i holds ``kernel (2g-1,)`` at columns i … i+2g-2 (a valid correlation)."""
    n = 3 * g - 2
    cols = torch.arange(n, device=kernel.device).view(1, n) - torch.arange(g, device=kernel.device).view(g, 1)
    inside = (cols >= 0) & (cols < kernel.shape[0])
    return torch.where(inside, kernel[cols.clamp(0, kernel.shape[0] - 1)], kernel.new_zeros(()))


@functools.lru_cache(maxsize=32)
def _kernels(g: int, fwhm: float, device: torch.device, dtype: torch.dtype):
    """Fixed tensors of the attraction for one (g, fwhm, device, dtype), built once (vectorised, no grad).

    Σ S·k·x / Σ S·k = x_centre + Σ S·k·(x − x_centre) / Σ S·k: the offset form is the same formula, but its
    numerator is small, so float32 rounding stays ~1e-7 instead of the ~1e-6 of summing coordinates up to 2.
    Returns ``k (2g-1,)``, ``kr = k · offset (2g-1,)``, their band matrices ``(g, 3g-2)`` and the cell centres ``(g,)``.
    """
    p = g - 1
    # Built outside inference mode so a cache filled under torch.inference_mode() still serves training.
    with torch.inference_mode(False), torch.no_grad():
        k = gaussian_kernel1d(g, fwhm, device=device, dtype=dtype)
        kr = k * torch.arange(-p, p + 1, device=device, dtype=dtype) / p
        centre = torch.arange(g, device=device, dtype=dtype) / p
        return k, kr, _band(k, g), _band(kr, g), centre


def attraction(
    saliency: torch.Tensor, *, fwhm: float = 13.0, padding_mode: str = "replicate", separable: bool = True
) -> torch.Tensor:
    """Saliency-weighted mean coordinates ``(B, 2, g, g)`` in image units (eq. 3–4 of the paper).

    ``separable=True`` uses two 1-D passes of the Gaussian; ``False`` the dense ``(2g-1)²`` correlation. Both give
    the same numbers up to rounding.

    Args:
        saliency: ``(B, 1, g, g)``, non-negative, positive total mass per sample.
    Returns:
        ``(B, 2, g, g)``: channel 0 is u (x), channel 1 is v (y), before the ``2u - 1`` rescale and clamp.
    """
    g = _check_saliency(saliency)
    if padding_mode not in PADDING_MODES:
        raise InputValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    p = g - 1
    k, kr, Mk, Mr, centre = _kernels(g, float(fwhm), saliency.device, saliency.dtype)
    s = F.pad(saliency, (p, p, p, p), mode=padding_mode)  # (B, 1, 3g-2, 3g-2)
    if separable:
        # The 1-D correlations as products with banded (Toeplitz) matrices: rows of Mk hold k, rows of Mr hold k·r
        # at the cell's offset. A vertical then a horizontal pass; on a 91×91 field two tiny matmuls.
        tv = torch.cat([Mk, Mr], 0) @ s  # (B, 1, 2g, 3g-2)
        t0, t1 = tv[..., :g, :], tv[..., g:, :]
        den = t0 @ Mk.T  # (B, 1, g, g)
        num_x = t0 @ Mr.T
        num_y = t1 @ Mk.T
    else:
        kernels = torch.stack([k[:, None] * k[None, :], k[:, None] * kr[None, :], kr[:, None] * k[None, :]])
        out = F.conv2d(s, kernels.unsqueeze(1))  # (B, 3, g, g): den, num_x, num_y
        den, num_x, num_y = out[:, :1], out[:, 1:2], out[:, 2:]
    u = centre.view(1, 1, 1, g) + num_x / den
    v = centre.view(1, 1, g, 1) + num_y / den
    return torch.cat([u, v], 1)  # (B, 2, g, g)


def saliency_grid(
    saliency: torch.Tensor,
    out_size: Sequence[int] | int,
    *,
    fwhm: float = 13.0,
    padding_mode: str = "replicate",
    separable: bool = True,
) -> torch.Tensor:
    """Sampling grid ``(B, H, W, 2)`` in ``[-1, 1]`` from a saliency map (paper §3, steps 2–5).

    Args:
        saliency: ``(B, 1, g, g)`` non-negative; need not sum to 1 (only ratios matter).
        out_size: ``(H, W)`` of the patch to sample; non-square is fine.
        fwhm: full width at half maximum of the attraction Gaussian, in grid cells (13 in the paper's code).
        padding_mode: ``"replicate"`` (paper) or ``"reflect"`` (FOVEA anti-crop).
        separable: 1-D passes (fast) or the dense 2-D correlation (reference).

    >>> grid = saliency_grid(torch.ones(1, 1, 31, 31), (36, 60))
    >>> grid.shape, round(float(grid[0, 0, 0, 0]), 4), round(float(grid[0, -1, -1, 1]), 4)
    (torch.Size([1, 36, 60, 2]), -1.0, 1.0)
    """
    H, W = _size2(out_size, "out_size")
    uv = attraction(saliency, fwhm=fwhm, padding_mode=padding_mode, separable=separable)
    grid = (2.0 * uv - 1.0).clamp(-1.0, 1.0)  # (B, 2, g, g)
    grid = F.interpolate(grid, size=(H, W), mode="bilinear", align_corners=False)  # (B, 2, H, W)
    # Interpolating values in [-1, 1] stays inside mathematically; the second clamp removes float rounding (1 ulp).
    return grid.clamp(-1.0, 1.0).permute(0, 2, 3, 1)  # (B, H, W, 2)


def uniform_grid(
    out_size: Sequence[int] | int, batch: int = 1, *, device=None, dtype=torch.float32
) -> torch.Tensor:
    """Identity grid ``(B, H, W, 2)``: ``linspace(-1, 1)`` along each axis (pixel centres on the region's corners)."""
    H, W = _size2(out_size, "out_size")
    ys = torch.linspace(-1.0, 1.0, H, device=device, dtype=dtype)
    xs = torch.linspace(-1.0, 1.0, W, device=device, dtype=dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], -1).unsqueeze(0).expand(batch, H, W, 2)


def grid_magnification(grid: torch.Tensor) -> torch.Tensor:
    """Local linear magnification of a sampling grid ``(B, H, W, 2)`` (region units) → ``(B, H, W)``.

    The square root of the area ratio between a cell of :func:`uniform_grid` of the same size and the grid's
    local cell (Jacobian determinant by central differences): 1 for uniform downsampling of the whole region, 2 for
    a centre crop of half the region, > 1 where the sampler zooms in, < 1 where it squeezes.

    >>> g = uniform_grid((6, 10), 2)
    >>> grid_magnification(g).shape, round(float(grid_magnification(g).mean()), 3)
    (torch.Size([2, 6, 10]), 1.0)
    >>> round(float(grid_magnification(g * 0.5).mean()), 3)
    2.0
    """
    if grid.dim() != 4 or grid.shape[-1] != 2 or min(grid.shape[1:3]) < 2:
        raise ShapeError("grid", "(B, H>=2, W>=2, 2)", grid.shape)
    H, W = grid.shape[1:3]
    g = grid.float()
    dgx_dj, dgy_dj = (torch.gradient(g[..., c], dim=2)[0] for c in (0, 1))  # along the patch width
    dgx_di, dgy_di = (torch.gradient(g[..., c], dim=1)[0] for c in (0, 1))  # along the patch height
    det = (dgx_dj * dgy_di - dgx_di * dgy_dj).abs()
    ref = (2.0 / (W - 1)) * (2.0 / (H - 1))
    return (ref / det.clamp_min(ref * 1e-6)).sqrt()


def magnification_at(grid: torch.Tensor, points: torch.Tensor, mag: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`grid_magnification` at the patch pixel that reads closest to ``points (B, 2)`` (region units) → ``(B,)``.

    E.g. how much a sampler magnifies the pupil (``points`` = the renderer's ``pupil_uv``). ``mag (B, H, W)``: the
    grid's magnification if already computed.

    >>> magnification_at(uniform_grid((6, 10), 1) * 0.5, torch.tensor([[0.1, -0.2]])).tolist()
    [2.0]
    """
    if points.dim() != 2 or points.shape != (grid.shape[0], 2):
        raise ShapeError("points", f"({grid.shape[0]}, 2)", points.shape)
    mag = (grid_magnification(grid) if mag is None else mag).flatten(1)  # (B, H*W)
    d = (grid.float() - points.float()[:, None, None, :]).square().sum(-1).flatten(1)
    return mag.gather(1, d.argmin(1, keepdim=True))[:, 0]


def warp(image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample ``image (B, C, Hi, Wi)`` at ``grid (B, H, W, 2)`` → ``(B, C, H, W)`` (paper §3, step 6).

    Bilinear, zero padding, ``align_corners=True`` (grid value −1 is the centre of the first pixel).
    """
    if image.dim() != 4:
        raise ShapeError("image", "(B, C, H, W)", image.shape)
    if grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != image.shape[0]:
        raise ShapeError("grid", f"({image.shape[0]}, H, W, 2)", grid.shape)
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode="zeros", align_corners=True)


def _check_regions(region_to_frame: torch.Tensor) -> None:
    if region_to_frame.dim() != 3 or region_to_frame.shape[1:] != (3, 3):
        raise ShapeError("region_to_frame", "(N, 3, 3)", region_to_frame.shape)


def boxes_to_regions(boxes: torch.Tensor) -> torch.Tensor:
    """Axis-aligned boxes ``(N, 4)`` as ``x0, y0, x1, y1`` (pixel centres of the corner pixels) → ``(N, 3, 3)``.

    >>> boxes_to_regions(torch.tensor([[10., 20., 50., 40.]]))[0].tolist()
    [[20.0, 0.0, 30.0], [0.0, 10.0, 30.0], [0.0, 0.0, 1.0]]
    """
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ShapeError("boxes", "(N, 4) as x0, y0, x1, y1", boxes.shape)
    x0, y0, x1, y1 = boxes.unbind(1)
    if bool(((x1 <= x0) | (y1 <= y0)).any()):
        raise InputValueError("empty region: every box needs x1 > x0 and y1 > y0 (x0, y0, x1, y1 order)")
    z, o = torch.zeros_like(x0), torch.ones_like(x0)
    rows = [
        torch.stack([(x1 - x0) / 2, z, (x0 + x1) / 2], -1),
        torch.stack([z, (y1 - y0) / 2, (y0 + y1) / 2], -1),
        torch.stack([z, z, o], -1),
    ]
    return torch.stack(rows, 1)  # (N, 3, 3)


def quads_to_regions(quads: torch.Tensor) -> torch.Tensor:
    """Oriented quadrilaterals ``(N, 4, 2)`` (corners top-left, top-right, bottom-right, bottom-left, in frame
    pixels) → the homographies ``(N, 3, 3)`` mapping region corners ``(-1,-1), (1,-1), (1,1), (-1,1)`` onto them."""
    if quads.dim() != 3 or quads.shape[1:] != (4, 2):
        raise ShapeError("quads", "(N, 4, 2) corners TL, TR, BR, BL", quads.shape)
    dt = quads.dtype if quads.dtype == torch.float64 else torch.float32
    q = quads.to(dt)
    src = torch.tensor([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=dt, device=q.device)
    # Shoelace area: a degenerate (collinear or self-crossing) quad has no homography.
    x, y = q[..., 0], q[..., 1]
    area = 0.5 * (x * y.roll(-1, 1) - x.roll(-1, 1) * y).sum(1)
    if bool((area.abs() < 1e-6).any()):
        raise InputValueError("empty region: a quadrilateral has zero area; check its four corners")
    N = q.shape[0]
    A = q.new_zeros(N, 8, 8)
    b = q.new_zeros(N, 8)
    for i in range(4):  # direct linear transform, h33 = 1
        u, v = src[i]
        X, Y = q[:, i, 0], q[:, i, 1]
        A[:, 2 * i, 0], A[:, 2 * i, 1], A[:, 2 * i, 2] = u, v, 1
        A[:, 2 * i, 6], A[:, 2 * i, 7] = -u * X, -v * X
        A[:, 2 * i + 1, 3], A[:, 2 * i + 1, 4], A[:, 2 * i + 1, 5] = u, v, 1
        A[:, 2 * i + 1, 6], A[:, 2 * i + 1, 7] = -u * Y, -v * Y
        b[:, 2 * i], b[:, 2 * i + 1] = X, Y
    h = torch.linalg.solve(A, b)  # (N, 8)
    return torch.cat([h, h.new_ones(N, 1)], 1).view(N, 3, 3).to(quads.dtype if quads.is_floating_point() else dt)


def _apply_homography(H: torch.Tensor, pts: torch.Tensor) -> torch.Tensor:
    """``H (N, 3, 3)``, ``pts (N, ..., 2)`` → ``(N, ..., 2)``."""
    N = pts.shape[0]
    flat = pts.reshape(N, -1, 2)
    # (u, v) ↦ H[:, :, :2] (u, v) + H[:, :, 2] in one fused batched multiply-add (this runs per frame: few ops).
    hom = torch.baddbmm(H[:, None, :, 2], flat, H[:, :, :2].transpose(1, 2))  # (N, K, 3)
    w = hom[..., 2:]
    if not torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export() and bool((w <= 0).any()):
        raise InputValueError("a region maps behind the camera (homogeneous w <= 0); check region_to_frame")
    return (hom[..., :2] / w).reshape(pts.shape)


def region_grid(grid: torch.Tensor, region_to_frame: torch.Tensor, frame_size: Sequence[int]) -> torch.Tensor:
    """Compose a grid in region units with the regions' maps: ``(N, H, W, 2)`` → frame ``grid_sample`` units.

    Args:
        grid: ``(N, H, W, 2)`` in region coordinates ``[-1, 1]``.
        region_to_frame: ``(N, 3, 3)`` region → frame pixels.
        frame_size: ``(Hf, Wf)`` of the frame the grid will sample (``align_corners=True`` units).
    """
    _check_regions(region_to_frame)
    if grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != region_to_frame.shape[0]:
        raise ShapeError("grid", f"({region_to_frame.shape[0]}, H, W, 2)", grid.shape)
    Hf, Wf = _size2(frame_size, "frame_size")
    # Fold the pixel → grid_sample rescale (align_corners=True: x ↦ 2x/(Wf−1) − 1) into the homography.
    sx, sy = 2.0 / max(Wf - 1, 1), 2.0 / max(Hf - 1, 1)
    S = torch.tensor([[sx, 0.0, -1.0], [0.0, sy, -1.0], [0.0, 0.0, 1.0]], dtype=grid.dtype, device=grid.device)
    return _apply_homography(S @ region_to_frame.to(grid.dtype), grid)


def sample_regions(
    frame: torch.Tensor,
    region_to_frame: torch.Tensor,
    out_size: Sequence[int] | int,
    *,
    batch_index: torch.Tensor | None = None,
    grid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Read ``N`` regions of full-resolution frames into patches ``(N, C, H, W)`` in one pass per frame.

    Args:
        frame: ``(B, C, Hf, Wf)``.
        region_to_frame: ``(N, 3, 3)``.
        out_size: ``(H, W)`` of the patches.
        batch_index: ``(N,)`` which frame each region belongs to; default: region i of frame i when ``B == N``,
            else every region of frame 0 (``B == 1``).
        grid: ``(N, H, W, 2)`` in region units (e.g. from :func:`saliency_grid`); ``None`` samples uniformly
            (a plain bilinear crop-and-resize of the region).
    """
    if frame.dim() != 4:
        raise ShapeError("frame", "(B, C, H, W)", frame.shape)
    _check_regions(region_to_frame)
    N = region_to_frame.shape[0]
    if N == 0:
        raise InputValueError("no regions given: region_to_frame has shape (0, 3, 3)")
    H, W = _size2(out_size, "out_size")
    if grid is None:
        grid = uniform_grid((H, W), N, device=frame.device, dtype=frame.dtype)
    elif grid.shape[1:3] != (H, W):
        raise ShapeError("grid", f"({N}, {H}, {W}, 2) to match out_size", grid.shape)
    g = region_grid(grid, region_to_frame, frame.shape[-2:])  # (N, H, W, 2)
    B, C = frame.shape[:2]
    if batch_index is None:
        if B == N:
            return warp(frame, g)
        if B != 1:
            raise ShapeError("frame", f"(1 or {N}, C, H, W) for {N} regions, or pass batch_index", frame.shape)
    elif batch_index.shape != (N,):
        raise ShapeError("batch_index", f"({N},)", batch_index.shape)
    elif B == 1 and not torch.jit.is_tracing() and bool((batch_index != 0).any()):
        raise InputValueError(f"batch_index must be 0 for a single frame, got {batch_index.tolist()}")
    if B == 1:  # every region reads frame 0 (no index tensor to build or check when none was given)
        return warp(frame, g.reshape(1, -1, W, 2)).view(C, N, H, W).transpose(0, 1)
    # All regions of one frame are sampled in one grid_sample call by stacking their grids along the height.
    out = frame.new_empty(N, C, H, W)
    for b in torch.unique(batch_index).tolist():
        if not 0 <= b < B:
            raise InputValueError(f"batch_index {b} is out of range for {B} frames")
        idx = (batch_index == b).nonzero().squeeze(1)
        gb = g[idx].reshape(1, -1, W, 2)  # (1, n*H, W, 2)
        pb = warp(frame[b : b + 1], gb)  # (1, C, n*H, W)
        out[idx] = pb.view(C, -1, H, W).transpose(0, 1)
    return out


def _lookup(grid: torch.Tensor, pts: torch.Tensor) -> torch.Tensor:
    """Bilinear value of ``grid (N, H, W, 2)`` at patch pixel positions ``pts (N, K, 2)`` → ``(N, K, 2)``."""
    N, H, W, _ = grid.shape
    scale = pts.new_tensor([2.0 / max(W - 1, 1), 2.0 / max(H - 1, 1)])
    q = (pts * scale - 1.0).unsqueeze(1)  # (N, 1, K, 2)
    val = F.grid_sample(grid.permute(0, 3, 1, 2), q.to(grid.dtype), mode="bilinear", padding_mode="border", align_corners=True)
    return val[:, :, 0].transpose(1, 2)  # (N, K, 2)


def patch_to_frame(points: torch.Tensor, grid: torch.Tensor, region_to_frame: torch.Tensor) -> torch.Tensor:
    """Patch pixel positions ``(N, K, 2)`` (x, y; pixel centres at integers) → frame pixels ``(N, K, 2)``."""
    _check_regions(region_to_frame)
    if points.dim() != 3 or points.shape[-1] != 2:
        raise ShapeError("points", "(N, K, 2)", points.shape)
    uv = _lookup(grid, points.to(grid.dtype))
    return _apply_homography(region_to_frame.to(grid.dtype), uv)


def frame_to_patch(
    points: torch.Tensor, grid: torch.Tensor, region_to_frame: torch.Tensor, *, iters: int = 12, tol: float = 1e-3
) -> torch.Tensor:
    """Frame pixels ``(N, K, 2)`` → patch pixel positions ``(N, K, 2)``, inverting the monotone grid.

    The inverse homography gives region coordinates; the nearest grid node starts a Newton iteration on the
    bilinear grid. Points the patch does not see (outside the grid's coverage) come back as NaN.
    """
    _check_regions(region_to_frame)
    if points.dim() != 3 or points.shape[-1] != 2:
        raise ShapeError("points", "(N, K, 2)", points.shape)
    dt = grid.dtype
    target = _apply_homography(torch.linalg.inv(region_to_frame.to(dt)), points.to(dt))  # (N, K, 2) region units
    N, H, W, _ = grid.shape
    flat = grid.reshape(N, -1, 2)  # (N, H*W, 2)
    nearest = torch.cdist(target, flat).argmin(-1)  # (N, K)
    p = torch.stack([nearest % W, nearest // W], -1).to(dt)  # (N, K, 2) patch pixels
    hi = p.new_tensor([W - 1, H - 1])
    eps = 0.25
    for _ in range(iters):
        f = _lookup(grid, p) - target
        jx = (_lookup(grid, p + p.new_tensor([eps, 0.0])) - _lookup(grid, p - p.new_tensor([eps, 0.0]))) / (2 * eps)
        jy = (_lookup(grid, p + p.new_tensor([0.0, eps])) - _lookup(grid, p - p.new_tensor([0.0, eps]))) / (2 * eps)
        J = torch.stack([jx, jy], -1)  # (N, K, 2, 2): d(u, v) / d(x, y)
        det = J[..., 0, 0] * J[..., 1, 1] - J[..., 0, 1] * J[..., 1, 0]
        det = torch.where(det.abs() < 1e-12, torch.full_like(det, 1e-12), det)
        dx = (J[..., 1, 1] * f[..., 0] - J[..., 0, 1] * f[..., 1]) / det
        dy = (-J[..., 1, 0] * f[..., 0] + J[..., 0, 0] * f[..., 1]) / det
        p = torch.minimum(torch.maximum(p - torch.stack([dx, dy], -1), torch.zeros_like(hi)), hi)
    # Residual in region units, compared with the size of one patch pixel there.
    resid = (_lookup(grid, p) - target).norm(dim=-1)
    cell = 2.0 / max(min(H, W) - 1, 1)
    bad = resid > tol * cell * 10
    return torch.where(bad.unsqueeze(-1), torch.full_like(p, float("nan")), p)


def random_degrade(
    patch: torch.Tensor, *, min_factor: int = 2, max_factor: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Training trick of the released code: average-pool the whole batch to a random lower resolution (factor
    in ``[min_factor, max_factor]``) and resize back bilinearly, so only a sampler that zooms keeps detail."""
    if patch.dim() != 4:
        raise ShapeError("patch", "(B, C, H, W)", patch.shape)
    H, W = patch.shape[-2:]
    f = int(torch.randint(min_factor, max_factor + 1, (1,), generator=generator).item())
    small = F.adaptive_avg_pool2d(patch, (max(1, H // f), max(1, W // f)))
    return F.interpolate(small, size=(H, W), mode="bilinear", align_corners=False)
