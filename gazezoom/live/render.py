"""What the app shows, as plain BGR pictures and numbers (numpy/cv2, no Qt), built in the processing thread.

* :func:`annotate` — the frame with the overlays that are switched on, drawn by :mod:`gazezoom.draw` (the same
  drawing as ``process --annotate``), at display size.
* :func:`side_panel` — the two zoomed eye patches as the gaze network sees them, their saliency maps, and the
  uniform patches of the same regions for comparison.
* :class:`Counters` — FPS, per-stage latency medians, end-to-end latency and dropped frames over a sliding window.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from dataclasses import dataclass, field, fields

import numpy as np

from ..results import FrameResult
from ..views import eye_views, sampling_grids

__all__ = ["Overlays", "annotate", "side_panel", "Counters", "CounterSnapshot", "STAGES", "display_scale"]

#: ``FrameResult.timings_ms`` keys shown in the status bar, in this order; ``draw`` is the app's overlays and side
#: panel (not part of ``Pipeline.process``).
STAGES: tuple[str, ...] = ("landmarks", "sampler", "gaze", "total", "draw")


@dataclass(frozen=True)
class Overlays:
    """Which overlays :func:`annotate` draws (each has a keyboard shortcut in the window)."""

    landmarks: bool = True
    regions: bool = True
    grid: bool = True
    axes: bool = True
    gaze: bool = True
    labels: bool = True

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def display_scale(frame_size: tuple[int, int], max_width: int) -> float:
    """Factor that brings a frame of ``(H, W)`` to at most ``max_width`` columns (never enlarges)."""
    return min(1.0, max_width / max(1, frame_size[1]))


def annotate(frame_bgr: np.ndarray, result: FrameResult, K: np.ndarray | None, overlays: Overlays = Overlays(),
             *, max_width: int = 1280) -> np.ndarray:
    """``frame_bgr (H, W, 3)`` uint8 → a new ``(h, w, 3)`` uint8 picture, ``w <= max_width``, with the overlays.

    Coordinates stay full-resolution frame pixels; the drawing functions scale them to the display size, so the
    sampling grid lands exactly where the sampler read the full-resolution frame.
    """
    import cv2

    from .. import draw

    s = display_scale(frame_bgr.shape[:2], max_width)
    if s < 1.0:
        size = (max(1, int(round(frame_bgr.shape[1] * s))), max(1, int(round(frame_bgr.shape[0] * s))))
        img = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
    else:
        img = frame_bgr.copy()
    for other in result.others:
        if overlays.regions:
            draw.draw_eye_regions(img, other, scale=s)
    face = result.face
    if face is None:
        if overlays.labels:
            draw.put_label(img, "no face", (10, 28), size=0.8, color=(0, 0, 255))
        return img
    if overlays.landmarks:
        draw.draw_landmarks(img, face, scale=s, step=2)
    if overlays.grid and result.gaze is not None:
        draw.draw_grids(img, sampling_grids(face, result.gaze), scale=s)
    if overlays.regions:
        draw.draw_eye_regions(img, face, scale=s)
    if overlays.axes and K is not None:
        draw.draw_head_axes(img, face, K, scale=s)
    if overlays.gaze and result.gaze is not None and K is not None:
        draw.draw_gaze(img, face, result.gaze, K, scale=s)
    if overlays.labels:
        h = face.head
        text = f"head pitch {h.pitch_deg:+.0f}  yaw {h.yaw_deg:+.0f}  roll {h.roll_deg:+.0f}  z {h.translation_mm[2]:.0f} mm"
        draw.put_label(img, text, (10, 22), size=0.55)
        if face.blink:
            draw.put_label(img, "BLINK", (10, 46), size=0.7, color=(0, 200, 255))
    return img


def side_panel(result: FrameResult | None, frame_bgr: np.ndarray | None = None, *,
               height: int = 96) -> np.ndarray | None:
    """The sampler's view of both eyes as one BGR picture, or None without a gaze result (or nothing kept).

    One row per eye (the subject's left, then right): the zoomed patch (what the network sees), the saliency map
    (where the sampler magnifies) and, given the frame ``frame_bgr``, the uniform patch (plain resampling of the
    same region, for comparison); :func:`gazezoom.views.eye_views`.
    """
    if result is None or result.gaze is None:
        return None
    from .. import draw

    rows = []
    for v in eye_views(frame_bgr, result.face, result.gaze):
        tiles = [(f"{v.side} {title}", getattr(v, key)) for title, key in
                 (("zoomed", "patch"), ("saliency", "saliency"), ("uniform", "uniform_patch"))
                 if getattr(v, key) is not None]
        if tiles:
            rows.append(draw.patches_panel(tiles, height=height))
    if not rows:
        return None
    width = max(r.shape[1] for r in rows)
    gap = np.zeros((6, width, 3), np.uint8)
    out = []
    for r in rows:
        out += [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))), gap]
    return np.concatenate(out[:-1], 0)


@dataclass(frozen=True)
class CounterSnapshot:
    """The app's counters at one moment (``stages_ms``: median per stage over the window)."""

    frames: int
    dropped: int
    fps: float
    latency_ms: float
    stages_ms: dict[str, float] = field(default_factory=dict)
    session_fps: float = 0.0  # frames / time over the whole session (not just the window)

    def summary(self) -> str:
        st = " ".join(f"{k} {v:.1f}" for k, v in self.stages_ms.items())
        return (f"{self.fps:.1f} FPS | latency {self.latency_ms:.0f} ms | stages ms: {st} | "
                f"dropped {self.dropped}/{self.frames + self.dropped}")


class Counters:
    """Sliding-window counters (``window`` frames): processed FPS, median stage times and capture-to-ready latency.

    >>> c = Counters(window=4)
    >>> for i in range(5):
    ...     c.add(now=i / 10, captured=i / 10 - 0.05, timings_ms={"landmarks": 9.0, "total": 20.0})
    >>> s = c.snapshot()
    >>> round(s.fps), round(s.latency_ms), s.stages_ms["landmarks"], s.frames
    (10, 50, 9.0, 5)
    """

    def __init__(self, window: int = 60):
        self.window = window
        self.frames = 0
        self.dropped = 0
        self._first: float | None = None
        self._now = 0.0
        self._times: deque[float] = deque(maxlen=window)
        self._lat: deque[float] = deque(maxlen=window)
        self._stages: dict[str, deque[float]] = {k: deque(maxlen=window) for k in STAGES}

    def add(self, *, now: float | None = None, captured: float, timings_ms: dict) -> None:
        now = time.perf_counter() if now is None else now
        self.frames += 1
        if self._first is None:
            self._first = now
        self._now = now
        self._times.append(now)
        self._lat.append((now - captured) * 1e3)
        for k in STAGES:
            if k in timings_ms:
                self._stages[k].append(float(timings_ms[k]))

    def drop(self, n: int = 1) -> None:
        self.dropped += n

    def snapshot(self) -> CounterSnapshot:
        t = self._times
        fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0
        lat = statistics.median(self._lat) if self._lat else 0.0
        stages = {k: statistics.median(v) for k, v in self._stages.items() if v}
        session = (self.frames - 1) / (self._now - self._first) if self.frames > 1 and self._now > self._first else 0.0
        return CounterSnapshot(self.frames, self.dropped, fps, lat, stages, session)
