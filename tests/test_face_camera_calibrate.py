"""`gazezoom camera calibrate` on synthetic chessboard views rendered with a known camera (synthetic data)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from gazezoom.cli import main
from gazezoom.face.camera import load_camera

K_TRUE = np.array([[900.0, 0, 322], [0, 900, 236], [0, 0, 1]])
SIZE = (640, 480)
SQUARE_MM, PX_PER_MM = 25.0, 4.0


def _render_views(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    cols, rows = 10, 7  # squares → 9x6 inner corners
    margin = 25.0  # mm of white around the squares
    wmm, hmm = cols * SQUARE_MM + 2 * margin, rows * SQUARE_MM + 2 * margin
    tex = np.full((int(hmm * PX_PER_MM), int(wmm * PX_PER_MM)), 255, np.uint8)
    s = int(SQUARE_MM * PX_PER_MM)
    m = int(margin * PX_PER_MM)
    for r in range(rows):
        for c in range(cols):
            if (r + c) % 2 == 0:
                tex[m + r * s : m + (r + 1) * s, m + c * s : m + (c + 1) * s] = 0
    # texture px → board mm, origin at the first inner corner (one square in from the squares' corner)
    A = np.array([[1 / PX_PER_MM, 0, -margin - SQUARE_MM], [0, 1 / PX_PER_MM, -margin - SQUARE_MM], [0, 0, 1]])
    views = []
    for _ in range(n):
        rx, ry, rz = np.radians(rng.uniform(-30, 30)), np.radians(rng.uniform(-30, 30)), np.radians(rng.uniform(-10, 10))
        R, _ = cv2.Rodrigues(np.array([rx, ry, rz]))
        centre = np.array([4 * SQUARE_MM, 2.5 * SQUARE_MM, 0])
        t = np.array([rng.uniform(-40, 40), rng.uniform(-30, 30), rng.uniform(450, 650)]) - R @ centre
        H = K_TRUE @ np.column_stack([R[:, 0], R[:, 1], t]) @ A
        views.append(cv2.warpPerspective(tex, H, SIZE, flags=cv2.INTER_AREA, borderValue=128))
    return views


def test_calibrate_recovers_a_known_camera(tmp_path, capsys):
    folder = tmp_path / "views"
    folder.mkdir()
    for i, v in enumerate(_render_views(12)):
        cv2.imwrite(str(folder / f"v{i:02d}.png"), v)
    out = tmp_path / "camera.json"
    assert main(["camera", "calibrate", str(folder), "--board", "9x6", "--square-mm", str(SQUARE_MM), "--out", str(out)]) == 0
    cam = load_camera(out)
    assert cam.image_size == SIZE
    np.testing.assert_allclose(cam.K[[0, 1], [0, 1]], K_TRUE[[0, 1], [0, 1]], rtol=0.02)
    np.testing.assert_allclose(cam.K[:2, 2], K_TRUE[:2, 2], atol=8)
    assert "RMS reprojection error" in capsys.readouterr().out
    assert json.loads(out.read_text())["image_size"] == list(SIZE)


def test_calibrate_without_a_board_says_so(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((480, 640), 128, np.uint8))
    rc = main(["camera", "calibrate", str(tmp_path / "blank.png"), "--square-mm", "25", "--out", str(tmp_path / "c.json")])
    assert rc == 8 and "found in 0 of 1 views" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["camera", "calibrate", str(tmp_path / "blank.png"), "--board", "nine", "--square-mm", "25", "--out", "x.json"])
