"""``process --annotate`` on a real face (issue 14): the sampling grid is drawn thin, sparse and half-transparent
with the app's own drawing code, so the eyes stay visible under it (it was a solid magenta block)."""

from __future__ import annotations

import csv

import numpy as np

from gazezoom.cli import main


def _magenta_shift(img: np.ndarray) -> np.ndarray:
    """How much more magenta than green each pixel is: (B + R) / 2 - G."""
    a = img.astype(int)
    return (a[..., 0] + a[..., 2]) / 2 - a[..., 1]


def test_annotated_face_keeps_the_eyes_visible(tmp_path, media_dir, capsys):
    import cv2

    assert main(["process", str(media_dir / "obama.jpg"), "--annotate", "--out", str(tmp_path), "--quiet"]) == 0
    capsys.readouterr()
    row = next(csv.DictReader(open(tmp_path / "obama.csv")))
    original = cv2.imread(str(media_dir / "obama.jpg"))
    drawn = cv2.imread(str(tmp_path / "obama.annotated" / "obama.jpg"))
    assert drawn.shape == original.shape
    for side in ("left", "right"):
        x, y = round(float(row[f"{side}_iris_x_px"])), round(float(row[f"{side}_iris_y_px"]))
        window = np.s_[y - 12 : y + 12, x - 20 : x + 20]  # the eye around the iris (eyes here are ~50 px wide)
        changed = (_magenta_shift(drawn[window]) - _magenta_shift(original[window])) > 40
        assert 0.05 < changed.mean() < 0.5, f"{side} eye: {changed.mean():.0%} of its pixels tinted by the grid"

