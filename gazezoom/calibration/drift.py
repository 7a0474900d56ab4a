"""Drift correction: only the mapper's additive offset changes, never the fitted model.

- :func:`recentre`: one target — the user looks at a dot and presses a key; the offset becomes the difference
  between the dot and the median prediction of the frames collected meanwhile.
- :class:`ClickCorrector`: passive correction from mouse clicks. People look at what they click just before
  clicking; when the recent gaze is near the click, the offset moves a fraction ``rate`` toward closing the gap.
  Far clicks (looking elsewhere while clicking) are ignored, and the offset is bounded.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..errors import InputValueError, NotEnoughDataError, ShapeError
from .features import check_features
from .mapping import ScreenMapper

__all__ = ["recentre", "ClickCorrector", "RecentreSession"]


def recentre(mapper: ScreenMapper, X: np.ndarray, target_px, *, min_frames: int = 5,
             max_offset_px: float | None = None) -> np.ndarray:
    """Set ``mapper``'s offset from frames ``X (N, 19)`` looking at ``target_px (2,)``; returns the new offset.

    The offset *replaces* the old one (it is computed from the model's raw prediction), so repeated recentring does
    not accumulate. ``max_offset_px`` (default: a quarter of the screen width) refuses implausible jumps.
    """
    X = check_features(X, "recentre frames")
    target = np.asarray(target_px, float)
    if target.shape != (2,):
        raise ShapeError("recentre target", "(2,) pixels", target.shape)
    raw = mapper.model.predict(X)
    raw = raw[np.all(np.isfinite(raw), axis=1)]
    if len(raw) < min_frames:
        raise NotEnoughDataError(
            f"recentring needs {min_frames} frames with a face and open eyes, got {len(raw)}; "
            "look at the dot a little longer"
        )
    offset = target - np.median(raw, axis=0)
    limit = _offset_limit(mapper, max_offset_px)
    if np.linalg.norm(offset) > limit:
        raise InputValueError(
            f"recentring would shift gaze by {np.linalg.norm(offset):.0f} px (limit {limit:.0f} px): the calibration "
            "no longer fits (new seat or screen?); recalibrate instead"
        )
    mapper.set_offset(offset)
    return offset


def _offset_limit(mapper: ScreenMapper, max_offset_px: float | None) -> float:
    """The largest drift offset accepted: ``max_offset_px``, by default a quarter of the screen width."""
    return mapper.screen.width_px / 4 if max_offset_px is None else float(max_offset_px)


class ClickCorrector:
    """Passive drift correction from clicks. Feed ``observe(t, raw_px)`` each frame, ``click(t, px)`` per click."""

    def __init__(self, mapper: ScreenMapper, *, rate: float = 0.2, max_distance_px: float = 200.0,
                 window_s: tuple[float, float] = (0.6, 0.05), max_offset_px: float | None = None):
        if not 0 < rate <= 1:
            raise InputValueError(f"click correction rate must be in (0, 1], got {rate}")
        self.mapper = mapper
        self.rate = rate
        self.max_distance_px = max_distance_px
        self.window_s = window_s  # use gaze from window_s[0] to window_s[1] seconds before the click
        self.max_offset_px = _offset_limit(mapper, max_offset_px)
        self._recent: deque[tuple[float, np.ndarray]] = deque(maxlen=256)

    def observe(self, t: float, raw_px) -> None:
        """Record a raw (model, no offset) prediction ``(2,)`` at time ``t``."""
        p = np.asarray(raw_px, float)
        if p.shape == (2,) and np.all(np.isfinite(p)):
            self._recent.append((float(t), p))

    def click(self, t: float, click_px) -> bool:
        """A click at ``click_px (2,)``; returns True when the offset was updated."""
        c = np.asarray(click_px, float)
        if c.shape != (2,):
            raise ShapeError("click position", "(2,) pixels", c.shape)
        lo, hi = t - self.window_s[0], t - self.window_s[1]
        pts = [p for (tt, p) in self._recent if lo <= tt <= hi]
        if not pts:
            return False
        gaze = np.median(np.array(pts), axis=0) + self.mapper.offset_px
        gap = c - gaze
        if np.linalg.norm(gap) > self.max_distance_px:
            return False
        new = self.mapper.offset_px + self.rate * gap
        n = np.linalg.norm(new)
        if n > self.max_offset_px:
            new = new * (self.max_offset_px / n)
        self.mapper.set_offset(new)
        return True


class RecentreSession:
    """The one-target recentring as a pure object the GUI drives: show ``target_px``, feed frames, and on the key
    press (or after ``duration_s``) call :meth:`finish`, which updates only the mapper's offset.

    Frames in the first ``settle_s`` and blink/no-face frames are skipped (same rules as calibration).
    """

    def __init__(self, mapper: ScreenMapper, target_px=None, *, t0: float = 0.0, settle_s: float = 0.3,
                 duration_s: float = 1.5):
        from .procedure import SampleSelector, SelectionSettings

        s = mapper.screen
        self.mapper = mapper
        self.target_px = np.asarray(target_px if target_px is not None else ((s.width_px - 1) / 2, (s.height_px - 1) / 2), float)
        self.t0, self.duration_s = float(t0), float(duration_s)
        self._selector = SampleSelector(SelectionSettings(settle_s=settle_s, dwell_s=max(duration_s, settle_s + 0.1),
                                                          max_dwell_s=max(duration_s, settle_s + 0.1),
                                                          max_head_move_mm=1e6))
        self._frames: list[np.ndarray] = []

    def update(self, t: float, result) -> str:
        """Feed a frame; returns the selection reason (``"ok"``, ``"settling"``, ``"blink"``, ``"no face"``)."""
        reason, f = self._selector.consider(t - self.t0, result)
        if f is not None:
            self._frames.append(f)
        return reason

    def done(self, t: float) -> bool:
        return t - self.t0 >= self.duration_s

    @property
    def n_frames(self) -> int:
        """Frames collected so far (those that passed the selection rules)."""
        return len(self._frames)

    def finish(self) -> np.ndarray:
        """Recentre from the collected frames; returns the new offset (see :func:`recentre` for errors)."""
        X = np.array(self._frames).reshape(-1, 19)
        return recentre(self.mapper, X, self.target_px)
