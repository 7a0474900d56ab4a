"""Shared fixtures. Real media lives in ../shared/media (used in place, never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not MEDIA.is_dir():
        pytest.skip(f"real media folder not found at {MEDIA}")
    return MEDIA


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO
