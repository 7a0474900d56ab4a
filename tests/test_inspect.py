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
