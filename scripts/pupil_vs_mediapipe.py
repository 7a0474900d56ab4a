"""Where the learned pupil locator and MediaPipe put the iris centre on real eyes (a diagnostic picture).

    python scripts/pupil_vs_mediapipe.py [WEIGHTS_FILE] [OUT_PNG]

Per eye of six real stills of ../shared/media: MediaPipe's iris centre (green +) and rim points (cyan), lid points
(magenta), corners (orange), and the pupil the sampler's network predicts in the zoomed patch, mapped back to the
frame through the region map (red x). Defaults: weights/pupil_sampler_P.safetensors →
docs/img/real_pupil_vs_mediapipe.png. See docs/zoom.md, "Gaze that reads real eyes".
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from gazezoom.face.eyes import EYE_LANDMARKS, iris_centre_px
from gazezoom.face.frontend import FrontEnd
from gazezoom.fileio import REPO_ROOT
from gazezoom.geometry import apply_homography
from gazezoom.io.readers import read_image
from gazezoom.models.stages import build_gaze_stage

STILLS = ("single_face.jpg", "obama.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama2.jpg", "astronaut.png")
TILE = (240, 160)  # (w, h) of one eye's tile


def eye_tile(img, face, eye, pupil_px, title):
    ids = EYE_LANDMARKS[eye.side]
    L = face.landmarks_px[:, :2]
    c = L[[ids["inner"], ids["outer"]]]
    w = 1.8 * np.ptp(c[:, 0])
    x0, y0 = c.min(0) - [0.4 * np.ptp(c[:, 0]), 0.5 * np.ptp(c[:, 0])]
    s = TILE[0] / w
    M = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]])
    tile = cv2.warpAffine(img, M, TILE, flags=cv2.INTER_CUBIC)

    def px(p):
        return tuple(int(round(v)) for v in M[:, :2] @ p + M[:, 2])

    for q in L[ids["iris"] + 1 : ids["iris"] + 5]:
        cv2.circle(tile, px(q), 2, (255, 255, 0), -1)
    for q in L[[k for pair in ids["lids"] for k in pair]]:
        cv2.circle(tile, px(q), 2, (255, 0, 255), -1)
    for q in c:
        cv2.circle(tile, px(q), 3, (0, 200, 255), -1)
    cv2.drawMarker(tile, px(iris_centre_px(L, eye.side)), (0, 255, 0), cv2.MARKER_CROSS, 14, 2)
    cv2.drawMarker(tile, px(pupil_px), (0, 0, 255), cv2.MARKER_TILTED_CROSS, 14, 2)
    cv2.putText(tile, title, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def main(weights: str, out: str) -> Path:
    media = REPO_ROOT.parent / "shared" / "media"
    stage = build_gaze_stage("pupil", weights=weights, backend="torch")
    tiles = []
    with FrontEnd(mode="image") as fe:
        for name in STILLS:
            img = read_image(media / name)
            face, _, _ = fe.process(img)
            if face is None:
                continue
            uv = stage.predictor.predict_regions(img, face.eyes, keep_samples=False).pitchyaw
            for i, eye in enumerate(face.eyes):
                pupil = apply_homography(np.asarray(eye.region_to_frame, float), uv[i][None])[0]
                tiles.append(eye_tile(img, face, eye, pupil, f"{Path(name).stem[:14]} {eye.side}"))
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 4)
    sheet = np.vstack([np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles), 4)])
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet)
    return path


if __name__ == "__main__":
    args = sys.argv[1:]
    print(main(args[0] if args else str(REPO_ROOT / "weights" / "pupil_sampler_P.safetensors"),
               args[1] if len(args) > 1 else str(REPO_ROOT / "docs" / "img" / "real_pupil_vs_mediapipe.png")))
