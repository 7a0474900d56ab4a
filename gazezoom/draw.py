"""Overlays on BGR uint8 images, shared by ``gazezoom inspect``, ``process --annotate`` and the Qt GUI.

Pure numpy/cv2. Every ``draw_*`` function draws **in place** on ``image (H, W, 3)`` uint8 BGR (pass a copy to keep
the original) and returns it. Coordinates are full-resolution frame pixels; ``scale`` maps them onto an image that
was resized by that factor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .geometry import apply_homography
from .results import Face, FrameResult, GazeResult
from .views import sampling_grids

__all__ = [
    "COLORS",
    "draw_landmarks",
    "draw_eye_regions",
    "draw_head_axes",
    "draw_gaze",
    "draw_grid",
    "draw_grids",
    "grid_step",
    "draw_face",
    "draw_result",
    "region_outline",
    "patches_panel",
    "put_label",
]

#: BGR colours per item
COLORS = {
    "landmark": (200, 200, 200),
    "left": (60, 220, 60),  # subject's left eye
    "right": (60, 140, 255),  # subject's right eye
    "iris": (255, 255, 0),
    "x": (0, 0, 255),
    "y": (0, 255, 0),
    "z": (255, 0, 0),
    "gaze": (0, 255, 255),
    "grid": (255, 0, 255),
    "other": (128, 128, 128),
    "text": (255, 255, 255),
}


def _pt(p, scale: float) -> tuple[int, int]:
    return int(round(float(p[0]) * scale)), int(round(float(p[1]) * scale))


def _project(K: np.ndarray, pts_mm: np.ndarray) -> np.ndarray:
    """Camera points ``(N, 3)`` → pixels ``(N, 2)`` with ``K (3, 3)`` (no distortion)."""
    q = pts_mm @ np.asarray(K, float).T
    return q[:, :2] / np.maximum(q[:, 2:], 1e-6)


def region_outline(region_to_frame: np.ndarray, n: int = 8) -> np.ndarray:
    """The border of region ``[-1, 1]²`` in frame pixels ``(4 n, 2)`` (the edges are straight: a homography)."""
    s = np.linspace(-1, 1, n, endpoint=False)
    uv = np.concatenate([np.stack([s, -np.ones(n)], 1), np.stack([np.ones(n), s], 1), np.stack([-s, np.ones(n)], 1), np.stack([-np.ones(n), -s], 1)])
    return apply_homography(region_to_frame, uv)


def draw_landmarks(image: np.ndarray, face: Face, *, scale: float = 1.0, color=COLORS["landmark"], step: int = 1) -> np.ndarray:
    """Every ``step``-th of the 478 landmarks as 1-pixel dots, irises highlighted."""
    import cv2

    for p in face.landmarks_px[:468:step]:
        cv2.circle(image, _pt(p, scale), 1, color, -1, cv2.LINE_AA)
    for p in face.landmarks_px[468:]:
        cv2.circle(image, _pt(p, scale), 1, COLORS["iris"], -1, cv2.LINE_AA)
    return image


def draw_eye_regions(image: np.ndarray, face: Face, *, scale: float = 1.0, thickness: int = 1) -> np.ndarray:
    """Each eye's region outline (left eye green, right eye orange), its ``u = -1`` edge (the patch's left, nasal
    side) thicker, the iris centre and the corners."""
    import cv2

    for eye in face.eyes:
        c = COLORS[eye.side]
        outline = np.round(region_outline(eye.region_to_frame) * scale).astype(np.int32)
        cv2.polylines(image, [outline], True, c, thickness, cv2.LINE_AA)
        left_edge = np.round(region_outline(eye.region_to_frame, 2)[[6, 7, 0]] * scale).astype(np.int32)
        cv2.polylines(image, [left_edge], False, c, thickness + 1, cv2.LINE_AA)
        cv2.circle(image, _pt(eye.iris_px, scale), max(2, thickness + 1), COLORS["iris"], -1, cv2.LINE_AA)
        for p in eye.corners_px:
            cv2.circle(image, _pt(p, scale), max(1, thickness), c, -1, cv2.LINE_AA)
    return image


def draw_head_axes(image: np.ndarray, face: Face, K: np.ndarray, *, scale: float = 1.0, length_mm: float = 60.0) -> np.ndarray:
    """Head axes at the head origin: x red (to the face's image right), y green (down), z blue (into the head)."""
    import cv2

    R, t = face.head.rotation, face.head.translation_mm
    pts = _project(K, np.vstack([t, t + length_mm * R.T]))
    for i, key in enumerate("xyz"):
        cv2.arrowedLine(image, _pt(pts[0], scale), _pt(pts[i + 1], scale), COLORS[key], 2, cv2.LINE_AA, tipLength=0.15)
    return image


def draw_gaze(image: np.ndarray, face: Face, gaze: GazeResult, K: np.ndarray, *, scale: float = 1.0, length_mm: float = 150.0) -> np.ndarray:
    """Per-eye gaze rays from each eye centre and the fused ray from their midpoint (grey when held)."""
    import cv2

    color = COLORS["gaze"] if not gaze.held else COLORS["other"]
    for eye, eg in zip(face.eyes, gaze.eyes):
        a, b = _project(K, np.vstack([eye.center_mm, eye.center_mm + length_mm * np.asarray(eg.vector_cam)]))
        cv2.arrowedLine(image, _pt(a, scale), _pt(b, scale), COLORS[eye.side], 1, cv2.LINE_AA, tipLength=0.1)
    a, b = _project(K, np.vstack([gaze.origin_mm, gaze.origin_mm + length_mm * np.asarray(gaze.vector_cam)]))
    cv2.arrowedLine(image, _pt(a, scale), _pt(b, scale), color, 2, cv2.LINE_AA, tipLength=0.1)
    return image


def draw_grid(image: np.ndarray, grid_px: np.ndarray, *, scale: float = 1.0, color=COLORS["grid"], every: int = 1) -> np.ndarray:
    """A sampling grid ``(gh, gw, 2)`` in frame pixels as its row and column polylines."""
    import cv2

    g = np.round(np.asarray(grid_px, float) * scale).astype(np.int32)
    for r in g[::every]:
        cv2.polylines(image, [np.ascontiguousarray(r)], False, color, 1, cv2.LINE_AA)
    for c in g[:, ::every].transpose(1, 0, 2):
        cv2.polylines(image, [np.ascontiguousarray(c)], False, color, 1, cv2.LINE_AA)
    return image


def grid_step(grid_px: np.ndarray, scale: float, min_spacing_px: float = 10.0) -> int:
    """Draw every n-th grid line so lines stay at least ``min_spacing_px`` apart on the drawn image
    (``grid_px (gh, gw, 2)`` frame pixels, ``scale`` frame → image).

    >>> g = np.stack(np.meshgrid(np.arange(0, 40, 2.0), np.arange(0, 20, 2.0)), -1)
    >>> grid_step(g, 1.0), grid_step(g, 5.0)
    (5, 1)
    """
    g = np.asarray(grid_px, float)
    d = [np.linalg.norm(np.diff(g, axis=a), axis=-1) for a in (0, 1) if g.shape[a] > 1]
    spacing = min(float(np.median(x)) for x in d) * scale if d else min_spacing_px
    return max(1, int(np.ceil(min_spacing_px / max(spacing, 1e-6))))


def draw_grids(image: np.ndarray, grids: Sequence[np.ndarray], *, scale: float = 1.0, alpha: float = 0.5,
               min_spacing_px: float = 10.0) -> np.ndarray:
    """The sampler's grids ``(gh, gw, 2)`` (frame pixels) as thin, sparse, half-transparent lines: every n-th line
    (:func:`grid_step`, at least ``min_spacing_px`` apart) plus the border, anti-aliased, blended with weight
    ``alpha`` so the eye stays visible under them. The app and ``process --annotate`` both draw grids with this.
    """
    import cv2

    grids = [np.asarray(g, float) for g in grids if g is not None]
    if not grids:
        return image
    pts = np.concatenate([g.reshape(-1, 2) for g in grids]) * scale
    h, w = image.shape[:2]
    x0, y0 = np.clip(np.floor(pts.min(0)).astype(int) - 2, 0, [w, h])
    x1, y1 = np.clip(np.ceil(pts.max(0)).astype(int) + 3, 0, [w, h])
    if x1 <= x0 or y1 <= y0:
        return image
    roi = image[y0:y1, x0:x1]
    layer = roi.copy()
    for g in grids:
        shifted = g - np.array([x0, y0]) / scale
        step = grid_step(g, scale, min_spacing_px)
        draw_grid(layer, shifted, scale=scale, every=step)
        if step > 1:  # the last row/column, so the border is closed whatever the step
            draw_grid(layer, shifted[[-1]], scale=scale)
            draw_grid(layer, shifted[:, [-1]], scale=scale)
    cv2.addWeighted(layer, alpha, roi, 1 - alpha, 0, dst=roi)
    return image


def put_label(image: np.ndarray, text: str, org: tuple[int, int], *, size: float = 0.5, color=COLORS["text"]) -> np.ndarray:
    """Text on a dark box so it reads on any background (``org``: bottom-left of the text)."""
    import cv2

    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 1)
    x, y = org
    sub = image[max(0, y - h - 3) : y + base + 1, max(0, x - 2) : x + w + 2]
    sub[...] = (sub * 0.35).astype(np.uint8)  # darken instead of an outline (OpenCV 5 spaces thick glyphs differently)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, size, color, 1, cv2.LINE_AA)
    return image


def draw_face(image: np.ndarray, face: Face, K: np.ndarray | None = None, *, scale: float = 1.0, landmarks: bool = True, primary: bool = True) -> np.ndarray:
    """Landmarks, eye regions, head axes (when ``K`` is given), box and a status line (id, pose, openness)."""
    import cv2

    if landmarks:
        draw_landmarks(image, face, scale=scale, step=2)
    draw_eye_regions(image, face, scale=scale)
    if K is not None:
        draw_head_axes(image, face, K, scale=scale)
    x0, y0, x1, y1 = face.bbox
    cv2.rectangle(image, _pt((x0, y0), scale), _pt((x1, y1), scale), COLORS["gaze"] if primary else COLORS["other"], 1)
    h = face.head
    left, right = face.eyes
    text = (
        f"id {face.track_id}  pitch {h.pitch_deg:+.0f} yaw {h.yaw_deg:+.0f} roll {h.roll_deg:+.0f}  "
        f"z {h.translation_mm[2]:.0f}mm  open L{left.openness:.2f} R{right.openness:.2f}" + ("  BLINK" if face.blink else "")
    )
    put_label(image, text, (max(0, _pt((x0, y0), scale)[0]), max(14, _pt((x0, y0), scale)[1] - 6)), size=0.4)
    return image


def draw_result(image: np.ndarray, result: FrameResult, K: np.ndarray | None = None, *, scale: float = 1.0) -> np.ndarray:
    """All faces of a :class:`FrameResult` (primary highlighted), its gaze and the sampling grids it carries; the
    other faces' gaze rays too when the pipeline gazed them (``FrameResult.others_gaze``)."""
    faces = result.face_gazes()  # the primary first, when there is one
    for other, gaze in faces[1:] if result.face is not None else faces:
        draw_face(image, other, K, scale=scale, landmarks=False, primary=False)
        if gaze is not None and K is not None:
            draw_gaze(image, other, gaze, K, scale=scale)
    if result.face is None:
        put_label(image, "no face", (10, 24), size=0.7, color=(0, 0, 255))
        return image
    draw_face(image, result.face, K, scale=scale)
    if result.gaze is not None:
        draw_grids(image, sampling_grids(result.face, result.gaze), scale=scale)
        if K is not None:
            draw_gaze(image, result.face, result.gaze, K, scale=scale)
    return image


def patches_panel(patches: Sequence[tuple[str, np.ndarray]], *, height: int = 144, gap: int = 8) -> np.ndarray:
    """Side-by-side labelled tiles: ``(title, image (h, w, 3) uint8 BGR or (h, w) float saliency)`` → one BGR image.

    Each tile is resized (nearest neighbour, so pixels stay visible) to ``height`` rows.
    """
    import cv2

    tiles = []
    for title, img in patches:
        a = np.asarray(img)
        if a.dtype != np.uint8:  # saliency or any float map: normalise to a colour map
            a = a.astype(float)
            a = (255 * (a - a.min()) / max(a.max() - a.min(), 1e-12)).astype(np.uint8)
            a = cv2.applyColorMap(a, cv2.COLORMAP_INFERNO)
        if a.ndim == 2:
            a = cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
        w = max(1, int(round(a.shape[1] * height / a.shape[0])))
        tile = cv2.resize(a, (w, height), interpolation=cv2.INTER_NEAREST)
        tile = np.concatenate([np.zeros((20, w, 3), np.uint8), tile], 0)
        put_label(tile, title, (3, 14), size=0.4)
        tiles.append(tile)
        tiles.append(np.zeros((height + 20, gap, 3), np.uint8))
    if not tiles:
        return np.zeros((height + 20, 1, 3), np.uint8)
    return np.concatenate(tiles[:-1], 1)
