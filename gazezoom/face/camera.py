"""Camera intrinsics: a default from the frame size, or a calibration file (OpenCV YAML/XML or JSON).

JSON layout (what ``gazezoom camera calibrate`` writes)::

    {"image_size": [W, H], "camera_matrix": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],
     "dist_coeffs": [k1, k2, p1, p2, k3]}

OpenCV files use the names of OpenCV's ``calibration.cpp`` sample: ``camera_matrix``, ``distortion_coefficients``,
``image_width``, ``image_height``. A camera calibrated at another resolution of the same sensor is rescaled
(same aspect ratio assumed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputValueError, MediaError

__all__ = ["Camera", "default_camera", "load_camera", "save_camera"]


@dataclass(frozen=True, eq=False)
class Camera:
    """Pinhole intrinsics ``K (3, 3)`` for frames of ``image_size = (W, H)``; ``dist (k,)`` OpenCV distortion.

    ``is_default`` tells a guessed camera (focal length from the frame size) from a calibrated one.
    """

    K: np.ndarray
    dist: np.ndarray
    image_size: tuple[int, int]
    is_default: bool = False

    def for_size(self, width: int, height: int) -> "Camera":
        """The same camera for frames of ``width × height`` (K scaled; a default camera is rebuilt).

        >>> cam = Camera(np.array([[800.0, 0, 319.5], [0, 800, 239.5], [0, 0, 1]]), np.zeros(5), (640, 480))
        >>> cam.for_size(1280, 960).K.tolist()
        [[1600.0, 0.0, 639.5], [0.0, 1600.0, 479.5], [0.0, 0.0, 1.0]]
        """
        if (width, height) == tuple(self.image_size):
            return self
        if self.is_default:
            return default_camera(width, height)
        sx, sy = width / self.image_size[0], height / self.image_size[1]
        if abs(sx - sy) > 0.02 * max(sx, sy):
            raise InputValueError(
                f"camera calibrated for {self.image_size[0]}x{self.image_size[1]} cannot be used for "
                f"{width}x{height} frames (different aspect ratio); calibrate at this resolution"
            )
        # pixel centres at integers: a resize maps x to (x + 0.5) * s - 0.5, so the principal point moves by that
        # and the focal length scales by s
        S = np.array([[sx, 0.0, 0.5 * (sx - 1.0)], [0.0, sy, 0.5 * (sy - 1.0)], [0.0, 0.0, 1.0]])
        return Camera(S @ self.K, self.dist, (width, height), False)


def default_camera(width: int, height: int) -> Camera:
    """A typical webcam: focal length = the frame's long side in pixels (≈ 53° across it), centred, no distortion.

    >>> default_camera(640, 480).K.tolist()
    [[640.0, 0.0, 319.5], [0.0, 640.0, 239.5], [0.0, 0.0, 1.0]]
    """
    if width <= 0 or height <= 0:
        raise InputValueError(f"frame size must be positive, got {width}x{height}")
    f = float(max(width, height))
    K = np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
    return Camera(K, np.zeros(5), (int(width), int(height)), True)


def _check(K, dist, size, path) -> Camera:
    K = np.asarray(K, float)
    dist = np.asarray(dist if dist is not None else np.zeros(5), float).ravel()
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise MediaError(f"{path}: camera_matrix must be a 3x3 matrix with positive fx, fy; got {K.tolist()}")
    if dist.size not in (0, 4, 5, 8, 12, 14):
        raise MediaError(f"{path}: distortion must have 4, 5, 8, 12 or 14 coefficients, got {dist.size}")
    w, h = (int(size[0]), int(size[1])) if size is not None else (0, 0)
    if w <= 0 or h <= 0:
        raise MediaError(f"{path}: image size (width, height) missing or not positive; add image_size [W, H]")
    return Camera(K, dist, (w, h), False)


def load_camera(path: str | Path) -> Camera:
    """Read a camera file (``.json``, or OpenCV ``.yml/.yaml/.xml``); raise :class:`MediaError` if unusable."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"camera file {path} not found; pass a JSON or OpenCV YAML file from `gazezoom camera calibrate`")
    if path.suffix.lower() == ".json":
        try:
            d = json.loads(path.read_text())
            return _check(d["camera_matrix"], d.get("dist_coeffs"), d.get("image_size"), path)
        except (ValueError, KeyError, TypeError) as err:
            raise MediaError(f"{path}: not a camera JSON ({err!r}); expected keys image_size, camera_matrix, dist_coeffs") from None
    import cv2

    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except cv2.error as err:
        raise MediaError(f"{path}: OpenCV cannot parse it as a calibration file ({err})") from None
    try:
        if not fs.isOpened():
            raise MediaError(f"{path}: OpenCV cannot open it as a calibration file (YAML/XML)")
        K = fs.getNode("camera_matrix").mat()
        if K is None:
            raise MediaError(f"{path}: no camera_matrix node (OpenCV calibration sample format expected)")
        dist = fs.getNode("distortion_coefficients").mat()
        size = (fs.getNode("image_width").real(), fs.getNode("image_height").real())
        return _check(K, dist, size, path)
    finally:
        fs.release()


def save_camera(camera: Camera, path: str | Path) -> None:
    """Write ``camera`` as JSON (the layout :func:`load_camera` reads)."""
    Path(path).write_text(
        json.dumps(
            {
                "image_size": list(camera.image_size),
                "camera_matrix": np.asarray(camera.K).tolist(),
                "dist_coeffs": np.asarray(camera.dist).ravel().tolist(),
            },
            indent=2,
        )
    )
