"""Landmarker backends (registry :data:`LANDMARKERS`) and the frame-format handling in front of them.

A backend turns an RGB frame into :class:`RawFace` records (478 landmarks in frame pixels, blendshapes, facial
transformation matrix). Backends are created by name with :func:`create_landmarker`; the MediaPipe one is imported
only then, so ``import gazezoom.face`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import InputValueError, ShapeError
from ..fileio import WEIGHTS_DIR
from ..registry import Registry

__all__ = ["DEFAULT_MODEL_PATH", "RawFace", "Landmarker", "LANDMARKERS", "create_landmarker", "to_rgb", "COLOR_ORDERS"]

#: The shipped MediaPipe Face Landmarker bundle (Google, Apache-2.0; see weights/NOTICE-face_landmarker.md).
DEFAULT_MODEL_PATH = WEIGHTS_DIR / "face_landmarker.task"

#: Accepted colour orders of 3-channel frames (4-channel frames are BGRA / RGBA accordingly).
COLOR_ORDERS = ("bgr", "rgb")


@dataclass(frozen=True, eq=False)
class RawFace:
    """One face as a backend reports it. ``landmarks_px (478, 3)``: x, y in frame pixels, z = relative depth in the
    same pixel units (MediaPipe's z × frame width). ``transform (4, 4)`` or None when the backend has none."""

    landmarks_px: np.ndarray
    blendshapes: Mapping[str, float]
    transform: np.ndarray | None


class Landmarker(Protocol):
    mode: str

    def detect(self, rgb: np.ndarray, timestamp_ms: int | None = None) -> list[RawFace]: ...

    def close(self) -> None: ...


#: name → factory ``(mode=..., **options) -> Landmarker``
LANDMARKERS: Registry = Registry("face landmarker")


@LANDMARKERS.register("mediapipe")
def _mediapipe(**options) -> Landmarker:
    from .mediapipe_backend import MediaPipeLandmarker

    return MediaPipeLandmarker(**options)


def create_landmarker(name: str = "mediapipe", **options) -> Landmarker:
    """Create the landmarker backend ``name`` (see ``LANDMARKERS.names()``) with backend ``options``."""
    return LANDMARKERS.get(name)(**options)


def to_rgb(frame: np.ndarray, color: str = "bgr", out: np.ndarray | None = None) -> np.ndarray:
    """Any accepted frame → contiguous RGB uint8 ``(H, W, 3)``.

    Accepts uint8 ``(H, W)`` gray, ``(H, W, 1)``, ``(H, W, 3)`` in ``color`` order (``"bgr"``, OpenCV's, by default)
    and ``(H, W, 4)`` (BGRA / RGBA). Anything else raises :class:`ShapeError` / :class:`InputValueError`.
    ``out``: a reusable ``(H, W, 3)`` uint8 buffer to convert into; it is used when its shape fits (a fresh 720p
    array per frame costs ~10 ms of page faults on a busy machine, converting into a warm buffer ~0.4 ms).
    """
    import cv2

    if color not in COLOR_ORDERS:
        raise InputValueError(f"color must be one of {COLOR_ORDERS}, got {color!r}")
    if not isinstance(frame, np.ndarray):
        raise InputValueError(f"frame must be a numpy array (H, W[, C]) uint8, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise InputValueError(
            f"frame must be uint8 (0..255), got {frame.dtype}; convert with np.clip(x * 255, 0, 255).astype(np.uint8)"
        )
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)) or min(frame.shape[:2]) < 1:
        raise ShapeError("frame", "(H, W), (H, W, 3) or (H, W, 4) with H, W >= 1", frame.shape)
    if frame.ndim == 2:
        code = cv2.COLOR_GRAY2RGB
    else:
        code = {(3, "bgr"): cv2.COLOR_BGR2RGB, (4, "bgr"): cv2.COLOR_BGRA2RGB, (4, "rgb"): cv2.COLOR_RGBA2RGB}.get((frame.shape[2], color))
        if code is None:
            return np.ascontiguousarray(frame)
    if out is not None and out.shape == frame.shape[:2] + (3,) and out.dtype == np.uint8 and out.flags.c_contiguous:
        return cv2.cvtColor(np.ascontiguousarray(frame), code, dst=out)
    return cv2.cvtColor(np.ascontiguousarray(frame), code)
