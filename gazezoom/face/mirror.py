"""Mirror averaging: every frame read twice, as it is and flipped left–right, and each gaze reading averaged with
its mirror image's.

The landmarker is not symmetric: on the shared clips it puts the eye on the image's left ~0.4° lower than the other
one whatever the face does (``scripts/eye_pitch_mirror_split.py``, docs/zoom.md). On the mirror image of a frame
that bias goes with the image side while the face's own reading flips, so averaging the two readings (yaw negated,
the eyes' names swapped) cancels the bias, and the two landmark passes average their noise. Measured on the shared
clips (docs/zoom.md): the two eyes' ``|Δpitch|`` and the frame-to-frame jitter fall by a quarter to a half for every
gaze stage; it costs a second landmarker pass per frame, so it is an option for recordings
(``gazezoom process --mirror``, ``Pipeline(mirror=True)``), not the live default.

Mirroring about the frame's vertical centre line maps pixel ``x`` to ``W − 1 − x`` (pixel centres at integers) and a
camera-space point or direction ``(x, y, z)`` to ``(−x, y, z)`` **if** the mirror image is read through the mirrored
camera (:func:`mirror_camera`: principal point ``cx → W − 1 − cx``; the default camera is centred and its own
mirror). The mirror image's front-end names the eyes by the face it sees, so its ``"left"`` eye is the subject's
right eye.

>>> mirror_box(np.array([10.0, 20.0, 30.0, 60.0]), 100).tolist()
[69.0, 20.0, 89.0, 60.0]
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from ..errors import InputValueError, UnreadableEyesError
from ..geometry import vector_to_pitchyaw
from ..results import Face, GazeResult
from .camera import Camera
from .tracking import iou

__all__ = ["MIRROR", "MIN_MATCH_IOU", "mirror_box", "mirror_camera", "mirror_frame", "match_mirrored",
           "average_with_mirror", "with_mirror", "MirrorPass"]

#: Camera-space reflection of the frame's left–right flip (for the mirrored camera, :func:`mirror_camera`).
MIRROR = np.diag([-1.0, 1.0, 1.0])
#: Overlap (IoU) between a face's box and a mirror-image face's box flipped back, to call them the same face.
MIN_MATCH_IOU = 0.5
#: Other-side partner of each eye: the mirror image's ``"left"`` eye is the subject's right one.
_PARTNER = {"left": "right", "right": "left"}


def mirror_box(bbox: np.ndarray, width: int) -> np.ndarray:
    """A box ``(x0, y0, x1, y1)`` in a ``width``-wide frame → the same box in its mirror image ``(4,)``."""
    x0, y0, x1, y1 = np.asarray(bbox, float)
    return np.array([width - 1 - x1, y0, width - 1 - x0, y1])


def mirror_camera(camera: Camera) -> Camera:
    """The camera that sees the mirror image of ``camera``'s frames: principal point ``cx → W − 1 − cx``; of OpenCV's
    distortion, the terms odd in ``x`` change sign (``p2``, and the thin-prism ``s1, s2``); a tilted sensor
    (``τx, τy``) is refused. A camera-space vector ``v`` of the frame is ``MIRROR @ v`` in the mirror image."""
    K = np.array(camera.K, float)
    dist = np.array(camera.dist, float).ravel()
    if dist.size > 12 and np.any(dist[12:] != 0):
        raise InputValueError("mirror averaging cannot use a camera calibrated with a tilted sensor model (τx, τy); "
                              "calibrate without CALIB_TILTED_MODEL or leave --mirror out")
    W = camera.image_size[0]
    K[0, 2] = W - 1 - K[0, 2]
    K[0, 1] = -K[0, 1]  # skew, 0 for OpenCV's calibration
    for i in (3, 8, 9):  # p2, s1, s2
        if i < dist.size:
            dist[i] = -dist[i]
    return Camera(K, dist, tuple(camera.image_size), camera.is_default)


def mirror_frame(frame: np.ndarray) -> np.ndarray:
    """``frame (H, W[, C])`` flipped left–right, contiguous (landmarkers and OpenCV want contiguous arrays)."""
    return np.ascontiguousarray(frame[:, ::-1])


def match_mirrored(face: Face, mirrored_faces: Sequence[Face], width: int) -> Face | None:
    """The face of the mirror image that is ``face`` (its box flipped back overlaps ``face``'s by at least
    :data:`MIN_MATCH_IOU`, the best such), or None."""
    if not len(mirrored_faces):
        return None
    boxes = np.stack([mirror_box(f.bbox, width) for f in mirrored_faces])
    overlap = iou(np.asarray(face.bbox, float)[None], boxes)[0]
    best = int(np.argmax(overlap))
    return mirrored_faces[best] if overlap[best] >= MIN_MATCH_IOU else None


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    if not np.isfinite(n) or n < 1e-9:  # opposite readings: nothing to average, keep the frame's own
        raise ValueError("opposite")
    return v / n


def average_with_mirror(gaze: GazeResult, mirrored: GazeResult, face: Face) -> GazeResult:
    """``gaze`` (of ``face`` in the frame) averaged with ``mirrored`` (the same face's gaze in the mirror image,
    through :func:`mirror_camera`): each eye's direction with its partner's reflected (``MIRROR @ v``, the mirror
    image's ``"right"`` eye is the subject's left), the fused direction and ``origin_mm`` likewise. Directions are
    averaged as unit vectors and renormalised; ``pitchyaw_norm`` is recomputed in each eye's normalised space
    (``face``'s ``R_norm``); the sampler's pictures (``sample``) stay the frame's own."""
    eyes_m = {e.side: e for e in mirrored.eyes}
    regions = {e.side: e for e in face.eyes}
    try:
        eyes = []
        for e in gaze.eyes:
            v = _unit(np.asarray(e.vector_cam, float) + MIRROR @ np.asarray(eyes_m[_PARTNER[e.side]].vector_cam, float))
            py = vector_to_pitchyaw(np.asarray(regions[e.side].R_norm, float) @ v)
            eyes.append(dataclasses.replace(e, vector_cam=v, pitchyaw_norm=np.asarray(py, float)))
        fused = _unit(np.asarray(gaze.vector_cam, float) + MIRROR @ np.asarray(mirrored.vector_cam, float))
    except ValueError:
        return gaze
    origin = 0.5 * (np.asarray(gaze.origin_mm, float) + MIRROR @ np.asarray(mirrored.origin_mm, float))
    return dataclasses.replace(gaze, eyes=tuple(eyes), vector_cam=fused,
                               pitchyaw=np.asarray(vector_to_pitchyaw(fused), float), origin_mm=origin)


def with_mirror(gaze: GazeResult, face: Face, face_m: Face | None, predict) -> GazeResult:
    """``gaze`` of ``face`` averaged (:func:`average_with_mirror`) with ``predict(face_m)``, the gaze of the same face
    in the mirror image (``face_m``, :func:`match_mirrored`); the frame's own reading where the mirror image has no
    such face (None) or its eyes cannot be read there (``UnreadableEyesError``). The one rule of
    ``Pipeline(mirror=True)`` and the scoreboard's ``--mirror``."""
    if face_m is None:
        return gaze
    try:
        return average_with_mirror(gaze, predict(face_m), face)
    except UnreadableEyesError:
        return gaze


class MirrorPass:
    """A second front-end that reads each frame's mirror image (its own tracking in ``mode="video"``, as a second
    camera would), through the mirrored camera of the frame's.

    ``process(frame, time_s) -> (mirrored_frame, faces, ms)``: the flipped frame (same colour order), every face the
    front-end found there (primary first) and the time it took. Frames as :class:`~gazezoom.face.frontend.FrontEnd`
    takes them. ``camera``: the frame's camera (None: the default for each frame size, its own mirror).
    """

    def __init__(self, landmarker: str = "mediapipe", camera: Camera | None = None, mode: str = "video",
                 color: str = "bgr", **frontend_options):
        from .frontend import FrontEnd

        self.frontend = FrontEnd(landmarker, camera=None if camera is None else mirror_camera(camera), mode=mode,
                                 color=color, **frontend_options)

    def process(self, frame: np.ndarray, time_s: float | None = None) -> tuple[np.ndarray, tuple[Face, ...], float]:
        t0 = time.perf_counter()
        mirrored = mirror_frame(frame)
        face, others, _ = self.frontend.process(mirrored, time_s)
        faces = (() if face is None else (face,)) + tuple(others)
        return mirrored, faces, (time.perf_counter() - t0) * 1e3

    def close(self) -> None:
        self.frontend.close()

    def __enter__(self) -> "MirrorPass":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
