"""Features → screen point with a fitted calibration: the model plus a drift offset, optionally smoothed.

>>> from gazezoom.calibration.simulate import SimulatedUser
>>> from gazezoom.calibration.regressors import create_regressor
>>> sim = SimulatedUser(seed=0)
>>> X, y, _ = sim.fixations([[200, 200], [1700, 200], [960, 540], [200, 900], [1700, 900]], dwell_s=0.8)
>>> mapper = ScreenMapper(create_regressor("geometric", sim.screen).fit(X, y), sim.screen)
>>> p = mapper.map_result(sim.frame(30.0, [960, 540]))
>>> bool(np.hypot(p.raw_x_px - 960, p.raw_y_px - 540) < 300)
True
"""

from __future__ import annotations

import threading

import numpy as np

from ..errors import InputValueError, ShapeError
from ..results import ScreenPoint
from .features import features_from_result
from .regressors import CalibrationModel
from .screen import ScreenGeometry

__all__ = ["ScreenMapper", "CLAMP_MARGIN"]

#: Screen points further off the screen than this fraction of its width/height are clamped and flagged.
CLAMP_MARGIN = 0.25


class ScreenMapper:
    """A fitted :class:`CalibrationModel`, its screen, and an additive drift offset in pixels.

    ``filter`` (a :class:`gazezoom.filters.PointFilter`) smooths the points of :meth:`map_result`; raw values are
    kept in ``ScreenPoint.raw_*``. Calling the mapper is :meth:`map_result`, so it is what ``Pipeline(calibration=)``
    expects.
    """

    def __init__(self, model: CalibrationModel, screen: ScreenGeometry, offset_px=(0.0, 0.0), filter=None):
        self.model = model
        self.screen = screen
        self.offset_px = _offset(offset_px)
        self._filter = filter
        # the app's UI thread swaps or resets the filter while its worker thread maps frames through it
        self._lock = threading.Lock()

    @property
    def filter(self):
        return self._filter

    @filter.setter
    def filter(self, f) -> None:
        """Replace the smoothing filter (thread-safe: never between a frame's use of the old one and its update)."""
        with self._lock:
            self._filter = f

    def reset_filter(self) -> None:
        """Forget the filter's history (a source switch or a video loop), thread-safe."""
        with self._lock:
            if self._filter is not None:
                self._filter.reset()

    def map_features(self, X: np.ndarray) -> np.ndarray:
        """``(N, 19)`` features → ``(N, 2)`` screen px, drift offset applied, not smoothed."""
        return self.model.predict(X) + self.offset_px

    def map_result(self, result) -> ScreenPoint | None:
        """A ``FrameResult`` → :class:`ScreenPoint`, or None without a usable face/gaze (the filter keeps its state)."""
        f = features_from_result(result)
        if f is None:
            return None
        raw = self.map_features(f[None])[0]
        if not np.all(np.isfinite(raw)):
            return None
        raw, clamped = self.clamp(raw)
        with self._lock:
            smooth = self._filter(float(result.time_s), raw) if self._filter is not None else raw
        return ScreenPoint(x_px=float(smooth[0]), y_px=float(smooth[1]), raw_x_px=float(raw[0]), raw_y_px=float(raw[1]),
                           clamped=clamped)

    __call__ = map_result

    def clamp(self, point_px: np.ndarray) -> tuple[np.ndarray, bool]:
        """``(2,)`` screen px → the point moved into the screen grown by :data:`CLAMP_MARGIN` of its size on each
        side, and whether it moved. A glance just past the edge stays as it is; a broken fit's -11835 px does not
        reach the table or the overlay as if it were a place on the screen.

        >>> from gazezoom.calibration.screen import ScreenGeometry
        >>> m = ScreenMapper.__new__(ScreenMapper); m.screen = ScreenGeometry(width_px=1920, height_px=1080)
        >>> m.clamp(np.array([-11835.0, 500.0]))
        (array([-480.,  500.]), True)
        """
        w, h = self.screen.width_px, self.screen.height_px
        lo = np.array([-CLAMP_MARGIN * w, -CLAMP_MARGIN * h])
        hi = np.array([(1 + CLAMP_MARGIN) * w, (1 + CLAMP_MARGIN) * h])
        out = np.clip(point_px, lo, hi)
        return out, bool(np.any(out != point_px))

    def set_offset(self, offset_px) -> None:
        self.offset_px = _offset(offset_px)


def _offset(v) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.shape != (2,):
        raise ShapeError("drift offset", "(2,) pixels", a.shape)
    if not np.all(np.isfinite(a)):
        raise InputValueError(f"drift offset must be finite, got {a.tolist()}")
    return a
