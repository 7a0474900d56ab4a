"""What moves the learned pupil locator's vertical reading on real eyes (docs/zoom.md, "Gaze that reads real eyes").

    python scripts/pupil_diagnostics.py shift      [WEIGHTS]   # region shifted ±0.2: does the reading follow the image?
    python scripts/pupil_diagnostics.py catchlights [WEIGHTS]  # bright spots in the visible iris painted over
    python scripts/pupil_diagnostics.py occlusion  [WEIGHTS] [OUT_PNG]  # occlusion maps of the vertical reading

Every reading is the pupil's region ``(u, v)`` (v grows downwards) on the stills of ../shared/media, beside
MediaPipe's iris centre in the same coordinates. WEIGHTS defaults to weights/pupil_sampler_P.safetensors.
No reference data is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from gazezoom.face.eyes import EYE_LANDMARKS, frame_to_region, iris_centre_px
from gazezoom.face.frontend import FrontEnd
from gazezoom.fileio import REPO_ROOT
from gazezoom.geometry import apply_homography
from gazezoom.io.readers import read_image
from gazezoom.models.stages import build_gaze_stage

MEDIA = REPO_ROOT.parent / "shared" / "media"
STILLS = ("single_face.jpg", "obama.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama2.jpg", "astronaut.png")
#: MediaPipe face-mesh eye contours (lid margins), per subject side
CONTOUR = {"left": [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466],
           "right": [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]}


def faces():
    with FrontEnd(mode="image") as fe:
        for name in STILLS:
            img = read_image(MEDIA / name)
            face, _, _ = fe.process(img)
            if face is not None:
                yield name, img, face


def mediapipe_uv(face, eye) -> np.ndarray:
    return frame_to_region(np.asarray(eye.region_to_frame, float), iris_centre_px(face.landmarks_px, eye.side)[None])[0]


def shift(pred) -> None:
    for name, img, face in faces():
        for ax, label in ((1, "v"), (0, "u")):
            cells = []
            for d in (-0.2, -0.1, 0.0, 0.1, 0.2):
                S = np.eye(3)
                S[ax, 2] = d
                H = np.stack([np.asarray(e.region_to_frame, float) @ S for e in face.eyes])
                uv = pred.predict_regions(img, H, keep_samples=False).pitchyaw
                back = [frame_to_region(np.asarray(e.region_to_frame, float), apply_homography(H[i], uv[i][None]))[0]
                        for i, e in enumerate(face.eyes)]
                cells.append(f"{d:+.1f}: {back[0][ax]:+.3f}/{back[1][ax]:+.3f}")
            print(f"{name:24s} {label} (left/right eye, in the unshifted region) " + "  ".join(cells))


def paint_catchlights(img, face) -> np.ndarray:
    """Bright spots inside the *visible* iris (MediaPipe's iris circle and the lid contour) → the iris's colour."""
    out = img.copy()
    L = face.landmarks_px[:, :2]
    for side in ("left", "right"):
        ids = EYE_LANDMARKS[side]
        c = iris_centre_px(L, side)
        r = np.linalg.norm(L[ids["iris"] + 1 : ids["iris"] + 5] - c, axis=1).mean()
        x0, y0, x1, y1 = int(c[0] - r - 2), int(c[1] - r - 2), int(c[0] + r + 3), int(c[1] + r + 3)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        lids = np.zeros(img.shape[:2], np.uint8)
        cv2.fillPoly(lids, [np.round(L[CONTOUR[side]]).astype(np.int32)], 1)
        inside = ((xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= (0.92 * r) ** 2) & lids[y0:y1, x0:x1].astype(bool)
        roi = out[y0:y1, x0:x1]
        lum = roi.mean(2)
        spot = inside & (lum > np.median(lum[inside]) + 40)
        spot = cv2.dilate(spot.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & inside
        roi[spot] = np.median(roi[inside & ~spot].reshape(-1, 3), 0)
    return out


def catchlights(pred) -> None:
    for name, img, face in faces():
        a = pred.predict_regions(img, face.eyes, keep_samples=False).pitchyaw
        b = pred.predict_regions(paint_catchlights(img, face), face.eyes, keep_samples=False).pitchyaw
        for i, e in enumerate(face.eyes):
            print(f"{name:24s} {e.side:5s} v: learned {a[i][1]:+.3f}, catchlights painted {b[i][1]:+.3f}, "
                  f"MediaPipe {mediapipe_uv(face, e)[1]:+.3f}")


def occlusion(pred, out_png: str) -> None:
    tiles = []
    corners = np.array([[-0.7, -0.6], [0.7, -0.6], [0.7, 0.6], [-0.7, 0.6]])
    for name, img, face in faces():
        if name not in ("obama.jpg", "single_face.jpg", "obama3.jpg", "astronaut.png"):
            continue
        eye = face.eyes[0]
        H = np.asarray(eye.region_to_frame, float)
        base = pred.predict_regions(img, [eye], keep_samples=False).pitchyaw[0]
        us, vs = np.linspace(-0.7, 0.7, 25), np.linspace(-0.6, 0.6, 15)
        o, e = apply_homography(H, np.array([[0.0, 0.0], [0.0, 0.12]]))
        r = max(1, int(round(np.linalg.norm(e - o) / 2)))  # occluder: 0.12 region units a side
        cx, cy = o.astype(int)
        fill = np.median(img[cy - 3 * r : cy + 3 * r, cx - 6 * r : cx + 6 * r].reshape(-1, 3), 0)
        dv = np.zeros((len(vs), len(us)))
        for j, v in enumerate(vs):
            for i, u in enumerate(us):
                x, y = apply_homography(H, np.array([[u, v]]))[0].astype(int)
                im = img.copy()
                im[y - r : y + r + 1, x - r : x + r + 1] = fill
                dv[j, i] = pred.predict_regions(im, [eye], keep_samples=False).pitchyaw[0][1] - base[1]
        M = cv2.getPerspectiveTransform(apply_homography(H, corners).astype(np.float32),
                                        np.float32([[0, 0], [320, 0], [320, 192], [0, 192]]))
        lim = max(0.02, float(np.abs(dv).max()))
        heat = cv2.resize(dv, (320, 192), interpolation=cv2.INTER_CUBIC) / lim * 127 + 128
        heat = cv2.applyColorMap(np.clip(heat, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
        tile = cv2.addWeighted(cv2.warpPerspective(img, M, (320, 192)), 0.55, heat, 0.45, 0)
        p = apply_homography(M @ H, base[None])[0]
        cv2.drawMarker(tile, tuple(int(a) for a in p), (0, 0, 255), cv2.MARKER_TILTED_CROSS, 16, 2)
        cv2.putText(tile, f"{Path(name).stem} left: |dv| max {np.abs(dv).max():.2f} (red: covering it reads lower)",
                    (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
        print(f"{name:24s} left v {base[1]:+.3f}; occluded: dv from {dv.min():+.3f} to {dv.max():+.3f}")
    cv2.imwrite(out_png, np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:4])]))
    print(out_png)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("shift", "catchlights", "occlusion"):
        sys.exit(__doc__)
    weights = sys.argv[2] if len(sys.argv) > 2 else str(REPO_ROOT / "weights" / "pupil_sampler_P.safetensors")
    pred = build_gaze_stage("pupil", weights=weights, backend="torch").predictor
    if sys.argv[1] == "occlusion":
        occlusion(pred, sys.argv[3] if len(sys.argv) > 3 else "pupil_occlusion.png")
    else:
        {"shift": shift, "catchlights": catchlights}[sys.argv[1]](pred)
