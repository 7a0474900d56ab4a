"""Eyes: landmark indices, openness and blinks, and the eye regions of the data normalisation.

Normalisation after Zhang, Sugano & Bulling (ETRA 2018, "Revisiting data normalization for appearance-based gaze
estimation"): a virtual camera looks at the eye centre ``c`` from a fixed distance with the head's roll removed.
Here it is expressed, as in ``docs/architecture.md``, as one homography per eye,

    region_to_frame = K @ [ (W_mm / 2) x_n | (H_mm / 2) y_n | c ]

which maps region coordinates ``(u, v) ∈ [-1, 1]²`` on the ``REGION_MM`` rectangle through ``c`` (perpendicular to
the normalised camera's axis ``z_n = c / |c|``) to frame pixels. Sampling the frame through it is exactly
the normalised camera's image up to a scale (the fixed distance only sets the patch resolution, which the sampler
chooses), so the pixels that reach the gaze network are read once, from the original frame. Right eyes are
mirrored (first column negated) so every patch shows a left eye, nasal corner on the patch's left.

Lens distortion is not part of the homography: with a calibrated camera's ``dist`` the head pose is exact, the
region is the undistorted approximation (a webcam's distortion over a 50 mm region is a fraction of a pixel near
the image centre).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputValueError, ShapeError
from ..geometry import REGION_MM, apply_homography

__all__ = [
    "EYE_LANDMARKS",
    "EYE_CONTOURS",
    "aperture_polygon",
    "mask_apertures",
    "eye_aspect_ratio",
    "openness_from_ear",
    "aperture_over_iris",
    "iris_centre_px",
    "BlinkHysteresis",
    "normalising_rotation",
    "region_to_frame",
    "normalised_to_camera",
    "frame_to_region",
]

#: MediaPipe face-mesh indices per subject side: corners, iris centre, and the upper/lower lid pairs for the eye
#: aspect ratio. The subject's right eye (33/133, iris 468) appears on the image's left in an unmirrored frame.
EYE_LANDMARKS: dict[str, dict] = {
    "left": {"outer": 263, "inner": 362, "iris": 473, "lids": ((386, 374), (385, 380), (387, 373))},
    "right": {"outer": 33, "inner": 133, "iris": 468, "lids": ((159, 145), (158, 153), (160, 144))},
}

#: MediaPipe face-mesh eye contours per subject side: the upper and the lower lid margin, outer corner to inner
#: corner (9 points each, the corners shared) — the aperture the ``aperture`` locators read (:func:`aperture_polygon`).
EYE_CONTOURS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "left": ((263, 466, 388, 387, 386, 385, 384, 398, 362), (263, 249, 390, 373, 374, 380, 381, 382, 362)),
    "right": ((33, 246, 161, 160, 159, 158, 157, 173, 133), (33, 7, 163, 144, 145, 153, 154, 155, 133)),
}


def aperture_polygon(landmarks_px: np.ndarray, side: str) -> np.ndarray:
    """The eye's aperture as a closed polygon ``(16, 2)`` frame pixels: the upper lid margin from MediaPipe's eye
    contour, then the lower one back (``(478, 2|3)`` in)."""
    up, lo = EYE_CONTOURS[side]
    P = np.asarray(landmarks_px, float)[:, :2]
    return np.concatenate([P[list(up)], P[list(lo[1:-1])][::-1]])


def mask_apertures(frame_bgr: np.ndarray, landmarks_px: np.ndarray, sides=("left", "right"),
                   fill: int = 128) -> np.ndarray:
    """A copy of ``frame_bgr (H, W, 3) uint8`` painted ``fill`` grey outside the eyes' apertures
    (:func:`aperture_polygon` of each of ``sides``; anti-aliased edges) — what the ``aperture`` locators were
    trained on (``gazezoom.synth.renderer.mask_outside_aperture``)."""
    import cv2

    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
        raise InputValueError(f"mask_apertures needs a BGR uint8 frame (H, W, 3), got {frame_bgr.dtype} "
                              f"{frame_bgr.shape}")
    mask = np.zeros(frame_bgr.shape[:2], np.uint8)
    polys = [np.round(aperture_polygon(landmarks_px, s) * 16).astype(np.int32) for s in sides]
    cv2.fillPoly(mask, polys, 255, lineType=cv2.LINE_AA, shift=4)
    m = mask[..., None].astype(np.float32) / 255.0
    return (frame_bgr * m + fill * (1.0 - m) + 0.5).astype(np.uint8)


#: Eye aspect ratio of a wide-open and of a closed eye (MediaPipe mesh, measured on ../shared/media: open 0.29–0.39,
#: closed 0.05–0.08 in single_face.mp4's blink).
EAR_OPEN, EAR_CLOSED = 0.30, 0.06


def _lid_gaps(P: np.ndarray, side: str) -> np.ndarray:
    """Distances ``(3,)`` between the upper and lower lid points of the three pairs of ``side`` (``P (478, 2)``)."""
    up, lo = np.array(EYE_LANDMARKS[side]["lids"]).T
    return np.linalg.norm(P[up] - P[lo], axis=1)


def eye_aspect_ratio(landmarks_px: np.ndarray, side: str) -> float:
    """Mean lid distance over corner distance (Soukupová & Čech 2016, on MediaPipe's points); ``(478, 2|3)`` in."""
    ids = EYE_LANDMARKS[side]
    P = landmarks_px[:, :2]
    width = np.linalg.norm(P[ids["outer"]] - P[ids["inner"]])
    if width <= 1e-9:
        return 0.0
    return float(_lid_gaps(P, side).mean() / width)


def _iris_rim(P: np.ndarray, side: str) -> np.ndarray:
    """MediaPipe's four iris rim points ``(4, 2)`` of one eye (the indices after its iris centre's)."""
    i = EYE_LANDMARKS[side]["iris"]
    return P[i + 1 : i + 5, :2]


def iris_centre_px(landmarks_px: np.ndarray, side: str) -> np.ndarray:
    """The iris centre ``(2,)`` frame pixels that every stage reads: the centre of MediaPipe's iris circle, the mean
    of its four rim points, rather than its separate centre point.

    The two differ by a few thousandths of the eye region (correlation 1.000 over single_face.mp4's frames), but the
    centre point carries a small vertical offset of opposite sign in the two eyes: with the rim's centre the
    geometric stage's two eyes agree better on 7 of the 8 shared media (median |pitch_L − pitch_R| 0.94° → 0.59° on
    the clips, 5 of 6 stills), the fused gaze moving by < 1° (docs/zoom.md). ``(478, 2|3)`` in.

    >>> P = np.zeros((478, 2)); P[474:478] = [[12, 5], [10, 3], [8, 5], [10, 7]]
    >>> iris_centre_px(P, "left").tolist()
    [10.0, 5.0]
    """
    return _iris_rim(np.asarray(landmarks_px, float), side).mean(0)


def aperture_over_iris(landmarks_px: np.ndarray, side: str) -> float:
    """Lid aperture (widest of the three lid pairs) over the iris diameter (MediaPipe's 4 iris rim points).

    The same ratio as the renderer's ``openness`` (before its clip at 1), so real eyes and rendered ones can be
    compared (docs/zoom.md); NaN when the iris has no size. ``(478, 2|3)`` in.
    """
    P = landmarks_px[:, :2]
    rim = _iris_rim(P, side)
    diam = 0.5 * (np.linalg.norm(rim[0] - rim[2]) + np.linalg.norm(rim[1] - rim[3]))
    if diam <= 1e-9:
        return float("nan")
    return float(_lid_gaps(P, side).max() / diam)


def openness_from_ear(ear: float) -> float:
    """Eye aspect ratio → openness in [0, 1] (0 closed, 1 open), linear between ``EAR_CLOSED`` and ``EAR_OPEN``."""
    return float(np.clip((ear - EAR_CLOSED) / (EAR_OPEN - EAR_CLOSED), 0.0, 1.0))


class BlinkHysteresis:
    """Blink state of one eye with hysteresis: closed below ``close_below``, open again only above ``open_above``.

    >>> h = BlinkHysteresis()
    >>> [h.update(o) for o in (0.9, 0.2, 0.35, 0.5)]
    [False, True, True, False]
    """

    def __init__(self, close_below: float = 0.25, open_above: float = 0.45):
        if not 0.0 <= close_below < open_above <= 1.0:
            raise InputValueError(f"need 0 <= close_below < open_above <= 1, got {close_below}, {open_above}")
        self.close_below, self.open_above = close_below, open_above
        self.closed = False

    def update(self, openness: float) -> bool:
        if self.closed and openness > self.open_above:
            self.closed = False
        elif not self.closed and openness < self.close_below:
            self.closed = True
        return self.closed


def normalising_rotation(center_mm: np.ndarray, head_R: np.ndarray) -> np.ndarray:
    """``R_norm (3, 3)``, rows ``(x_n, y_n, z_n)``: ``z_n`` toward the eye centre, ``x_n`` the head's x axis made
    orthogonal to it (roll removed), ``y_n = z_n × x_n``.

    >>> np.allclose(normalising_rotation(np.array([0., 0., 600.]), np.eye(3)), np.eye(3))
    True
    """
    c = np.asarray(center_mm, float).reshape(3)
    z = c / np.linalg.norm(c)
    hx = np.asarray(head_R, float)[:, 0]
    x = hx - (hx @ z) * z
    n = np.linalg.norm(x)
    if n < 1e-6:
        raise InputValueError("head x axis is parallel to the viewing direction; no normalisation exists")
    x /= n
    y = np.array([z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]])  # z × x
    return np.stack([x, y, z])


def region_to_frame(K: np.ndarray, R_norm: np.ndarray, center_mm: np.ndarray, side: str) -> np.ndarray:
    """The region → frame homography ``(3, 3)`` (architecture.md), mirrored for right eyes; normalised so
    ``H[2, 2] = 1``."""
    h_mm, w_mm = REGION_MM
    Hm = np.asarray(K, float) @ np.stack([(w_mm / 2) * R_norm[0], (h_mm / 2) * R_norm[1], np.asarray(center_mm, float)], 1)
    if side == "right":
        Hm[:, 0] *= -1.0
    elif side != "left":
        raise InputValueError(f"side must be 'left' or 'right', got {side!r}")
    return Hm / Hm[2, 2]


def frame_to_region(H: np.ndarray, points_px: np.ndarray) -> np.ndarray:
    """Frame pixels ``(N, 2)`` → region coordinates ``(N, 2)`` through the inverse of ``H (3, 3)``."""
    pts = np.asarray(points_px, float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ShapeError("points_px", "(N, 2)", pts.shape)
    return apply_homography(np.linalg.inv(H), pts)


def normalised_to_camera(g_n: np.ndarray, R_norm: np.ndarray, side: str) -> np.ndarray:
    """Gaze predicted on a (possibly mirrored) patch ``g_n (..., 3)`` → camera space ``(..., 3)``.

    Right-eye patches are mirrored, so their x component is negated first; then ``R_norm.T`` rotates back.
    """
    g = np.array(g_n, float, copy=True)
    if g.shape[-1] != 3:
        raise ShapeError("g_n", "(..., 3)", g.shape)
    if side == "right":
        g[..., 0] *= -1.0
    return g @ np.asarray(R_norm, float)
