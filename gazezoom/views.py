"""Pictures of what the sampler read: the one place that turns inference outputs into things to draw.

The gaze stages return inference results only (:class:`~gazezoom.results.EyeSample`: the patch the network saw, as
float RGB, the grid in region units, the saliency). The app's side panel, ``process --annotate`` and ``inspect``
draw from :func:`eye_views` (uint8 BGR patches, the uniform comparison patch, the grid in frame pixels) and
:func:`sampling_grids` (the grids alone, for the frame overlay), so none of that is made on frames nobody looks at.

>>> import numpy as np
>>> from gazezoom.results import EyeSample
>>> s = EyeSample(patch=np.zeros((4, 6, 3), np.float32), grid=np.zeros((4, 6, 2), np.float32))
>>> grid_px(np.eye(3), s).shape  # the region map of an identity homography; every row and column kept
(4, 6, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import apply_homography
from .results import EyeGaze, EyeRegion, EyeSample, Face, GazeResult

__all__ = ["EyeView", "eye_views", "sampling_grids", "grid_px", "to_bgr_u8"]


@dataclass(frozen=True, eq=False)
class EyeView:
    """One eye, ready to draw: ``patch`` / ``uniform_patch (h, w, 3)`` uint8 BGR (the zoomed patch the network saw;
    plain resampling of the same region at the same size), ``saliency (g, g)`` or None, ``grid_px (gh, gw, 2)`` the
    sampling grid in frame pixels (subsampled)."""

    side: str
    patch: np.ndarray
    uniform_patch: np.ndarray | None
    saliency: np.ndarray | None
    grid_px: np.ndarray


def to_bgr_u8(rgb: np.ndarray) -> np.ndarray:
    """``(..., h, w, 3)`` float RGB [0, 1] → uint8 BGR (rounded, clipped)."""
    return (np.clip(np.asarray(rgb, np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)[..., ::-1].copy()


def grid_px(region_to_frame: np.ndarray, sample: EyeSample, cells: int = 8) -> np.ndarray:
    """The sampling grid of ``sample`` in frame pixels ``(gh, gw, 2)``, every ``grid.shape[0] // cells``-th row and
    column (at least every one), through the region → frame homography ``region_to_frame (3, 3)``."""
    g = np.asarray(sample.grid, np.float64)
    step = max(1, g.shape[0] // cells)
    return apply_homography(np.asarray(region_to_frame, float), g[::step, ::step])


def _sampled_eyes(face: Face | None, gaze: GazeResult | None) -> list[tuple[EyeGaze, np.ndarray]]:
    """``(eye's gaze, its region → frame homography (3, 3))`` for each eye whose gaze kept its sample."""
    if face is None or gaze is None:
        return []
    regions: dict[str, EyeRegion] = {e.side: e for e in face.eyes}
    return [(eg, np.asarray(regions[eg.side].region_to_frame, float)) for eg in gaze.eyes
            if eg.sample is not None and eg.side in regions]


def sampling_grids(face: Face | None, gaze: GazeResult | None) -> list[np.ndarray]:
    """The sampling grid of each eye whose gaze kept its sample, in frame pixels (:func:`grid_px`): what the frame
    overlay draws, without making the patches."""
    return [grid_px(H, eg.sample) for eg, H in _sampled_eyes(face, gaze)]


def eye_views(frame_bgr: np.ndarray | None, face: Face | None, gaze: GazeResult | None) -> tuple[EyeView, ...]:
    """One :class:`EyeView` per eye whose gaze kept its sample (``display=True``), in the gaze's order; ``()`` when
    there is no face, no gaze or nothing kept. Given ``frame_bgr``, each region is also resampled uniformly at the
    patch size (the comparison the app shows beside the zoomed patch; one read of the frame for all eyes)."""
    eyes = _sampled_eyes(face, gaze)
    if not eyes:
        return ()
    uniform = [None] * len(eyes)
    if frame_bgr is not None:
        uniform = _uniform_patches(frame_bgr, np.stack([H for _, H in eyes]), eyes[0][0].sample.patch.shape[:2])
    return tuple(EyeView(eg.side, to_bgr_u8(eg.sample.patch), uni, eg.sample.saliency, grid_px(H, eg.sample))
                 for (eg, H), uni in zip(eyes, uniform))


def _uniform_patches(frame_bgr: np.ndarray, H: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Uniform (bilinear) resampling of ``N`` regions ``H (N, 3, 3)`` of the frame to ``size``: the sampler's
    comparison, ``(N, h, w, 3)`` uint8 BGR."""
    from .models.predictor import frame_crop
    from .sampler import sample_regions

    crop, Hc = frame_crop(frame_bgr, H)
    out = sample_regions(crop, Hc, tuple(int(x) for x in size))  # (N, 3, h, w) RGB [0, 1]
    return to_bgr_u8(out.permute(0, 2, 3, 1).numpy())
