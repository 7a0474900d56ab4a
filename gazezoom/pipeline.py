"""``Pipeline.process(frame) -> FrameResult``: the one per-frame path of the GUI, the video CLI, benchmarks and tests.

    front-end (landmarks → tracked faces → head pose, blinks, eye regions)
      → gaze (``gaze.predict(frame_bgr, face) -> GazeResult``; held during blinks)
      → screen (``calibration(result) -> ScreenPoint | None``; the last point held during blinks)

Stages are chosen by name from registries (landmarker backends in :mod:`gazezoom.face.landmarker`) or passed as
objects. Frames are BGR uint8 ``(H, W, 3)`` as OpenCV delivers them (``color="rgb"`` for RGB input), gray
``(H, W)`` or BGRA ``(H, W, 4)``, any size. A frame without a face gives ``FrameResult(face=None)``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

import numpy as np

from .errors import InputValueError, MediaError, UnreadableEyesError
from .face.camera import Camera, load_camera
from .face.frontend import FrontEnd
from .face.mirror import MirrorPass, match_mirrored, with_mirror
from .results import Face, FrameResult, GazeResult, ScreenPoint

__all__ = ["Pipeline", "ScreenStage", "GazeStage", "DEFAULT_FPS", "read_camera_file"]

#: Frame rate assumed for timestamps when ``process`` is called without ``time_s``.
DEFAULT_FPS = 30.0


class GazeStage(Protocol):
    def predict(self, frame_bgr: np.ndarray, face: Face) -> GazeResult: ...


def read_camera_file(path: str | Path) -> Camera:
    """:func:`~gazezoom.face.camera.load_camera`, with OpenCV's parser failures as a :class:`MediaError` that names
    the file: ``cv2.FileStorage`` on a file that is not YAML/XML (a text note, a PNG) raises a bare
    ``SystemError`` ("returned a result with an exception set") instead of ``cv2.error``."""
    try:
        return load_camera(path)
    except SystemError:
        raise MediaError(
            f"camera file {path}: not a camera calibration file (OpenCV cannot parse it as YAML/XML); pass the JSON "
            "or OpenCV YAML that `gazezoom camera calibrate` writes, or leave --camera-file out"
        ) from None


class ScreenStage:
    """The screen stage: the primary face's gaze → a point on the screen, and the one owner of the screen hold.

    ``calibration(result) -> ScreenPoint | None`` (a :class:`~gazezoom.calibration.mapping.ScreenMapper`, or None:
    no screen point). When it gives no point (a blink, a held gaze) while the same tracked face is still there, the
    stage repeats that face's last point marked ``held=True`` (``hold``: streams only; stills are unrelated).
    The app shows held points; the table and streams leave them out (``io.table``). Call: ``stage(result,
    timings)`` (adds ``timings["calibration"]`` when the calibration ran); :meth:`reset` forgets the held point.
    """

    def __init__(self, calibration: Callable[[FrameResult], ScreenPoint | None] | None, *, hold: bool = True):
        self.calibration, self.hold = calibration, bool(hold)
        self._last: tuple[int, ScreenPoint] | None = None  # (track id, last new point) of the primary face

    def __call__(self, result: FrameResult, timings: dict | None = None) -> ScreenPoint | None:
        face = result.face
        if face is None or self.calibration is None:
            self._last = None
            return None
        screen = None
        if result.gaze is not None:
            t1 = time.perf_counter()
            screen = self.calibration(result)
            if timings is not None:
                timings["calibration"] = (time.perf_counter() - t1) * 1e3
        if not self.hold:
            return screen
        if screen is not None:
            self._last = (face.track_id, screen)
            return screen
        if self._last is not None and self._last[0] == face.track_id:
            return dataclasses.replace(self._last[1], held=True)
        self._last = None
        return None

    def reset(self) -> None:
        self._last = None


class Pipeline:
    """Per-frame processing of one stream (``mode="video"``) or of unrelated stills (``mode="image"``).

    Args:
        landmarker: landmarker backend name (``gazezoom.face.landmarker.LANDMARKERS``).
        camera: :class:`Camera`, a camera file path (JSON / OpenCV YAML), or None for a default from the frame size.
        mode: ``"video"`` or ``"image"``.
        gaze: an object with ``predict(frame_bgr, face) -> GazeResult`` (e.g. ``gazezoom.models.predictor.
            GazePredictor``), or None for front-end only.
        calibration: a callable ``(FrameResult) -> ScreenPoint | None`` mapping gaze to the screen, or None.
            It maps the primary face only.
        color: channel order of 3/4-channel frames, ``"bgr"`` (default) or ``"rgb"``.
        all_faces: also gaze every other face (``FrameResult.others_gaze``; default: the primary only). In
            ``mode="image"`` the faces of a still are then renumbered ``track_id = 1, 2, …`` left to right (by the
            centre of their box), so a still's ids are a fixed order rather than the detector's.
        mirror: mirror averaging (:mod:`gazezoom.face.mirror`): a second front-end also reads each frame flipped
            left–right and every gaze is averaged with its mirror image's, which cancels the landmarker's left/right
            bias and averages two landmark passes' noise — about twice the front-end's time, for recordings. A face
            the mirror pass misses keeps its own reading. Landmarks, head pose and the sampler's pictures stay the
            frame's own.
        **frontend_options: passed to :class:`FrontEnd` (``num_faces``, ``min_detection_confidence``,
            ``model_path``, ``blink_thresholds`` …).

    Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        landmarker: str = "mediapipe",
        camera: Camera | str | Path | None = None,
        mode: str = "video",
        gaze: GazeStage | None = None,
        calibration: Callable[[FrameResult], ScreenPoint | None] | None = None,
        color: str = "bgr",
        all_faces: bool = False,
        mirror: bool = False,
        **frontend_options,
    ):
        if gaze is not None and not callable(getattr(gaze, "predict", None)):
            raise InputValueError(f"gaze must have predict(frame_bgr, face) -> GazeResult, got {type(gaze).__name__}")
        if calibration is not None and not callable(calibration):
            raise InputValueError(f"calibration must be callable (FrameResult) -> ScreenPoint | None, got {type(calibration).__name__}")
        if isinstance(camera, (str, Path)):
            camera = read_camera_file(camera)
        from .logs import native_logs_silenced, quiet_opencv

        quiet_opencv()
        with native_logs_silenced():  # MediaPipe's start-up lines (absl/TFLite) unless --verbose
            self.frontend = FrontEnd(landmarker, camera=camera, mode=mode, color=color, **frontend_options)
            self.mirror = None
            if mirror:
                try:
                    self.mirror = MirrorPass(landmarker, camera=camera, mode=mode, color=color, **frontend_options)
                except BaseException:  # e.g. a camera model the mirror cannot take: release the first landmarker
                    self.frontend.close()
                    raise
        self.mode, self.color, self.gaze = mode, color, gaze
        self.screen = ScreenStage(calibration, hold=mode == "video")  # owns the calibration and its blink hold
        self.all_faces = bool(all_faces)
        self._index = 0
        self._last_gaze: dict[int, GazeResult] = {}  # track id → last good gaze, for the faces gazed last frame

    def process(self, frame: np.ndarray, time_s: float | None = None) -> FrameResult:
        """One frame → :class:`FrameResult`. ``time_s``: the frame's time (seconds, increasing in video mode);
        None = ``index / DEFAULT_FPS``. ``timings_ms`` has "landmarks", "mediapipe", "frontend", "gaze",
        "gaze_others" (``all_faces``), "mirror" (the mirror pass's front-end, ``mirror=True``), "calibration" (when
        run) and "total"."""
        t0 = time.perf_counter()
        index = self._index
        self._index += 1
        if time_s is None:
            time_s = index / DEFAULT_FPS
        face, others, timings = self.frontend.process(frame, time_s)
        if self.all_faces and self.mode == "image":
            face, others = _left_to_right(face, others)
        gaze, others_gaze, last = None, (), self._last_gaze
        self._last_gaze = {}  # rebuilt from the faces gazed in this frame
        mirrored = None
        if self.mirror is not None:
            # every frame, face or not: the mirror's tracking sees the front-end's frames, and a mirror landmarker
            # running ahead (io.overlap) gets every frame it was given
            flipped, faces_m, timings["mirror"] = self.mirror.process(frame, time_s)
            mirrored = (self._bgr(flipped), faces_m)
        if face is not None and self.gaze is not None:
            gaze = self._gaze(frame, face, last, timings, "gaze", mirrored)
        if self.all_faces and self.gaze is not None:
            others_gaze = tuple(self._gaze(frame, f, last, timings, "gaze_others", mirrored) for f in others)
        camera = self.frontend.camera_for(frame.shape[1], frame.shape[0])
        result = FrameResult(index, float(time_s), tuple(frame.shape[:2]), face, others, gaze, None, {},
                             others_gaze, camera)
        screen = self.screen(result, timings)
        timings["total"] = (time.perf_counter() - t0) * 1e3
        # built once more, complete: nothing fills a result after it is returned
        return dataclasses.replace(result, screen=screen, timings_ms=MappingProxyType(timings))

    def _gaze(self, frame: np.ndarray, face: Face, last: dict[int, GazeResult], timings: dict, key: str,
              mirrored: tuple[np.ndarray, tuple[Face, ...]] | None) -> GazeResult | None:
        """Predict, or during a blink of a face tracked since the last frame hold its last good gaze (``held=True``;
        ``last``: track id → last good gaze). Only a stream holds: stills (``mode="image"``) are unrelated, and their
        track ids restart with every frame. Prediction time adds up in ``timings[key]``. With mirror averaging the
        reading is averaged with the same face's in the mirror image (``mirrored``: the flipped BGR frame and its
        faces; :func:`~gazezoom.face.mirror.with_mirror`). A face whose eyes cannot be read
        (:class:`~gazezoom.errors.UnreadableEyesError`: sunglasses, a hand over the eyes, a failed landmark fit) has
        no gaze (None): nothing is made up, nothing held."""
        held = last.get(face.track_id)
        if face.blink and self.mode == "video" and held is not None:
            self._last_gaze[face.track_id] = held
            return dataclasses.replace(held, held=True)
        t1 = time.perf_counter()
        try:
            gaze = self.gaze.predict(self._bgr(frame), face)
            if mirrored is not None:
                flipped, faces_m = mirrored
                gaze = with_mirror(gaze, face, match_mirrored(face, faces_m, frame.shape[1]),
                                   lambda f: self.gaze.predict(flipped, f))
        except UnreadableEyesError:
            return None
        finally:
            timings[key] = timings.get(key, 0.0) + (time.perf_counter() - t1) * 1e3
        if not face.blink:
            self._last_gaze[face.track_id] = gaze
        return gaze

    def reset_screen_hold(self) -> None:
        """Forget the held screen point (the calibration changed: a held point would be the old mapping's)."""
        self.screen.reset()

    def _bgr(self, frame: np.ndarray) -> np.ndarray:
        """The frame as BGR uint8 ``(H, W, 3)`` for the gaze stage (no copy for BGR input)."""
        if frame.ndim == 3 and frame.shape[2] == 3 and self.color == "bgr":
            return frame
        from .face.landmarker import to_rgb

        return np.ascontiguousarray(to_rgb(frame, self.color)[:, :, ::-1])

    def close(self) -> None:
        self.frontend.close()
        if self.mirror is not None:
            self.mirror.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _left_to_right(face: Face | None, others: tuple[Face, ...]) -> tuple[Face | None, tuple[Face, ...]]:
    """The faces of a still with ``track_id`` renumbered 1, 2, … from left to right (box centre x, then y): a
    fixed order for stills, whose tracker ids only say in which order the detector (and its tiles) found them."""
    faces = ([] if face is None else [face]) + list(others)
    order = sorted(range(len(faces)), key=lambda i: ((faces[i].bbox[0] + faces[i].bbox[2]) / 2,
                                                      (faces[i].bbox[1] + faces[i].bbox[3]) / 2))
    new = list(faces)
    for rank, i in enumerate(order, 1):
        new[i] = dataclasses.replace(faces[i], track_id=rank)
    return (None, tuple(new)) if face is None else (new[0], tuple(new[1:]))
