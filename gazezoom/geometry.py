"""Coordinate conventions shared by every stage (see docs/architecture.md).

Camera coordinates: x right, y down, z forward (OpenCV). A gaze vector points from the eye into the scene, so
looking straight into the camera is ``(0, 0, -1)``. Pitch/yaw follow MPIIGaze / ETH-XGaze::

    g = (-cos(p) sin(y), -sin(p), -cos(p) cos(y))      pitch > 0 looks up, yaw > 0 looks to the camera's left
                                                         (the subject's right)

Angles are radians unless a name ends in ``_deg``. Functions accept numpy arrays or torch tensors of shape
``(..., 2)`` / ``(..., 3)`` and return the same kind.

>>> import numpy as np
>>> v = pitchyaw_to_vector(np.array([0.1, -0.2]))
>>> np.allclose(vector_to_pitchyaw(v), [0.1, -0.2])
True
>>> pitchyaw_to_vector(np.zeros(2)).tolist()
[-0.0, -0.0, -1.0]
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "REGION_MM",
    "pitchyaw_to_vector",
    "vector_to_pitchyaw",
    "angular_error_deg",
    "apply_homography",
]

#: Physical size (height, width) in millimetres of the eye region in normalised eye space: a rectangle in the
#: plane through the eye centre (midpoint of the two eye corners) facing the normalised camera, roll removed.
#: The renderer draws exactly this rectangle; the front-end maps it into the frame.
REGION_MM: tuple[float, float] = (30.0, 50.0)


def _lib(x):
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np
    import torch

    return torch


def pitchyaw_to_vector(py):
    """``(..., 2)`` pitch/yaw (radians) → ``(..., 3)`` unit gaze vector in the convention above."""
    lib = _lib(py)
    p, y = py[..., 0], py[..., 1]
    return lib.stack([-lib.cos(p) * lib.sin(y), -lib.sin(p), -lib.cos(p) * lib.cos(y)], -1)


def vector_to_pitchyaw(v):
    """``(..., 3)`` gaze vector (any length > 0) → ``(..., 2)`` pitch/yaw in radians."""
    lib = _lib(v)
    if lib is np:
        n = np.linalg.norm(v, axis=-1, keepdims=True)
        v = v / n
        return np.stack([np.arcsin(np.clip(-v[..., 1], -1, 1)), np.arctan2(-v[..., 0], -v[..., 2])], -1)
    v = v / v.norm(dim=-1, keepdim=True)
    return lib.stack([lib.asin((-v[..., 1]).clamp(-1, 1)), lib.atan2(-v[..., 0], -v[..., 2])], -1)


def angular_error_deg(a, b):
    """Angle in degrees between gaze directions; inputs ``(..., 2)`` pitch/yaw or ``(..., 3)`` vectors."""
    lib = _lib(a)
    if a.shape[-1] == 2:
        a = pitchyaw_to_vector(a)
    if b.shape[-1] == 2:
        b = pitchyaw_to_vector(b)
    if lib is np:
        a = a / np.linalg.norm(a, axis=-1, keepdims=True)
        b = b / np.linalg.norm(b, axis=-1, keepdims=True)
        return np.degrees(np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0)))
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    return (a * b).sum(-1).clamp(-1.0, 1.0).acos() * (180.0 / math.pi)


def apply_homography(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points ``(K, 2)`` through a homography ``H (3, 3)`` → ``(K, 2)`` (numpy; torch: ``gazezoom.sampler``).

    >>> apply_homography(np.array([[2.0, 0, 1], [0, 3, 0], [0, 0, 1]]), np.array([[1.0, 1.0]])).tolist()
    [[3.0, 3.0]]
    """
    pts = np.asarray(points, float)
    q = np.concatenate([pts, np.ones(pts.shape[:-1] + (1,))], -1) @ np.asarray(H, float).T
    return q[..., :2] / q[..., 2:]
