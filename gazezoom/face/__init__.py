"""Face and eye front-end: landmarks, head pose, camera intrinsics, blinks, tracking, eye regions.

Importing this package is light (numpy only); MediaPipe is imported by its backend module
(:mod:`gazezoom.face.mediapipe_backend`) when a landmarker is created.

The entry point is :class:`gazezoom.face.frontend.FrontEnd` (``process(frame, time_s) -> (primary, others)``),
which :class:`gazezoom.pipeline.Pipeline` calls once per frame.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MODEL_PATH"]

from .landmarker import DEFAULT_MODEL_PATH
