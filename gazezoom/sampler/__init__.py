"""The saliency-based sampler of *Learning to Zoom* (Recasens et al., ECCV 2018).

Pure functions in :mod:`.functional`; the ``nn.Module`` in :mod:`.module`. See docs/architecture.md.
"""

from .functional import (
    PADDING_MODES,
    attraction,
    boxes_to_regions,
    frame_to_patch,
    gaussian_kernel1d,
    grid_magnification,
    magnification_at,
    patch_to_frame,
    quads_to_regions,
    random_degrade,
    region_grid,
    saliency_grid,
    sample_regions,
    uniform_grid,
    warp,
)
from .module import SaliencySampler, SamplerOutput, default_saliency_net

__all__ = [
    "PADDING_MODES",
    "attraction",
    "boxes_to_regions",
    "frame_to_patch",
    "gaussian_kernel1d",
    "grid_magnification",
    "magnification_at",
    "patch_to_frame",
    "quads_to_regions",
    "random_degrade",
    "region_grid",
    "saliency_grid",
    "sample_regions",
    "uniform_grid",
    "warp",
    "SaliencySampler",
    "SamplerOutput",
    "default_saliency_net",
]
