"""``SaliencySampler``: the Learning-to-Zoom layer as an ``nn.Module`` (settings + fixed buffers, math in
:mod:`gazezoom.sampler.functional`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import InputValueError, ShapeError
from . import functional as Fs

__all__ = ["SamplerOutput", "SaliencySampler", "default_saliency_net"]


class SamplerOutput(NamedTuple):
    """``patch (B, C, H, W)``, ``grid (B, H, W, 2)`` in input (or region) units, ``saliency (B, 1, g, g)``."""

    patch: torch.Tensor
    grid: torch.Tensor
    saliency: torch.Tensor


def default_saliency_net(in_channels: int = 3, width: int = 16) -> nn.Module:
    """A small fully-convolutional saliency network ``(B, C, h, w) → (B, 1, h/2, w/2)`` logits.

    The last layer starts at zero, so an untrained sampler has flat saliency and samples uniformly.
    """
    last = nn.Conv2d(width, 1, 1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, stride=2, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, padding=2, dilation=2),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        last,
    )


class SaliencySampler(nn.Module):
    """Saliency-based sampler (Recasens et al., ECCV 2018, §3).

    The saliency network sees the input adaptive-average-pooled to ``low_size``; its logits are resized bilinearly
    to ``grid_size × grid_size`` and turned into saliency with a softmax over all cells; the saliency gives a grid
    (:func:`~gazezoom.sampler.functional.saliency_grid`) that samples the *full-resolution* input into a patch of
    ``out_size``.

    Args:
        saliency_net: ``(B, C, *low_size) → (B, 1, h, w)`` logits; default :func:`default_saliency_net`.
        out_size: ``(H, W)`` of the zoomed patch.
        low_size: ``(h, w)`` of the pooled view the saliency net sees.
        grid_size: g, cells per side of the saliency grid (31 in the paper).
        fwhm: FWHM of the attraction Gaussian in cells (13 in the paper's code).
        padding_mode: ``"replicate"`` (paper) or ``"reflect"`` (FOVEA anti-crop).
        separable: 1-D Gaussian passes (fast, default) or the dense correlation.
        region_oversample: for :meth:`forward_regions`, the region is read at this multiple of ``low_size`` and
            average-pooled down, an area-filtered low-resolution view that costs a few thousand pixel reads.
        degrade: probability, in training mode, of the random degradation of the sampled patch
            (:func:`~gazezoom.sampler.functional.random_degrade`); the trainer lowers it to 0 after warm-up.

    >>> s = SaliencySampler(out_size=(24, 40), low_size=(24, 40)).eval()
    >>> out = s(torch.rand(2, 3, 96, 160))
    >>> out.patch.shape, out.grid.shape, out.saliency.shape
    (torch.Size([2, 3, 24, 40]), torch.Size([2, 24, 40, 2]), torch.Size([2, 1, 31, 31]))
    """

    def __init__(
        self,
        saliency_net: nn.Module | None = None,
        *,
        out_size: Sequence[int] = (36, 60),
        low_size: Sequence[int] = (36, 60),
        grid_size: int = 31,
        fwhm: float = 13.0,
        padding_mode: str = "replicate",
        separable: bool = True,
        region_oversample: int = 2,
        degrade: float = 0.0,
        in_channels: int = 3,
    ):
        super().__init__()
        if grid_size < 2:
            raise InputValueError(f"grid_size must be >= 2, got {grid_size}")
        if not float(fwhm) > 0.0:
            raise InputValueError(f"fwhm (attraction kernel width in grid cells) must be > 0, got {fwhm}")
        if padding_mode not in Fs.PADDING_MODES:
            raise InputValueError(f"padding_mode must be one of {Fs.PADDING_MODES}, got {padding_mode!r}")
        if int(region_oversample) < 1:
            raise InputValueError(f"region_oversample must be an int >= 1 (1: no oversampling), got {region_oversample}")
        self.out_size = Fs._size2(out_size, "out_size")
        self.low_size = Fs._size2(low_size, "low_size")
        self.grid_size = int(grid_size)
        self.fwhm = float(fwhm)
        self.padding_mode = padding_mode
        self.separable = bool(separable)
        self.region_oversample = int(region_oversample)
        self.degrade = float(degrade)
        self.saliency_net = saliency_net if saliency_net is not None else default_saliency_net(in_channels)

    def extra_repr(self) -> str:
        return (
            f"out_size={self.out_size}, low_size={self.low_size}, grid_size={self.grid_size}, fwhm={self.fwhm}, "
            f"padding_mode={self.padding_mode!r}, separable={self.separable}"
        )

    def config(self) -> dict:
        """Settings that must travel with trained weights."""
        return {
            "out_size": list(self.out_size),
            "low_size": list(self.low_size),
            "grid_size": self.grid_size,
            "fwhm": self.fwhm,
            "padding_mode": self.padding_mode,
            "region_oversample": self.region_oversample,
        }

    def saliency(self, low: torch.Tensor) -> torch.Tensor:
        """Saliency ``(B, 1, g, g)`` (softmax over all cells) from the low-resolution view ``(B, C, h, w)``."""
        logits = self.saliency_net(low)
        if logits.dim() != 4 or logits.shape[1] != 1:
            raise ShapeError("saliency_net output", "(B, 1, h, w) logits", logits.shape)
        g = self.grid_size
        logits = F.interpolate(logits, size=(g, g), mode="bilinear", align_corners=False)
        return torch.softmax(logits.flatten(1), 1).view(-1, 1, g, g)

    def grid(self, saliency: torch.Tensor, out_size: Sequence[int] | None = None) -> torch.Tensor:
        """Grid ``(B, H, W, 2)`` for ``out_size`` (default ``self.out_size``) from saliency ``(B, 1, g, g)``."""
        return Fs.saliency_grid(
            saliency, self.out_size if out_size is None else out_size, fwhm=self.fwhm,
            padding_mode=self.padding_mode, separable=self.separable,
        )

    def _maybe_degrade(self, patch: torch.Tensor) -> torch.Tensor:
        if self.training and self.degrade > 0 and float(torch.rand(())) < self.degrade:
            return Fs.random_degrade(patch)
        return patch

    def forward(self, image: torch.Tensor, out_size: Sequence[int] | None = None) -> SamplerOutput:
        """The paper's layer on whole images: ``image (B, C, Hi, Wi)`` → :class:`SamplerOutput`.

        ``out_size`` overrides ``self.out_size`` for this call (same saliency, a denser or sparser grid)."""
        if image.dim() != 4:
            raise ShapeError("image", "(B, C, H, W)", image.shape)
        low = F.adaptive_avg_pool2d(image, self.low_size)  # (B, C, h, w)
        sal = self.saliency(low)
        grid = self.grid(sal, out_size)
        return SamplerOutput(self._maybe_degrade(Fs.warp(image, grid)), grid, sal)

    def forward_regions(
        self,
        frame: torch.Tensor,
        region_to_frame: torch.Tensor,
        batch_index: torch.Tensor | None = None,
        out_size: Sequence[int] | None = None,
        low: torch.Tensor | None = None,
    ) -> SamplerOutput:
        """Zoom into ``N`` regions of full-resolution frames, reading each frame's pixels once.

        Args:
            frame: ``(B, C, Hf, Wf)``.
            region_to_frame: ``(N, 3, 3)`` region ``(u, v) ∈ [-1, 1]²`` → frame pixels.
            batch_index: ``(N,)`` frame of each region (see :func:`~gazezoom.sampler.functional.sample_regions`).
            out_size: overrides ``self.out_size`` for this call.
            low: ``(N, C, *low_size)`` the low-resolution view when the caller has already read it — the regions
                read at ``region_oversample × low_size`` (bilinear, zero outside the frame, ``align_corners``) and
                average-pooled, exactly what this method reads otherwise (the app reads it with OpenCV, which is
                ~10× cheaper on the CPU than ``grid_sample``: ``gazezoom.models.onnx_backend.region_views``).
        Returns:
            :class:`SamplerOutput` with ``patch (N, C, H, W)`` and ``grid (N, H, W, 2)`` in *region* units
            (compose with ``region_to_frame`` to draw it on the frame).
        """
        if low is None:
            k = self.region_oversample
            lh, lw = self.low_size
            view = Fs.sample_regions(frame, region_to_frame, (lh * k, lw * k), batch_index=batch_index)
            low = F.avg_pool2d(view, k) if k > 1 else view  # (N, C, h, w)
        elif not torch.jit.is_tracing() and low.shape != (region_to_frame.shape[0], frame.shape[1], *self.low_size):
            raise ShapeError("low", f"({region_to_frame.shape[0]}, {frame.shape[1]}, {self.low_size[0]}, "
                             f"{self.low_size[1]})", low.shape)
        sal = self.saliency(low)
        size = self.out_size if out_size is None else Fs._size2(out_size, "out_size")
        grid = self.grid(sal, size)  # (N, H, W, 2) region units
        patch = Fs.sample_regions(frame, region_to_frame, size, batch_index=batch_index, grid=grid)
        return SamplerOutput(self._maybe_degrade(patch), grid, sal)
