"""Shared fixtures. Real media lives in ../shared/media (used in place, never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"


def read_frames(path) -> list:
    """Every frame of a video file, decoded with OpenCV (BGR uint8)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(f)
    cap.release()
    return out


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not MEDIA.is_dir():
        pytest.skip(f"real media folder not found at {MEDIA}")
    return MEDIA


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO
