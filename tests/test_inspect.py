"""`gazezoom inspect` and `gazezoom bench frontend` from the command line."""

from __future__ import annotations

import cv2
import numpy as np

from gazezoom.cli import main


def test_inspect_image_writes_picture(media_dir, tmp_path, capsys):
    out = tmp_path / "pic.png"
    assert main(["inspect", str(media_dir / "obama.jpg"), "--out", str(out), "--width", "480"]) == 0
    pic = cv2.imread(str(out))
    assert pic is not None and pic.shape[1] >= 480 and pic.shape[0] > 480 * 1137 / 910  # frame + patch panel
    assert "1 face(s)" in capsys.readouterr().out


def test_inspect_video_frame_and_no_face(media_dir, tmp_path, capsys):
    assert main(["inspect", str(media_dir / "single_face.mp4"), "--frame", "27", "--out", str(tmp_path / "v.png")]) == 0
    assert "1 face(s)" in capsys.readouterr().out
    black = tmp_path / "black.png"
    cv2.imwrite(str(black), np.zeros((120, 160, 3), np.uint8))
    assert main(["inspect", str(black), "--out", str(tmp_path / "b.png")]) == 0
    assert "no face" in capsys.readouterr().out
    assert main(["inspect", str(black), "--out", str(tmp_path / "b.png"), "--require-face"]) == 6
    assert main(["inspect", str(tmp_path / "missing.png"), "--out", str(tmp_path / "m.png")]) == 4
    assert main(["inspect", str(media_dir / "single_face.mp4"), "--frame", "500", "--out", str(tmp_path / "x.png")]) == 2


def test_bench_frontend_runs(media_dir, capsys):
    assert main(["bench", "frontend", "--sizes", "320x180", "--repeat", "3", "--warmup", "1"]) == 0
    text = capsys.readouterr().out
    assert "320x180" in text and "ours/mediapipe" in text


def test_draw_result_with_gaze_and_grids(media_dir):
    """Every overlay of draw.py on a real face, with a gaze and sampling grids built from the eye regions."""
    from gazezoom.draw import draw_result, region_outline
    from gazezoom.pipeline import Pipeline
    from gazezoom.results import EyeGaze, EyeSample, GazeResult

    img = cv2.imread(str(media_dir / "single_face.jpg"))
    with Pipeline(mode="image") as pipe:
        r = pipe.process(img)
        K = pipe.frontend.camera_for(img.shape[1], img.shape[0]).K
    face = r.face
    u, v = np.meshgrid(np.linspace(-1, 1, 12), np.linspace(-1, 1, 8))
    eyes = []
    for e in face.eyes:  # the sampler's output as a gaze stage keeps it: a uniform grid in region units
        sample = EyeSample(patch=np.zeros((8, 12, 3), np.float32), grid=np.stack([u, v], -1).astype(np.float32))
        eyes.append(EyeGaze(e.side, np.zeros(2), np.array([0.0, 0.0, -1.0]), sample))
    gaze = GazeResult(tuple(eyes), np.array([0.0, 0.0, -1.0]), np.zeros(2), (face.eyes[0].center_mm + face.eyes[1].center_mm) / 2)
    from dataclasses import replace

    out = draw_result(img.copy(), replace(r, gaze=gaze), K, scale=1.0)
    changed = np.any(out != img, axis=2)
    x0, y0, x1, y1 = face.bbox.astype(int)
    assert changed[y0:y1, x0:x1].mean() > 0.05 and out.shape == img.shape
    # the region outline is drawn where region_outline says
    p = region_outline(face.eyes[0].region_to_frame, 4)[0].round().astype(int)
    assert changed[p[1] - 1 : p[1] + 2, p[0] - 1 : p[0] + 2].any()
