"""Head pose: rotation and position of the canonical face model in camera coordinates (mm).

Two estimates, checked against each other in the tests:

- :func:`pose_from_transform`: MediaPipe's facial transformation matrix (OpenGL axes, centimetres, for a virtual
  camera with a 63° vertical field of view) converted to OpenCV axes and rescaled to the real focal length.
- :func:`pose_from_landmarks`: ``cv2.solvePnP`` of the canonical model's rigid landmarks against the detected
  pixels with the real intrinsics and distortion, started from the first estimate. This is the one the front-end
  reports, because it uses the camera's actual ``K``.

Angles (degrees in :class:`~gazezoom.results.HeadPose`): pitch and yaw are those of the face's forward direction
``R @ (0, 0, -1)`` in the gaze convention of :mod:`gazezoom.geometry` (pitch > 0 head up, yaw > 0 head turned to
the camera's left); roll is the in-image angle of the head's x axis, positive clockwise in the image.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputValueError, ShapeError
from ..geometry import vector_to_pitchyaw
from ..results import HeadPose
from .camera import Camera
from .canonical import GL_TO_CV, CanonicalFace

__all__ = ["MEDIAPIPE_VFOV_DEG", "rotation_to_angles", "head_pose", "pose_from_transform", "pose_from_landmarks"]

#: Vertical field of view of the virtual camera MediaPipe's face-geometry stage assumes (its environment default).
MEDIAPIPE_VFOV_DEG = 63.0


def rotation_to_angles(R: np.ndarray) -> tuple[float, float, float]:
    """``R (3, 3)`` head → camera rotation → ``(pitch, yaw, roll)`` in radians (conventions in the module doc).

    >>> [round(a, 6) for a in rotation_to_angles(np.eye(3))]
    [0.0, 0.0, 0.0]
    """
    R = np.asarray(R, float)
    if R.shape != (3, 3):
        raise ShapeError("R", "(3, 3)", R.shape)
    pitch, yaw = vector_to_pitchyaw(-R[:, 2])
    roll = math.atan2(R[1, 0], R[0, 0])
    return float(pitch), float(yaw), float(roll)


def head_pose(R: np.ndarray, t_mm: np.ndarray) -> HeadPose:
    """Build a :class:`HeadPose` from ``R (3, 3)`` and ``t_mm (3,)``."""
    p, y, r = rotation_to_angles(R)
    return HeadPose(np.asarray(R, float), np.asarray(t_mm, float).reshape(3), math.degrees(p), math.degrees(y), math.degrees(r))


def pose_from_transform(transform: np.ndarray, K: np.ndarray, frame_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's ``transform (4, 4)`` → ``(R (3, 3), t_mm (3,))`` in OpenCV camera axes for intrinsics ``K``.

    ``frame_size = (H, W)``. MediaPipe places the face in front of a virtual camera of focal length
    ``f_mp = (H / 2) / tan(vfov / 2)``; with the same pixels, the real camera's focal length ``fy`` puts it
    ``fy / f_mp`` times as far (similar triangles).
    """
    M = np.asarray(transform, float)
    if M.shape != (4, 4):
        raise ShapeError("transform", "(4, 4)", M.shape)
    R = GL_TO_CV @ M[:3, :3] @ GL_TO_CV
    f_mp = (frame_size[0] / 2.0) / math.tan(math.radians(MEDIAPIPE_VFOV_DEG) / 2.0)
    t = GL_TO_CV @ M[:3, 3] * 10.0 * (float(K[1, 1]) / f_mp)
    return R, t


def pose_from_landmarks(
    landmarks_px: np.ndarray,
    camera: Camera,
    face_model: CanonicalFace,
    guess: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit the canonical model's rigid landmarks to ``landmarks_px (N >= 468, 2 or 3)`` → ``(R, t_mm)``.

    Iterative PnP (Levenberg–Marquardt on reprojection error) from ``guess`` when given, else from EPnP. When PnP
    fails (or puts the head behind the camera) the ``guess`` itself is returned; without a guess that is an
    :class:`InputValueError`.
    """
    import cv2

    ids = face_model.rigid_ids
    image_pts = np.ascontiguousarray(landmarks_px[ids, :2], dtype=np.float64)
    object_pts = np.ascontiguousarray(face_model.points_mm[ids], dtype=np.float64)
    if guess is not None:
        rvec0, _ = cv2.Rodrigues(np.asarray(guess[0], float))
        tvec0 = np.asarray(guess[1], float).reshape(3, 1).copy()
        ok, rvec, tvec = cv2.solvePnP(object_pts, image_pts, camera.K, camera.dist, rvec0, tvec0, True, cv2.SOLVEPNP_ITERATIVE)
    else:
        ok, rvec, tvec = cv2.solvePnP(object_pts, image_pts, camera.K, camera.dist, flags=cv2.SOLVEPNP_EPNP)
        if ok:
            ok, rvec, tvec = cv2.solvePnP(object_pts, image_pts, camera.K, camera.dist, rvec, tvec, True, cv2.SOLVEPNP_ITERATIVE)
    if not ok or tvec[2, 0] <= 0:
        if guess is not None:
            return np.asarray(guess[0], float), np.asarray(guess[1], float).reshape(3)
        raise InputValueError("solvePnP found no head pose for these landmarks (degenerate points?)")
    R, _ = cv2.Rodrigues(rvec)
    return R, tvec.reshape(3)
