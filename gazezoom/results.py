"""Per-frame results: small frozen dataclasses, one per pipeline stage (numpy inside, no torch, no Qt).

Stages never mutate a result; they build the next one. ``Pipeline.process(frame) -> FrameResult`` fills them.
All pixel quantities are in full-resolution frame pixels; all 3-D quantities in camera coordinates (mm),
conventions in ``gazezoom/geometry.py`` and ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["HeadPose", "EyeRegion", "Face", "EyeGaze", "GazeResult", "ScreenPoint", "FrameResult"]


@dataclass(frozen=True, eq=False)
class HeadPose:
    """Head rotation and position. ``rotation (3, 3)`` maps head-model axes to camera axes."""

    rotation: np.ndarray  # (3, 3)
    translation_mm: np.ndarray  # (3,) head origin in camera coordinates
    pitch_deg: float
    yaw_deg: float
    roll_deg: float


@dataclass(frozen=True, eq=False)
class EyeRegion:
    """One eye's region and state. ``side`` is the subject's own side: ``"left"`` or ``"right"``.

    ``region_to_frame (3, 3)`` maps region coordinates ``(u, v, 1)``, ``u, v ∈ [-1, 1]``, to frame pixels
    (right eyes are mirrored so every patch looks like a left eye). ``R_norm (3, 3)`` rotates camera vectors into
    the normalised eye space.
    """

    side: str
    region_to_frame: np.ndarray  # (3, 3)
    R_norm: np.ndarray  # (3, 3)
    center_mm: np.ndarray  # (3,)
    corners_px: np.ndarray  # (2, 2) inner and outer corner (x, y)
    iris_px: np.ndarray  # (2,) iris centre (x, y)
    openness: float  # 0 closed … 1 wide open
    blink: bool


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face. ``eyes`` is ``(left, right)``."""

    track_id: int
    bbox: np.ndarray  # (4,) x0, y0, x1, y1 in pixels
    confidence: float
    landmarks_px: np.ndarray  # (478, 3) x, y in pixels, z relative depth (MediaPipe units scaled to pixels)
    blendshapes: Mapping[str, float]
    transform: np.ndarray  # (4, 4) MediaPipe facial transformation matrix
    head: HeadPose
    eyes: tuple[EyeRegion, EyeRegion]
    blink: bool


@dataclass(frozen=True, eq=False)
class EyeSample:
    """What the saliency sampler read for one eye: an inference output (kept when the pipeline draws,
    ``display=True``), turned into pictures by :func:`gazezoom.views.eye_views`."""

    patch: np.ndarray  # (h, w, 3) float32 RGB [0, 1]: the (zoomed) patch the network saw
    grid: np.ndarray  # (h, w, 2) float32: where each patch pixel was read, region units [-1, 1]
    saliency: np.ndarray | None = None  # (g, g) float, sums to 1 (None for a uniform variant)


@dataclass(frozen=True, eq=False)
class EyeGaze:
    """Gaze of one eye (its own reading, before the two eyes are fused) and, when kept, what the sampler read."""

    side: str
    pitchyaw_norm: np.ndarray  # (2,) radians, in normalised eye space (unmirrored)
    vector_cam: np.ndarray  # (3,) unit, camera space
    sample: EyeSample | None = None  # the sampler's patch, grid and saliency (None: not kept, or no sampler)


@dataclass(frozen=True, eq=False)
class GazeResult:
    """Fused gaze of the face. ``held`` is True when the value was held from the last good frame (blink)."""

    eyes: tuple[EyeGaze, EyeGaze]
    vector_cam: np.ndarray  # (3,) unit
    pitchyaw: np.ndarray  # (2,) radians, camera space convention of geometry.py
    origin_mm: np.ndarray  # (3,) midpoint of the two eye centres
    held: bool = False


@dataclass(frozen=True, eq=False)
class ScreenPoint:
    """Estimated point of regard on the screen in screen pixels (``raw`` before smoothing). ``clamped``: the
    calibration put the point far off the screen and it was pulled back to the edge band (see ``ScreenMapper``).
    ``held``: no new point this frame (a blink, a held gaze); the pipeline repeats the face's last one."""

    x_px: float
    y_px: float
    raw_x_px: float
    raw_y_px: float
    clamped: bool = False
    held: bool = False


@dataclass(frozen=True, eq=False)
class FrameResult:
    """Everything known about one frame. ``face`` is the primary user (None without a face); ``gaze`` and
    ``screen`` are the primary's; ``camera`` the intrinsics the front-end used; ``timings_ms`` is complete (and
    read-only) when the pipeline returns the result. ``others_gaze`` is empty unless the pipeline gazes every face
    (``Pipeline(all_faces=True)``); then it holds the gaze of each of ``others``, in the same order."""

    index: int
    time_s: float
    frame_size: tuple[int, int]  # (H, W)
    face: Face | None
    others: tuple[Face, ...] = ()
    gaze: GazeResult | None = None
    screen: ScreenPoint | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    others_gaze: tuple[GazeResult | None, ...] = ()
    camera: object | None = None  # the gazezoom.face.camera.Camera (intrinsics ``K``) this frame was read with

    def face_gazes(self) -> tuple[tuple[Face, GazeResult | None], ...]:
        """Every face with its gaze (None where there is none), the primary first, then ``others`` in order."""
        gazes = self.others_gaze or (None,) * len(self.others)
        primary = () if self.face is None else ((self.face, self.gaze),)
        return primary + tuple(zip(self.others, gazes))
