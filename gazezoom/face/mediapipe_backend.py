"""MediaPipe Tasks ``FaceLandmarker`` backend (the only module that imports mediapipe).

IMAGE mode treats every frame on its own (stills); VIDEO mode tracks between frames and needs strictly increasing
timestamps (we enforce them). The model bundle is read from disk into memory by us, so a missing or corrupt file
is a :class:`ModelFileError` before MediaPipe sees it; nothing is ever downloaded.
"""

from __future__ import annotations

import atexit
import time
import weakref
import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputValueError, ModelFileError, ShapeError, StateError
from .landmarker import DEFAULT_MODEL_PATH, RawFace

__all__ = ["MediaPipeLandmarker", "MODES", "REQUIRED_MEMBERS"]

MODES = ("image", "video")
#: Files a usable face_landmarker.task bundle contains.
REQUIRED_MEMBERS = ("face_detector.tflite", "face_landmarks_detector.tflite", "geometry_pipeline_metadata_landmarks.binarypb")


def read_model_bundle(path: str | Path) -> bytes:
    """The bytes of a ``face_landmarker.task`` bundle, or :class:`ModelFileError` saying what is wrong."""
    path = Path(path)
    hint = "restore weights/face_landmarker.task from the repository (see weights/NOTICE-face_landmarker.md)"
    if not path.is_file():
        raise ModelFileError(f"face landmarker model not found at {path}; {hint}")
    try:
        with zipfile.ZipFile(path) as z:
            missing = [m for m in REQUIRED_MEMBERS if m not in z.namelist()]
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError) as err:
        raise ModelFileError(f"face landmarker model {path} is corrupt or not a .task bundle ({err}); {hint}") from None
    if missing or bad:
        raise ModelFileError(f"face landmarker model {path} is incomplete or corrupt (missing {missing}, bad member {bad}); {hint}")
    return path.read_bytes()


#: Open landmarkers, closed at interpreter exit: MediaPipe prints a TypeError when a task is left to its own
#: ``__del__`` during shutdown (after its C library handles are gone).
_OPEN: "weakref.WeakSet[MediaPipeLandmarker]" = weakref.WeakSet()


@atexit.register
def _close_open_landmarkers() -> None:
    for lm in list(_OPEN):
        lm.close()


class MediaPipeLandmarker:
    """``detect(rgb (H, W, 3) uint8, timestamp_ms) -> list[RawFace]``; use as a context manager or call close()."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        mode: str = "video",
        num_faces: int = 3,
        min_detection_confidence: float = 0.6,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        blendshapes: bool = True,
    ):
        self._task = None
        if mode not in MODES:
            raise InputValueError(f"mode must be one of {MODES}, got {mode!r}")
        if num_faces < 1:
            raise InputValueError(f"num_faces must be >= 1, got {num_faces}")
        self.model_path = Path(model_path) if model_path is not None else DEFAULT_MODEL_PATH
        buffer = read_model_bundle(self.model_path)

        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=buffer),
            running_mode=vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE,
            num_faces=int(num_faces),
            # 0.6 rather than MediaPipe's 0.5: at 0.5 the detector fires on clouds and text for single frames of
            # ../shared/media/*face*.mov; webcam-distance faces score far above it.
            min_face_detection_confidence=float(min_detection_confidence),
            min_face_presence_confidence=float(min_presence_confidence),
            min_tracking_confidence=float(min_tracking_confidence),
            output_face_blendshapes=bool(blendshapes),
            output_facial_transformation_matrixes=True,
        )
        try:
            self._task = vision.FaceLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as err:
            raise ModelFileError(f"MediaPipe could not load {self.model_path}: {err}") from None
        _OPEN.add(self)
        self.mode = mode
        self._last_ts = -1
        #: wall time of the last MediaPipe call alone (image wrap + inference + result objects), ms
        self.last_call_ms = float("nan")

    def detect(self, rgb: np.ndarray, timestamp_ms: int | None = None) -> list[RawFace]:
        """Landmarks of every face in ``rgb (H, W, 3)`` uint8 RGB. In VIDEO mode ``timestamp_ms`` is made strictly
        increasing (a repeated or earlier one becomes last + 1 ms); None means last + 33 ms."""
        if self._task is None:
            raise StateError("this landmarker is closed; create a new one")
        import mediapipe as mp

        if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
            raise ShapeError("rgb", "(H, W, 3) uint8 RGB (use gazezoom.face.landmarker.to_rgb)", getattr(rgb, "shape", type(rgb).__name__))
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        t0 = time.perf_counter()
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self.mode == "video":
            ts = self._last_ts + 33 if timestamp_ms is None else int(timestamp_ms)
            ts = max(ts, self._last_ts + 1)
            self._last_ts = ts
            result = self._task.detect_for_video(image, ts)
        else:
            result = self._task.detect(image)
        self.last_call_ms = (time.perf_counter() - t0) * 1e3
        faces = []
        scale = np.array([w, h, w], float)
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([(p.x, p.y, p.z) for p in lms], float) * scale  # (478, 3)
            bs = {c.category_name: float(c.score) for c in result.face_blendshapes[i]} if result.face_blendshapes else {}
            tf = np.asarray(result.facial_transformation_matrixes[i], float) if result.facial_transformation_matrixes else None
            faces.append(RawFace(pts, bs, tf))
        return faces

    def close(self) -> None:
        if self._task is not None:
            self._task.close()
            self._task = None

    def __enter__(self) -> "MediaPipeLandmarker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # MediaPipe prints a TypeError at exit when a task is left open
        try:
            self.close()
        except Exception:
            pass
