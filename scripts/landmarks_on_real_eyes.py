"""Figure: a landmark locator's 15 eye-region landmarks on real portraits, with MediaPipe's iris centre.

    python scripts/landmarks_on_real_eyes.py WEIGHTS [OUT_PNG] [MEDIA_DIR]

``WEIGHTS``: a ``train --output landmarks`` file (e.g. ``runs/lm1/landmarks_sampler_P.safetensors``, docs/zoom.md).
Per eye: the pupil (red), the 8 limbus points (green), 3 upper-lid (blue) and 3 lower-lid points (cyan), mapped
from the zoomed patch's region back to the frame (the "unzoom"), and MediaPipe's iris centre (magenta +). Default
output ``docs/img/real_landmarks.png``; media ``../shared/media``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from gazezoom.face.eyes import iris_centre_px
from gazezoom.face.frontend import FrontEnd
from gazezoom.fileio import REPO_ROOT
from gazezoom.geometry import apply_homography
from gazezoom.io.readers import read_image
from gazezoom.models.predictor import GazePredictor

PORTRAITS = ("obama.jpg", "single_face.jpg", "obama3.jpg", "astronaut.png")
COLOURS = [(0, 0, 255)] + [(0, 255, 0)] * 8 + [(255, 0, 0)] * 3 + [(255, 255, 0)] * 3  # BGR
TILE = (240, 135)


def eye_tile(img, face, eye, landmarks_uv) -> np.ndarray:
    H = np.asarray(eye.region_to_frame, float)
    pts = apply_homography(H, landmarks_uv.reshape(-1, 2))
    box = apply_homography(H, np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]]))
    x0, y0 = np.maximum(np.floor(box.min(0)).astype(int), 0)
    x1, y1 = np.ceil(box.max(0)).astype(int)
    crop = img[y0:y1, x0:x1]
    s = TILE[0] / crop.shape[1]
    crop = cv2.resize(crop, (TILE[0], max(1, int(crop.shape[0] * s))), interpolation=cv2.INTER_CUBIC)
    for (x, y), c in zip(pts, COLOURS):
        cv2.circle(crop, (int((x - x0) * s), int((y - y0) * s)), 3, c, -1, cv2.LINE_AA)
    mx, my = iris_centre_px(face.landmarks_px, eye.side)
    cv2.drawMarker(crop, (int((mx - x0) * s), int((my - y0) * s)), (255, 0, 255), cv2.MARKER_CROSS, 14, 2)
    out = np.zeros((TILE[1], TILE[0], 3), np.uint8)
    h = min(TILE[1], crop.shape[0])
    out[:h] = crop[:h]
    return out


def main(weights: str, out_png: str, media: str) -> int:
    pred = GazePredictor.from_weights(weights, backend="torch")
    if pred.model.config.output != "landmarks":
        print(f"{weights} predicts {pred.model.config.output!r}, not landmarks (train --output landmarks)",
              file=sys.stderr)
        return 2
    rows = []
    with FrontEnd(mode="image") as fe:
        for name in PORTRAITS:
            img = read_image(Path(media) / name)
            face = fe.process(img)[0]
            r = pred.predict_regions(img, face.eyes, keep_samples=False)
            rows.append(np.hstack([eye_tile(img, face, e, r.pitchyaw[i]) for i, e in enumerate(face.eyes)]))
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(out_png, np.vstack(rows))
    print(out_png)
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if not a or a[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if a else 2)
    sys.exit(main(a[0], a[1] if len(a) > 1 else str(REPO_ROOT / "docs/img/real_landmarks.png"),
                  a[2] if len(a) > 2 else str(REPO_ROOT.parent / "shared/media")))
