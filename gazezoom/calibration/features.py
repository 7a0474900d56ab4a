"""Per-frame calibration features: what the regressors see of one :class:`~gazezoom.results.FrameResult`.

A feature vector is a plain ``(F,)`` float64 array laid out as :data:`FEATURE_NAMES` (``F = 19``):

==========  =====  ===============================================================================
columns     name   meaning
==========  =====  ===============================================================================
0:3         gaze_l left eye's gaze from the network, unit vector, camera space
3:6         gaze_r right eye's gaze, unit vector, camera space
6:9         origin midpoint of the two eye centres, camera mm (``GazeResult.origin_mm``)
9:12        head_r head rotation as a rotation vector (axis × angle, radians), head → camera
12:15       head_t head position, camera mm
15:17       iris_l left iris centre relative to the eye corners: (along, across) the corner axis
17:19       iris_r right iris centre, same
==========  =====  ===============================================================================

The iris coordinates are ``along = (iris − inner)·e / |e|² − ½`` and ``across = (iris − inner)×e / |e|²`` with
``e = outer − inner``: 0 at the middle of the corner segment, scale-free (corner distance = 1).
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..geometry import vector_to_pitchyaw

__all__ = [
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "N_FEATURES",
    "COLUMNS",
    "features_from_result",
    "iris_relative",
    "rotation_to_rvec",
    "rvec_to_rotation",
    "check_features",
    "gaze_inputs",
    "mean_gaze",
]

FEATURE_NAMES: tuple[str, ...] = (
    "gaze_l_x", "gaze_l_y", "gaze_l_z",
    "gaze_r_x", "gaze_r_y", "gaze_r_z",
    "origin_x_mm", "origin_y_mm", "origin_z_mm",
    "head_rx", "head_ry", "head_rz",
    "head_tx_mm", "head_ty_mm", "head_tz_mm",
    "iris_l_along", "iris_l_across",
    "iris_r_along", "iris_r_across",
)  # fmt: skip
N_FEATURES = len(FEATURE_NAMES)
#: Bumped when the layout changes; profiles record it and refuse another.
FEATURE_VERSION = 1

COLUMNS: dict[str, slice] = {
    "gaze_l": slice(0, 3),
    "gaze_r": slice(3, 6),
    "origin": slice(6, 9),
    "head_r": slice(9, 12),
    "head_t": slice(12, 15),
    "iris_l": slice(15, 17),
    "iris_r": slice(17, 19),
}


def features_from_result(result) -> np.ndarray | None:
    """``FrameResult`` → ``(19,)`` features, or None when the frame has no face, no gaze, a blink or held gaze."""
    face = getattr(result, "face", None)
    gaze = getattr(result, "gaze", None)
    if face is None or gaze is None or face.blink or gaze.held:
        return None
    left, right = face.eyes
    if left.blink or right.blink:
        return None
    gl = _unit(gaze.eyes[0].vector_cam)
    gr = _unit(gaze.eyes[1].vector_cam)
    f = np.concatenate(
        [
            gl,
            gr,
            np.asarray(gaze.origin_mm, float),
            rotation_to_rvec(np.asarray(face.head.rotation, float)),
            np.asarray(face.head.translation_mm, float),
            iris_relative(left.iris_px, left.corners_px),
            iris_relative(right.iris_px, right.corners_px),
        ]
    )
    if f.shape != (N_FEATURES,) or not np.all(np.isfinite(f)):
        return None
    return f


def iris_relative(iris_px: np.ndarray, corners_px: np.ndarray) -> np.ndarray:
    """Iris centre ``(2,)`` relative to the eye corners ``(2, 2)`` (inner, outer) → ``(2,)`` (along, across).

    >>> iris_relative(np.array([5., 1.]), np.array([[0., 0.], [10., 0.]])).tolist()
    [0.0, 0.1]
    """
    iris = np.asarray(iris_px, float)
    corners = np.asarray(corners_px, float)
    if iris.shape != (2,) or corners.shape != (2, 2):
        raise ShapeError("iris / corners", "(2,) and (2, 2)", (iris.shape, corners.shape))
    e = corners[1] - corners[0]
    n2 = float(e @ e)
    if n2 < 1e-12:
        return np.full(2, np.nan)
    d = iris - corners[0]
    return np.array([d @ e / n2 - 0.5, (e[0] * d[1] - e[1] * d[0]) / n2])


def rotation_to_rvec(R: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation → ``(3,)`` rotation vector (axis × angle). Inverse of :func:`rvec_to_rotation`.

    >>> r = np.array([0.1, -0.2, 0.3]); np.allclose(rotation_to_rvec(rvec_to_rotation(r)), r)
    True
    """
    R = np.asarray(R, float)
    if R.shape != (3, 3):
        raise ShapeError("rotation", "(3, 3)", R.shape)
    cos = np.clip((np.trace(R) - 1) / 2, -1.0, 1.0)
    angle = np.arccos(cos)
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    if angle < 1e-8:
        return w / 2
    if np.pi - angle < 1e-4:  # near 180°: take the axis from the symmetric part
        axis = np.sqrt(np.clip((np.diag(R) + 1) / 2, 0, None))
        axis = axis * np.where(w >= 0, 1, -1)
        return axis / np.linalg.norm(axis) * angle
    return w / (2 * np.sin(angle)) * angle


def rvec_to_rotation(r: np.ndarray) -> np.ndarray:
    """``(..., 3)`` rotation vectors → ``(..., 3, 3)`` rotations (Rodrigues' formula)."""
    r = np.asarray(r, float)
    if r.shape[-1:] != (3,):
        raise ShapeError("rotation vector", "(..., 3)", r.shape)
    theta = np.linalg.norm(r, axis=-1)[..., None, None]
    k = r / np.maximum(np.linalg.norm(r, axis=-1, keepdims=True), 1e-12)
    K = np.zeros(r.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    K = K - np.swapaxes(K, -1, -2)
    eye = np.broadcast_to(np.eye(3), K.shape)
    return eye + np.sin(theta) * K + (1 - np.cos(theta)) * K @ K


def check_features(X: np.ndarray, name: str = "features") -> np.ndarray:
    """Check that ``X`` is a ``(N, 19)`` feature matrix; returns it as float64. Values are not checked: NaN rows
    give NaN predictions (``fit`` refuses them itself)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise ShapeError(name, f"(N, {N_FEATURES}) laid out as calibration.features.FEATURE_NAMES", X.shape)
    return X


def mean_gaze(X: np.ndarray) -> np.ndarray:
    """``(N, 19)`` features → ``(N, 3)`` unit mean of the two eyes' camera-space gaze."""
    g = X[:, COLUMNS["gaze_l"]] + X[:, COLUMNS["gaze_r"]]
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def gaze_inputs(X: np.ndarray) -> np.ndarray:
    """``(N, 19)`` features → ``(N, 14)`` regression inputs: per-eye pitch/yaw (4), origin (3), head rotation
    vector (3), iris (4). Angles in radians, positions in mm."""
    return np.concatenate(
        [
            vector_to_pitchyaw(X[:, COLUMNS["gaze_l"]]),
            vector_to_pitchyaw(X[:, COLUMNS["gaze_r"]]),
            X[:, COLUMNS["origin"]],
            X[:, COLUMNS["head_r"]],
            X[:, COLUMNS["iris_l"]],
            X[:, COLUMNS["iris_r"]],
        ],
        axis=1,
    )


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)
