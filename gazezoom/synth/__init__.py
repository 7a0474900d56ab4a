"""Synthetic eye renderer: left-eye regions of the normalised eye space with exact gaze labels (training data).

``EyeRenderer.sample_params`` draws scenes, ``EyeRenderer.render`` turns them into images;
``SyntheticEyeDataset`` serves reproducible batches. See ``docs/synth.md``.
"""

from .params import KAPPA_MEAN, RenderParams
from .renderer import (
           APERTURE_FILL,
           BATCH_KEYS,
           BatchIndexError,
           EyeRenderer,
           SyntheticEyeDataset,
           mask_outside_aperture,
)

__all__ = ["EyeRenderer", "SyntheticEyeDataset", "RenderParams", "KAPPA_MEAN", "BATCH_KEYS", "BatchIndexError",
           "APERTURE_FILL", "mask_outside_aperture"]
