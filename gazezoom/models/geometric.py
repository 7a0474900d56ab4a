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

The two eyes are fused as the network's are (openness-weighted, :func:`~.predictor.fuse_eyes`), each weight also
times the eye's reliability ``cos² β`` (:func:`eyeball_fit`: an eye turned towards its silhouette from the camera's
view reads much less precisely); each :class:`~gazezoom.results.EyeGaze` keeps its own reading.

>>> import numpy as np
>>> E, r = np.array([0.0, 0.0, 600.0]), 10.0
>>> np.round(ray_sphere_near(np.array([0.0, 0.0, 1.0]), E, r), 6).tolist()  # straight at the eye: the front pole
[0.0, 0.0, 590.0]
"""

from __future__ import annotations

import numpy as np

from ..errors import InputValueError
from ..face.eyes import EYE_LANDMARKS, frame_to_region, iris_centre_px
from ..geometry import REGION_MM, pitchyaw_to_vector, vector_to_pitchyaw
from ..results import EyeGaze, EyeRegion, EyeSample, Face, GazeResult
from ..synth.params import KAPPA_MEAN
from .variants import LOCATOR_OUTPUTS

__all__ = ["GeometricGaze", "PupilGaze", "EYEBALL_OFFSET_MM", "IRIS_SPHERE_MM", "BLENDSHAPE_PITCH_DEG", "region_points_to_camera",
           "ray_sphere_near", "ray_sphere_meet", "eyeball_gaze", "eyeball_fit", "eye_gaze_geometric", "eye_fit_geometric",
           "blendshape_vertical", "blendshape_pitch", "with_common_pitch", "render_pupil_gaze", "gaze_of_output"]

#: Eyeball centre relative to the midpoint of the two eye corners, head axes of a *left* eye (x temporal, y down,
#: z into the head), mm: the mean of the renderer's draws (``synth.params``: x ∈ [−0.8, 0.8], y ∈ [−2.5, 0.5],
#: z ∈ [8.5, 11]).
EYEBALL_OFFSET_MM = np.array([0.0, -1.0, 9.75])
#: Distance of the visible iris/pupil centre from the eyeball centre, mm (the renderer's pupil: limbus plane
#: √(12² − 5.85²) ≈ 10.5 mm, less 0.4 mm).
IRIS_SPHERE_MM = 10.1
#: Eye-in-head pitch, degrees, per unit of MediaPipe's blendshape reading ``eyeLookUp − eyeLookDown`` (the two eyes'
#: mean; :func:`blendshape_pitch`). Measured, not tuned to a reference or to the portraits: over the open-eyed frames of
#: the three shared clips it is the least-squares slope of this module's own reading (MediaPipe's iris through the
#: eyeball model, the two eyes' mean eye-in-head pitch) on the blendshapes' — 18.3 / 18.9 / 18.9 per clip, pooled 18.7,
#: r 0.98 (``python scripts/blendshape_pitch_scale.py``; one man, 207 frames: the scale, not the zero, is taken).
BLENDSHAPE_PITCH_DEG = 18.7
_LOOK = ("eyeLookUpLeft", "eyeLookDownLeft", "eyeLookUpRight", "eyeLookDownRight")


def blendshape_vertical(blendshapes, weights=None) -> float | None:
    """MediaPipe's blendshape reading of the two eyes' vertical: ``eyeLookUp − eyeLookDown`` averaged over the eyes
    (unitless, up > 0), weighted by ``weights (2,)`` (left, right; MediaPipe's ``Left`` is the subject's left eye, as
    ours) when given; None when the face has no blendshapes (landmarker run without them).

    >>> blendshape_vertical({"eyeLookUpLeft": 0.2, "eyeLookDownLeft": 0.0, "eyeLookUpRight": 0.0,
    ...                      "eyeLookDownRight": 0.1})
    0.05
    >>> round(blendshape_vertical({"eyeLookUpLeft": 0.2, "eyeLookDownLeft": 0.0, "eyeLookUpRight": 0.0,
    ...                            "eyeLookDownRight": 0.1}, weights=(3.0, 1.0)), 6)  # the left eye counts 3x
    0.125
    """
    if not blendshapes or any(k not in blendshapes for k in _LOOK):
        return None
    b = blendshapes
    per_eye = np.array([b["eyeLookUpLeft"] - b["eyeLookDownLeft"], b["eyeLookUpRight"] - b["eyeLookDownRight"]])
    w = np.ones(2) if weights is None else np.asarray(weights, float).reshape(2)
    return float(per_eye @ w / w.sum())


def blendshape_pitch(blendshapes, weights=None) -> float | None:
    """The two eyes' common eye-in-head pitch (radians, up > 0) that MediaPipe's blendshape model reads:
    :data:`BLENDSHAPE_PITCH_DEG` times :func:`blendshape_vertical` (``weights (2,)``: each eye's share, left and
    right); None when the face has no blendshapes.

    MediaPipe's blendshape model is trained on real faces and reads the lids with the iris: where the lids follow a
    downward gaze it reads it, where the iris landmarks alone do not (docs/zoom.md). It reads the two eyes' vertical
    almost as one (its left and right coefficients correlate 1.00 on the shared clips), so it sets their common
    vertical only.

    >>> round(float(np.degrees(blendshape_pitch({"eyeLookUpLeft": 0.0, "eyeLookDownLeft": 0.5,
    ...                                          "eyeLookUpRight": 0.0, "eyeLookDownRight": 0.5}))), 2)
    -9.35
    >>> blendshape_pitch({}) is None
    True
    """
    v = blendshape_vertical(blendshapes, weights)
    return None if v is None else float(np.radians(BLENDSHAPE_PITCH_DEG) * v)


def with_common_pitch(vectors: np.ndarray, head_R: np.ndarray, pitch: float, weights=None) -> np.ndarray:
    """The eyes' gaze vectors ``(E, 3)`` (camera space) turned vertically in the head's frame so that their mean
    eye-in-head pitch — weighted by ``weights (E,)`` when given, the eyes' shares in the fused gaze — is ``pitch``
    (radians): each eye keeps its own yaw and its own pitch offset from that mean, so the eyes' *difference* — the
    label-free two-eye check — is untouched, and with the fusion's weights an eye that hardly counts (closed, or
    turned near the eyeball's silhouette) no longer moves the other eye's reading.

    >>> R = np.eye(3)
    >>> v = np.array([[0.0, 0.0, -1.0], [0.0, -np.sin(0.1), -np.cos(0.1)]])  # pitch 0 and 0.1 rad, yaw 0
    >>> (np.round(vector_to_pitchyaw(with_common_pitch(v, R, 0.25)), 6) + 0.0).tolist()  # mean 0.05 -> 0.25: +0.2
    [[0.2, 0.0], [0.3, 0.0]]
    >>> (np.round(vector_to_pitchyaw(with_common_pitch(v, R, 0.25, weights=[1.0, 0.0])), 6) + 0.0).tolist()
    [[0.25, 0.0], [0.35, 0.0]]
    """
    R = np.asarray(head_R, float)
    head = np.stack([vector_to_pitchyaw(R.T @ np.asarray(v, float)) for v in vectors])  # (E, 2) eye-in-head
    head[:, 0] += pitch - np.average(head[:, 0], weights=weights)
    return np.stack([R @ pitchyaw_to_vector(h) for h in head])


def region_points_to_camera(eye: EyeRegion, points_px: np.ndarray) -> np.ndarray:
    """Frame pixels ``(N, 2)`` → the 3-D points ``(N, 3)`` (camera mm) where their camera rays meet the eye's region
    plane (through ``eye.center_mm``, spanned by the normalised camera's x and y axes)."""
    uv = frame_to_region(np.asarray(eye.region_to_frame, float), points_px)
    if eye.side == "right":
        uv[:, 0] = -uv[:, 0]  # the right eye's region is mirrored (architecture.md)
    h_mm, w_mm = REGION_MM
    R = np.asarray(eye.R_norm, float)
    return np.asarray(eye.center_mm, float) + (w_mm / 2) * uv[:, :1] * R[0] + (h_mm / 2) * uv[:, 1:] * R[1]


def ray_sphere_meet(direction: np.ndarray, center: np.ndarray, radius: float) -> tuple[np.ndarray, bool]:
    """:func:`ray_sphere_near`'s point ``(3,)`` and whether the ray meets the sphere at all."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    c = np.asarray(center, float)
    b = float(d @ c)
    disc = b * b - (float(c @ c) - radius * radius)
    if disc >= 0.0:
        return (b - np.sqrt(disc)) * d, True
    q = b * d - c  # closest point of the ray to the centre, relative to it
    return c + radius * q / np.linalg.norm(q), False


def ray_sphere_near(direction: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    """The nearer point ``(3,)`` where the ray from the origin along ``direction (3,)`` meets the sphere; where it
    misses, the sphere's point closest to the ray."""
    return ray_sphere_meet(direction, center, radius)[0]


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


def eyeball_fit(iris_ray: np.ndarray, corner_mid_mm: np.ndarray, head_R: np.ndarray,
                side: str) -> tuple[np.ndarray, float]:
    """The eyeball model: unit visual axis ``(3,)`` (camera space) of an eye whose corners' midpoint is
    ``corner_mid_mm (3,)`` and whose iris/pupil centre is seen along the camera ray ``iris_ray (3,)`` (any point on
    it), for head rotation ``head_R (3, 3)`` (head axes → camera axes) and ``side`` ``"left"``/``"right"`` — and its
    **reliability** ``cos² β`` in [0, 1], β the angle between the camera ray and the sphere's normal where they meet.

    Near the eyeball's silhouette the sphere turns a small error in the iris's image position into a large turn of
    the eye (d angle / d position ∝ 1 / cos β; on obama2.jpg's far eye, turned ~55° from the camera, 1 px is 7–12°,
    against ±3.6° for eyes looking at the camera, docs/zoom.md), so ``cos² β`` is the inverse-variance weight of the
    reading: ~1 for eyes facing the camera, 0 on the silhouette (a ray that misses the sphere).
    """
    R = np.asarray(head_R, float)
    off = EYEBALL_OFFSET_MM.copy()
    if side == "right":
        off[0] = -off[0]  # temporal is the head's -x for the right eye
    E = np.asarray(corner_mid_mm, float) + R @ off
    point, hit = ray_sphere_meet(iris_ray, E, IRIS_SPHERE_MM)
    optical = (point - E) / np.linalg.norm(point - E)
    d = np.asarray(iris_ray, float) / np.linalg.norm(iris_ray)
    # a ray that misses the sphere: no eyeball could show its iris there (a failed landmark fit, sunglasses):
    # reliability exactly 0, so the eye has no weight anywhere (predictor.eye_weights)
    cos_beta = max(0.0, float(-d @ optical)) if hit else 0.0
    return R @ _with_kappa(R.T @ optical, side), cos_beta * cos_beta


def eyeball_gaze(iris_ray: np.ndarray, corner_mid_mm: np.ndarray, head_R: np.ndarray, side: str) -> np.ndarray:
    """The visual axis of :func:`eyeball_fit` alone."""
    return eyeball_fit(iris_ray, corner_mid_mm, head_R, side)[0]


def eye_fit_geometric(face: Face, eye: EyeRegion, iris_px: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Unit visual axis ``(3,)`` in camera space of one eye from its detected corners and iris centre (MediaPipe's,
    or ``iris_px (2,)`` frame pixels from another locator), and its reliability (:func:`eyeball_fit`)."""
    ids = EYE_LANDMARKS[eye.side]
    L = np.asarray(face.landmarks_px, float)[:, :2]
    iris = iris_centre_px(L, eye.side) if iris_px is None else np.asarray(iris_px, float).reshape(2)
    pts = region_points_to_camera(eye, np.stack([L[ids["inner"]], L[ids["outer"]], iris]))
    return eyeball_fit(pts[2], pts[:2].mean(0), face.head.rotation, eye.side)


def eye_gaze_geometric(face: Face, eye: EyeRegion, iris_px: np.ndarray | None = None) -> np.ndarray:
    """The visual axis of :func:`eye_fit_geometric` alone."""
    return eye_fit_geometric(face, eye, iris_px)[0]


def render_pupil_gaze(pupil_uv: np.ndarray, head_pitchyaw: np.ndarray, distance_mm: float = 600.0) -> np.ndarray:
    """Gaze ``(N, 2)`` pitch/yaw (normalised camera) that the eyeball model reads from rendered left eyes' pupil
    region coordinates ``pupil_uv (N, 2)`` and head residuals ``head_pitchyaw (N, 2)`` (``synth`` conventions: the
    corners' midpoint is the region centre, ``distance_mm`` from the camera): how a pupil locator's error becomes
    gaze error on renders (training validation, ``gazezoom eval``)."""
    import torch

    from ..synth.scene import head_rotation

    Rs = head_rotation(torch.as_tensor(np.asarray(head_pitchyaw, np.float32))).double().numpy()
    h_mm, w_mm = REGION_MM
    mid = np.array([0.0, 0.0, distance_mm])
    out = [vector_to_pitchyaw(eyeball_gaze(np.array([w_mm / 2 * u, h_mm / 2 * v, distance_mm]), mid, R, "left"))
           for (u, v), R in zip(np.asarray(pupil_uv, float), Rs)]
    return np.array(out).reshape(-1, 2)


def gaze_of_output(pred, batch: dict, output: str = "gaze"):
    """The gaze ``(B, 2)`` a model's raw output means: itself, or for ``output="pupil"`` the eyeball model's reading
    of the predicted pupil with the batch's head residuals (:func:`render_pupil_gaze`); ``"landmarks"`` likewise
    from its pupil landmark."""
    if output == "gaze":
        return pred
    import torch

    # a landmark model's pupil centre is its first (u, v)
    py = render_pupil_gaze(pred[:, :2].detach().float().cpu().numpy(), batch["head"].float().cpu().numpy())
    return torch.as_tensor(py, dtype=torch.float32, device=pred.device)


def _eye_gaze(eye: EyeRegion, v: np.ndarray, sample: EyeSample | None = None) -> EyeGaze:
    """One eye's camera-space reading ``v (3,)`` as an :class:`EyeGaze` (its normalised-space pitch/yaw too)."""
    return EyeGaze(side=eye.side, pitchyaw_norm=vector_to_pitchyaw(np.asarray(eye.R_norm, float) @ v), vector_cam=v,
                   sample=sample)


class GeometricGaze:
    """The ``geometric`` gaze stage: ``predict(frame_bgr, face) -> GazeResult`` (the frame is not read)."""

    name = "geometric"
    variant = "geometric"

    def predict(self, frame_bgr: np.ndarray | None, face: Face, *, display: bool = True) -> GazeResult:
        from .predictor import fused_result, two_eyes

        eyes = two_eyes(face)
        fits = [eye_fit_geometric(face, eye) for eye in eyes]
        return fused_result(eyes, [_eye_gaze(eye, v) for eye, (v, _) in zip(eyes, fits)], [w for _, w in fits])


class PupilGaze:
    """The ``pupil`` gaze stage: the learned zoom locates the pupil, the eyeball model turns it into gaze.

    Per eye the saliency sampler reads a zoomed patch from the full-resolution frame (as for the ``network`` stage);
    a network trained on rendered eyes (``ModelConfig.output == "pupil"``) predicts the pupil centre's region
    coordinates from it; the region map takes it back to frame pixels (the "unzoom"), where it replaces MediaPipe's
    iris centre in :func:`eye_gaze_geometric` (detected corners, head pose, eyeball model, kappa). Each eye keeps its
    own reading; the two are fused by openness as everywhere else.

    ``learned_weight`` (u, v): the learned reading's share along each region axis (MediaPipe's iris centre has the
    rest); ``pair_weight``: the share of the learned reading in the two eyes' vertical *difference*;
    ``common_pitch="blendshapes"``: the two eyes' mean eye-in-head pitch replaced by MediaPipe's blendshape reading
    (:func:`blendshape_pitch`, :func:`with_common_pitch`; each eye keeps its offset from the mean; since stage v4
    both means weighted by the eyes' shares in the fused gaze, :func:`~.predictor.eye_weights`) — the ``fusion``
    stage since v3.
    """

    def __init__(self, predictor, learned_weight: tuple[float, float] = (1.0, 1.0), pair_weight: float = 0.0,
                 common_pitch: str | None = None):
        cfg = predictor.model.config
        if cfg.output not in LOCATOR_OUTPUTS:
            from ..errors import WeightsMismatchError

            raise WeightsMismatchError(f"the pupil stage needs weights trained with --output pupil (or landmarks); these predict "
                                       f"{cfg.output!r} ({cfg.variant})")
        self.predictor = predictor
        self.learned_weight = np.asarray(learned_weight, float).reshape(2)
        if np.any(self.learned_weight < 0) or np.any(self.learned_weight > 1):
            raise InputValueError(f"learned_weight must be two numbers in [0, 1] (u, v), got {learned_weight}")
        self.pair_weight = float(pair_weight)
        if not 0.0 <= self.pair_weight <= 1.0:
            raise InputValueError(f"pair_weight must be in [0, 1], got {pair_weight}")
        if common_pitch not in (None, "blendshapes"):
            raise InputValueError(f"common_pitch must be None or 'blendshapes', got {common_pitch!r}")
        self.common_pitch = common_pitch

    @property
    def name(self) -> str:
        """``"pupil"`` for the learned pupil alone, ``"fusion"`` when MediaPipe's iris takes part."""
        return "pupil" if np.all(self.learned_weight == 1.0) else "fusion"

    @property
    def variant(self) -> str:
        return f"pupil:{self.predictor.variant}"

    @property
    def backend(self):
        return self.predictor.backend

    def eye_readings(self, frame_bgr: np.ndarray, face: Face, *, display: bool = True):
        """Each eye's own reading before any common vertical: ``(eyes, vectors (2, 3) camera space, reliability
        (2,) cos² β of the eyeball model, the locator's RegionGaze)``."""
        from ..geometry import apply_homography
        from .predictor import two_eyes

        eyes = two_eyes(face)
        if self.predictor.model.config.binocular and tuple(e.side for e in eyes) != ("left", "right"):
            raise InputValueError(f"a binocular locator reads a face's eyes as (left, right), got "
                                  f"{tuple(e.side for e in eyes)}")
        r = self.predictor.predict_regions(frame_bgr, eyes, keep_samples=display)
        Hs = [np.asarray(eye.region_to_frame, float) for eye in eyes]
        learned = np.asarray(r.pitchyaw, float)[:, :2]  # (2, 2) pupil region (u, v) per eye (a landmark model's first)
        mp = np.stack([frame_to_region(H, iris_centre_px(face.landmarks_px, e.side)[None])[0]
                       for H, e in zip(Hs, eyes)])  # (2, 2) MediaPipe's iris centre, the same coordinates
        uv = self.learned_weight * learned + (1 - self.learned_weight) * mp  # per eye and region axis
        if self.pair_weight > 0 and not any(e.blink for e in eyes):
            # The two eyes' vertical readings: their mean as fused above, their *difference* partly the learned
            # one's. What the learned locator reads wrong on real eyes (lids, lashes, light: docs/zoom.md) is
            # shared by the two eyes of one face and cancels in the difference; each eye keeps its own reading.
            d = learned[:, 1] - uv[:, 1]
            uv[:, 1] += self.pair_weight * (d - d.mean())
        fits = [eye_fit_geometric(face, eye, iris_px=apply_homography(Hs[i], uv[i][None])[0])
                for i, eye in enumerate(eyes)]
        return eyes, np.stack([v for v, _ in fits]), np.array([rel for _, rel in fits]), r

    def predict(self, frame_bgr: np.ndarray, face: Face, *, display: bool = True) -> GazeResult:
        from .predictor import fused_result, readable_weights

        eyes, vectors, reliability, r = self.eye_readings(frame_bgr, face, display=display)
        if self.common_pitch == "blendshapes":
            # The two eyes' common vertical from MediaPipe's blendshapes, their difference from the iris geometry.
            # Both averages take each eye's share in the fused gaze (openness x reliability): the fused vertical is
            # the blendshapes', and an eye that hardly counts there (closed, or near the eyeball's silhouette)
            # moves neither the common reading nor the other eye's (gaze stage v4).
            w = readable_weights(np.array([e.openness for e in eyes]), reliability)
            common = blendshape_pitch(face.blendshapes, w)
            if common is not None:
                vectors = with_common_pitch(vectors, face.head.rotation, common, w)
        gazes = [_eye_gaze(eye, v, r.sample(i)) for i, (eye, v) in enumerate(zip(eyes, vectors))]
        return fused_result(eyes, gazes, reliability)
