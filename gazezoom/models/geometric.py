"""``geometric``: gaze from MediaPipe's iris centre and eye corners plus the head pose, through an eyeball model.

No learned weights. It is the floor the learned model must beat on real eyes, and a fallback users can pick
(``--gaze geometric``). Per eye (all in camera millimetres):

1. The detected corners and iris centre are lifted onto the eye region's plane (the plane through the eye centre
   facing the normalised camera, :mod:`gazezoom.face.eyes`): the region homography ``region_to_frame`` is
   ``K @ [(W/2) x_n | (H/2) y_n | c]``, so a frame pixel's region coordinates ``(u, v)`` give the 3-D point
   ``c + (W/2) u x_n + (H/2) v y_n`` on the camera ray through that pixel — no intrinsics needed beyond the region.
2. The **eyeball centre** ``E`` sits behind the midpoint of the *detected* corners by the renderer's population
   geometry (:data:`EYEBALL_OFFSET_MM`, head axes: y down, z into the head), turned by the head rotation.
3. The iris centre lies on a sphere of radius :data:`IRIS_SPHERE_MM` about ``E``: the camera ray through the
   detected iris centre meets it (nearer intersection; a ray that misses takes the sphere's closest point). The
   optical axis is ``E → iris``.
4. The visual axis is the optical axis turned by the population-mean angle kappa (:data:`KAPPA_MEAN`, the same
   definition as the renderer's gaze label), nasal for each eye.

The two eyes are fused as the network's are (openness-weighted, :func:`~.predictor.fuse_eyes`); each
:class:`~gazezoom.results.EyeGaze` keeps its own reading.

>>> import numpy as np
>>> E, r = np.array([0.0, 0.0, 600.0]), 10.0
>>> np.round(ray_sphere_near(np.array([0.0, 0.0, 1.0]), E, r), 6).tolist()  # straight at the eye: the front pole
[0.0, 0.0, 590.0]
"""

from __future__ import annotations

import numpy as np

from ..errors import InputValueError
from ..face.eyes import EYE_LANDMARKS, frame_to_region
from ..geometry import REGION_MM, pitchyaw_to_vector, vector_to_pitchyaw
from ..results import EyeGaze, EyeRegion, Face, GazeResult
from ..synth.params import KAPPA_MEAN

__all__ = ["GeometricGaze", "EYEBALL_OFFSET_MM", "IRIS_SPHERE_MM", "region_points_to_camera", "ray_sphere_near",
           "eye_gaze_geometric"]

#: Eyeball centre relative to the midpoint of the two eye corners, head axes of a *left* eye (x temporal, y down,
#: z into the head), mm: the mean of the renderer's draws (``synth.params``: x ∈ [−0.8, 0.8], y ∈ [−2.5, 0.5],
#: z ∈ [8.5, 11]).
EYEBALL_OFFSET_MM = np.array([0.0, -1.0, 9.75])
#: Distance of the visible iris/pupil centre from the eyeball centre, mm (the renderer's pupil: limbus plane
#: √(12² − 5.85²) ≈ 10.5 mm, less 0.4 mm).
IRIS_SPHERE_MM = 10.1


def region_points_to_camera(eye: EyeRegion, points_px: np.ndarray) -> np.ndarray:
    """Frame pixels ``(N, 2)`` → the 3-D points ``(N, 3)`` (camera mm) where their camera rays meet the eye's region
    plane (through ``eye.center_mm``, spanned by the normalised camera's x and y axes)."""
    uv = frame_to_region(np.asarray(eye.region_to_frame, float), points_px)
    if eye.side == "right":
        uv[:, 0] = -uv[:, 0]  # the right eye's region is mirrored (architecture.md)
    h_mm, w_mm = REGION_MM
    R = np.asarray(eye.R_norm, float)
    return np.asarray(eye.center_mm, float) + (w_mm / 2) * uv[:, :1] * R[0] + (h_mm / 2) * uv[:, 1:] * R[1]


def ray_sphere_near(direction: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    """The nearer point ``(3,)`` where the ray from the origin along ``direction (3,)`` meets the sphere; where it
    misses, the sphere's point closest to the ray."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    c = np.asarray(center, float)
    b = float(d @ c)
    disc = b * b - (float(c @ c) - radius * radius)
    if disc >= 0.0:
        return (b - np.sqrt(disc)) * d
    q = b * d - c  # closest point of the ray to the centre, relative to it
    return c + radius * q / np.linalg.norm(q)


def _with_kappa(optical_head: np.ndarray, side: str) -> np.ndarray:
    """Optical axis (head axes, unit) → visual axis: pitch/yaw plus KAPPA_MEAN in a left eye's frame (a right eye is
    mirrored in, turned, mirrored out), as the renderer defines its label."""
    v = np.array(optical_head, float)
    if side == "right":
        v[0] = -v[0]
    v = pitchyaw_to_vector(vector_to_pitchyaw(v) + np.asarray(KAPPA_MEAN))
    if side == "right":
        v[0] = -v[0]
    return v


def eye_gaze_geometric(face: Face, eye: EyeRegion) -> np.ndarray:
    """Unit visual axis ``(3,)`` in camera space of one eye from its detected corners and iris centre."""
    ids = EYE_LANDMARKS[eye.side]
    L = np.asarray(face.landmarks_px, float)[:, :2]
    pts = region_points_to_camera(eye, L[[ids["inner"], ids["outer"], ids["iris"]]])
    R = np.asarray(face.head.rotation, float)
    off = EYEBALL_OFFSET_MM.copy()
    if eye.side == "right":
        off[0] = -off[0]  # temporal is the head's -x for the right eye
    E = pts[:2].mean(0) + R @ off
    iris = ray_sphere_near(pts[2], E, IRIS_SPHERE_MM)
    optical = iris - E
    optical /= np.linalg.norm(optical)
    return R @ _with_kappa(R.T @ optical, eye.side)


class GeometricGaze:
    """The ``geometric`` gaze stage: ``predict(frame_bgr, face) -> GazeResult`` (the frame is not read)."""

    name = "geometric"
    variant = "geometric"

    def predict(self, frame_bgr: np.ndarray | None, face: Face, *, display: bool = True) -> GazeResult:
        eyes = tuple(face.eyes)
        if len(eyes) != 2:
            raise InputValueError(f"face must have two eye regions (left, right), got {len(eyes)}")
        from .predictor import fuse_eyes

        gazes, vecs = [], []
        for eye in eyes:
            v = eye_gaze_geometric(face, eye)
            g_n = np.asarray(eye.R_norm, float) @ v
            vecs.append(v)
            gazes.append(EyeGaze(side=eye.side, pitchyaw_norm=vector_to_pitchyaw(g_n), vector_cam=v))
        v = fuse_eyes(np.stack(vecs), np.array([e.openness for e in eyes]))
        origin = np.mean([np.asarray(e.center_mm, float) for e in eyes], 0)
        return GazeResult(eyes=(gazes[0], gazes[1]), vector_cam=v, pitchyaw=vector_to_pitchyaw(v), origin_mm=origin)
