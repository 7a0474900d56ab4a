"""Portraits looking into the camera: the fused gaze of fusion v2 (the two eyes' common vertical from MediaPipe's iris
through the eyeball model) and the shipped v4 (from MediaPipe's blendshapes) against the direction to the camera (a figure).

    python scripts/blendshape_vertical_figure.py [OUT_PNG]

The five portraits of ../shared/media plus matplotlib's public-domain Grace Hopper (held out: nothing was tuned on
it). Per face, the eyes' region with two arrows from the eyes' midpoint, each the projection of 120 mm along the fused
gaze: v2 (orange), v4 (green), and each one's angle to the camera in the title. A gaze straight at the camera runs
along the line of sight and projects to a point (the white ring): the shorter the arrow, the nearer the camera. Default
output: docs/img/real_blendshape_vertical.png (docs/zoom.md, "Gaze that reads real eyes").
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from matplotlib import cbook

from gazezoom.face.frontend import FrontEnd
from gazezoom.fileio import REPO_ROOT
from gazezoom.io.readers import read_image
from gazezoom.models.geometric import PupilGaze
from gazezoom.models.stages import build_gaze_stage
from gazezoom.realeval import PORTRAITS, angle_to_camera_deg

TILE = (320, 200)  # (w, h)
ARROW_MM = 120.0


def tile(img, face, K, arrows, title):
    """The eyes' region scaled into a TILE with ``arrows`` [(origin_mm, direction, BGR)] projected through ``K``."""
    c = np.asarray([e.center_mm for e in face.eyes], float)
    mid = c.mean(0)

    def project(p):
        q = K @ p
        return q[:2] / q[2]

    eyes_px = np.stack([project(x) for x in c])
    span = np.linalg.norm(eyes_px[0] - eyes_px[1])
    centre = eyes_px.mean(0)
    s = TILE[0] / (3.2 * span)
    M = np.array([[s, 0, TILE[0] / 2 - s * centre[0]], [0, s, TILE[1] / 2 - s * centre[1]]])
    out = cv2.warpAffine(img, M, TILE, flags=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)

    def px(p):
        return tuple(int(round(v)) for v in M[:, :2] @ project(p) + M[:, 2])

    cv2.circle(out, px(mid), 5, (255, 255, 255), 1, cv2.LINE_AA)
    for direction, color in arrows:
        cv2.arrowedLine(out, px(mid), px(mid + ARROW_MM * np.asarray(direction, float)), color, 2, cv2.LINE_AA,
                        tipLength=0.15)
    cv2.rectangle(out, (0, 0), (TILE[0], 18), (0, 0, 0), -1)
    cv2.putText(out, title, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main(out: str) -> Path:
    media = REPO_ROOT.parent / "shared" / "media"
    files = [media / n for n in PORTRAITS] + [Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))]
    v4 = build_gaze_stage("fusion")
    v2 = PupilGaze(v4.predictor, v4.learned_weight)  # the same stage without the blendshape common vertical
    tiles = []
    with FrontEnd(mode="image") as fe:
        for path in files:
            img = read_image(path)
            face, _, _ = fe.process(img)
            if face is None:
                print(f"{path.name}: no face found, skipped")
                continue
            K = fe.camera_for(img.shape[1], img.shape[0]).K
            g2, g4 = v2.predict(img, face, display=False), v4.predict(img, face, display=False)
            a2, a4 = (angle_to_camera_deg(g.vector_cam, g.origin_mm) for g in (g2, g4))
            name = path.name if path.parent == media else f"{path.name} (held out)"
            tiles.append(tile(img, face, K, [(g2.vector_cam, (0, 140, 255)), (g4.vector_cam, (0, 220, 0))],
                              f"{name}: v2 {a2:.1f} / v4 {a4:.1f} deg"))
            print(f"{path.name}: angle to the camera v2 {a2:.1f} deg, v4 {a4:.1f} deg")
    cols = 3
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.vstack([np.hstack(tiles[i: i + cols]) for i in range(0, len(tiles), cols)])
    key = np.zeros((22, grid.shape[1], 3), np.uint8)
    cv2.putText(key, "orange: fusion v2 (iris common vertical)   green: fusion v4 (blendshape common vertical)   "
                "white ring: a gaze at the camera (projects to a point)", (6, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack([grid, key]))
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(REPO_ROOT / "docs" / "img" / "real_blendshape_vertical.png"))
