"""The front-end of one frame: landmarks → tracked faces → head pose, eye openness/blinks, eye regions.

:class:`FrontEnd` holds the state that spans frames (landmarker in VIDEO mode, face tracks, blink hysteresis per
track) and turns each frame into frozen :class:`~gazezoom.results.Face` records. ``Pipeline`` calls it; so can
tools that need faces without gaze.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..errors import InputValueError
from ..results import EyeRegion, Face
from .camera import Camera, default_camera
from .canonical import CanonicalFace, load_canonical_face
from .eyes import (
    EYE_LANDMARKS,
    BlinkHysteresis,
    eye_aspect_ratio,
    iris_centre_px,
    normalising_rotation,
    openness_from_ear,
    region_to_frame,
)
from .headpose import head_pose, pose_from_landmarks, pose_from_transform
from .landmarker import COLOR_ORDERS, DEFAULT_MODEL_PATH, RawFace, create_landmarker, to_rgb
from .tracking import FaceTracker, dedupe

__all__ = ["FrontEnd", "build_face", "landmark_bbox"]


def landmark_bbox(landmarks_px: np.ndarray) -> np.ndarray:
    """``(N, 2|3)`` landmarks → ``(4,)`` box x0, y0, x1, y1 in pixels (not clipped: a face cut by the border
    extends beyond the frame)."""
    xy = landmarks_px[:, :2]
    return np.concatenate([xy.min(0), xy.max(0)])


def build_face(
    raw: RawFace,
    track_id: int,
    camera: Camera,
    face_model: CanonicalFace,
    blinks: dict[str, BlinkHysteresis],
    frame_size: tuple[int, int],
) -> Face:
    """One :class:`RawFace` → :class:`Face` (head pose by PnP from the MediaPipe pose, eyes, openness, blinks).

    The eye centre ``c`` is the midpoint of the canonical model's two eye corners placed by the head pose: the
    model's fixed corner distance (≈ 26 mm) makes the region's size follow the eye width seen in the image.
    """
    L = raw.landmarks_px
    guess = pose_from_transform(raw.transform, camera.K, frame_size) if raw.transform is not None else None
    R, t = pose_from_landmarks(L, camera, face_model, guess)
    eyes = []
    for side in ("left", "right"):
        ids = EYE_LANDMARKS[side]
        corners_cam = face_model.points_mm[[ids["inner"], ids["outer"]]] @ R.T + t  # (2, 3)
        c = corners_cam.mean(0)
        R_norm = normalising_rotation(c, R)
        openness = openness_from_ear(eye_aspect_ratio(L, side))
        eyes.append(
            EyeRegion(
                side=side,
                region_to_frame=region_to_frame(camera.K, R_norm, c, side),
                R_norm=R_norm,
                center_mm=c,
                corners_px=L[[ids["inner"], ids["outer"]], :2].copy(),
                iris_px=iris_centre_px(L, side),
                openness=openness,
                blink=blinks[side].update(openness),
            )
        )
    return Face(
        track_id=int(track_id),
        bbox=landmark_bbox(L),
        confidence=math.nan,  # MediaPipe Tasks reports no per-face score; faces below its thresholds are dropped
        landmarks_px=L,
        blendshapes=raw.blendshapes,
        transform=raw.transform if raw.transform is not None else np.full((4, 4), np.nan),
        head=head_pose(R, t),
        eyes=(eyes[0], eyes[1]),
        blink=eyes[0].blink and eyes[1].blink,
    )


#: Most windows per side of the small-face search (``FrontEnd(tiles=...)``, ``process/inspect --tiles``).
MAX_TILES = 4


def tile_windows(H: int, W: int, n: int, overlap: float = 0.25) -> list[tuple[int, int, int, int]]:
    """``n x n`` windows ``(y0, y1, x0, x1)`` covering an ``H x W`` frame, neighbours overlapping by ``overlap`` of a
    window (so a face cut by one window's edge lies whole in the next).

    >>> tile_windows(100, 200, 2)
    [(0, 57, 0, 114), (0, 57, 86, 200), (43, 100, 0, 114), (43, 100, 86, 200)]
    """
    def spans(L: int) -> list[tuple[int, int]]:
        w = L / (n - (n - 1) * overlap)  # n windows of width w, overlapping by overlap * w, span L
        starts = [round(i * w * (1 - overlap)) for i in range(n)]
        return [(a, min(L, round(a + w)) if i < n - 1 else L) for i, a in enumerate(starts)]

    return [(y0, y1, x0, x1) for y0, y1 in spans(H) for x0, x1 in spans(W)]


class FrontEnd:
    """Per-frame faces from frames of one stream (``mode="video"``) or of unrelated stills (``mode="image"``).

    Args:
        landmarker: backend name in :data:`gazezoom.face.landmarker.LANDMARKERS`.
        camera: intrinsics; None = :func:`default_camera` for each frame size. A calibrated camera is rescaled to
            the frame size (same aspect ratio).
        mode: ``"video"`` (tracking, monotonic timestamps) or ``"image"`` (every frame on its own).
        color: ``"bgr"`` (OpenCV, default) or ``"rgb"`` for 3/4-channel frames; gray frames need no order.
        blink_thresholds: openness ``(close_below, open_above)`` of the blink hysteresis.
        tiles: image mode only: also search an ``tiles x tiles`` grid of overlapping windows (25 %) of each still
            and merge what they find with the whole frame's faces (duplicates dropped). MediaPipe's short-range
            detector misses faces that are small in a large frame (group photos); in a window they are larger.
            Costs ``tiles**2`` more landmarker calls per still; 0 (default) or 1 = off.
        **landmarker_options: passed to the backend (``model_path``, ``num_faces``, ``min_detection_confidence`` …).
    """

    def __init__(
        self,
        landmarker: str = "mediapipe",
        camera: Camera | None = None,
        mode: str = "video",
        color: str = "bgr",
        blink_thresholds: tuple[float, float] = (0.25, 0.45),
        max_missing: int = 15,
        tiles: int = 0,
        **landmarker_options,
    ):
        if mode not in ("video", "image"):
            raise InputValueError(f"mode must be 'video' or 'image', got {mode!r}")
        if isinstance(tiles, bool) or not isinstance(tiles, (int, np.integer)) or not 0 <= tiles <= MAX_TILES:
            raise InputValueError(f"tiles must be an int from 0 (off) to {MAX_TILES}, got {tiles!r}")
        if tiles > 1 and mode != "image":
            raise InputValueError("tiles (the small-face search) works on stills (mode='image'); video mode tracks "
                                  "faces from frame to frame and cannot take extra windows")
        self.tiles = int(tiles)
        if color not in COLOR_ORDERS:
            raise InputValueError(f"color must be one of {COLOR_ORDERS}, got {color!r}")
        BlinkHysteresis(*blink_thresholds)  # validate now, not on the first face
        self.mode, self.color, self.camera = mode, color, camera
        self.blink_thresholds = tuple(blink_thresholds)
        self.tracker = FaceTracker(max_missing=max_missing)
        self._blinks: dict[int, dict[str, BlinkHysteresis]] = {}
        self._cameras: dict[tuple[int, int], Camera] = {}
        self._rgb: np.ndarray | None = None
        self.landmarker = create_landmarker(landmarker, mode=mode, **landmarker_options)
        self.face_model = load_canonical_face(str(getattr(self.landmarker, "model_path", DEFAULT_MODEL_PATH)))

    def camera_for(self, width: int, height: int) -> Camera:
        key = (width, height)
        if key not in self._cameras:
            self._cameras[key] = default_camera(width, height) if self.camera is None else self.camera.for_size(width, height)
        return self._cameras[key]

    def process(self, frame: np.ndarray, time_s: float | None = None) -> tuple[Face | None, tuple[Face, ...], dict[str, float]]:
        """``frame`` (uint8 gray / 3-channel in ``self.color`` order / 4-channel) → ``(primary, others, timings_ms)``.

        ``timings_ms``: ``"landmarks"`` (the backend's detect call), ``"mediapipe"`` (MediaPipe alone, when the
        backend reports it) and ``"frontend"`` (all of this method).
        """
        t0 = time.perf_counter()
        if getattr(self.landmarker, "converts_frames", False):
            # the landmarker converts (and checks) frames itself, e.g. gazezoom.io.overlap's look-ahead worker
            rgb, (H, W) = None, frame.shape[:2]
        else:
            rgb = to_rgb(frame, self.color, self._rgb)  # converts into the last frame's buffer when sizes match
            if not np.may_share_memory(rgb, frame):  # never keep (and later overwrite) the caller's own array
                self._rgb = rgb
            H, W = rgb.shape[:2]
        camera = self.camera_for(W, H)
        t1 = time.perf_counter()
        raws = self.landmarker.detect(rgb, None if time_s is None else int(round(time_s * 1e3)))
        if self.tiles > 1:
            raws = list(raws) + self._tile_faces(rgb if rgb is not None else to_rgb(frame, self.color), W)
        t2 = time.perf_counter()
        if self.mode == "image":
            self.tracker.reset()
            self._blinks.clear()
        boxes = np.array([landmark_bbox(r.landmarks_px) for r in raws]).reshape(-1, 4)
        keep = dedupe(boxes)
        raws, boxes = [raws[i] for i in keep], boxes[keep]
        ids, primary = self.tracker.update(boxes, (H, W))
        # Blink states live as long as their track: a face lost for a frame or two (likely while the eyes are
        # closed) comes back still "closed" instead of being reset to open.
        self._blinks = {
            t: self._blinks.get(t) or {s: BlinkHysteresis(*self.blink_thresholds) for s in ("left", "right")}
            for t in self.tracker.live_ids()
        }
        faces, kept = [], []
        for i, (r, t) in enumerate(zip(raws, ids)):
            try:
                faces.append(build_face(r, t, camera, self.face_model, self._blinks[int(t)], (H, W)))
                kept.append(i)
            except InputValueError:  # no pose / no normalisation (head turned ~90°): not a usable face this frame
                continue
        primary = kept.index(primary) if primary in kept else None
        timings = {"landmarks": (t2 - t1) * 1e3}
        mp_ms = getattr(self.landmarker, "last_call_ms", None)
        if mp_ms is not None:
            timings["mediapipe"] = float(mp_ms)
        timings["frontend"] = (time.perf_counter() - t0) * 1e3
        if primary is None:
            return None, tuple(faces), timings
        return faces[primary], tuple(f for i, f in enumerate(faces) if i != primary), timings

    def _tile_faces(self, rgb: np.ndarray, W: int) -> list[RawFace]:
        """Faces found in the overlapping windows of :func:`tile_windows`, in whole-frame pixels (no transform: the
        window's virtual camera is not the frame's, so head pose starts from the landmarks alone)."""
        out = []
        for y0, y1, x0, x1 in tile_windows(rgb.shape[0], rgb.shape[1], self.tiles):
            for r in self.landmarker.detect(np.ascontiguousarray(rgb[y0:y1, x0:x1]), None):
                lm = np.array(r.landmarks_px, float)
                lm[:, 0] += x0
                lm[:, 1] += y0
                lm[:, 2] *= W / (x1 - x0)  # z is in units of the image width the landmarker saw
                out.append(RawFace(lm, r.blendshapes, None))
        return out

    def close(self) -> None:
        self.landmarker.close()

    def __enter__(self) -> "FrontEnd":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
