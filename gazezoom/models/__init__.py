"""Gaze networks, the variant registry, checkpoints and the predictor the app uses.

* :mod:`.nets` — :class:`TaskNet` (patch → pitch/yaw) and :class:`SaliencyNet` (the sampler's saliency network).
* :mod:`.variants` — :class:`ModelConfig`, :data:`VARIANTS` (``sampler@P``, ``uniform@P``, ``uniform@2P``,
  ``uniform@4P``, ``center_crop@P``), :func:`build_model`.
* :mod:`.checkpoint` — safetensors weights + JSON sidecar, resumable training state.
* :mod:`.predictor` — :class:`GazePredictor`: numpy frames and ``Face`` results in, ``GazeResult`` out.

Importing this package imports torch (not cv2, Qt or MediaPipe).
"""

from .checkpoint import load_weights, read_sidecar, save_weights, weights_path
from .nets import SaliencyNet, TaskNet, count_parameters
from .predictor import GazePredictor, RegionGaze
from .variants import VARIANTS, GazeNet, GazeOutput, ModelConfig, build_model, resolve_variant, variant_slug

__all__ = [
    "TaskNet",
    "SaliencyNet",
    "count_parameters",
    "ModelConfig",
    "GazeNet",
    "GazeOutput",
    "VARIANTS",
    "build_model",
    "resolve_variant",
    "variant_slug",
    "save_weights",
    "load_weights",
    "read_sidecar",
    "weights_path",
    "GazePredictor",
    "RegionGaze",
]
