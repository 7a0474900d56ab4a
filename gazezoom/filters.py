"""Smoothing filters for the on-screen gaze point: 2-D points with timestamps, chosen by name from :data:`FILTERS`.

- ``one_euro``: the 1€ filter (Casiez, Roussel & Vogel, CHI 2012): a low-pass whose cutoff rises with speed, so a
  fixation is steady and a saccade is followed with little lag. Settings: ``min_cutoff`` (Hz, jitter at rest —
  lower is steadier), ``beta`` (how fast the cutoff rises with speed in px/s — higher is less lag), ``d_cutoff`` (Hz,
  smoothing of the speed estimate). The cutoff uses the *speed* (norm of the 2-D derivative) so x and y are
  smoothed alike and a diagonal saccade is not bent.
- ``ema``: exponential moving average with a time constant (``tau_s``), frame-rate independent.
- ``none``: passes points through.

>>> f = create_filter("one_euro")
>>> f(0.0, [100.0, 200.0]).tolist()          # the first point passes through
[100.0, 200.0]
>>> p = f(1 / 30, [110.0, 200.0]); bool(100 < p[0] < 110)
True
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InputValueError, ShapeError
from .registry import Registry

__all__ = ["PointFilter", "OneEuroFilter", "EmaFilter", "NoFilter", "FILTERS", "create_filter"]

FILTERS: Registry[type["PointFilter"]] = Registry("filter")


class PointFilter:
    """Base: ``filter(t, point) -> smoothed point``; ``reset()`` forgets the history (after a jump or lost face)."""

    def __init__(self):
        self._t: float | None = None

    def __call__(self, t: float, point) -> np.ndarray:
        """``t`` seconds (strictly increasing), ``point (2,)`` → smoothed ``(2,)``."""
        p = np.asarray(point, dtype=np.float64)
        if p.shape != (2,):
            raise ShapeError("point", "(2,)", p.shape)
        if not np.all(np.isfinite(p)) or not math.isfinite(t):
            raise InputValueError(f"filter input must be finite, got t={t}, point={p.tolist()}")
        if self._t is None:
            self._t = float(t)
            return self._first(p)
        dt = float(t) - self._t
        if dt <= 0:
            raise InputValueError(
                f"timestamps must increase: got {t} s after {self._t} s; call reset() when the clock restarts"
            )
        self._t = float(t)
        return self._step(p, dt)

    def reset(self) -> None:
        self._t = None

    def _first(self, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _step(self, p: np.ndarray, dt: float) -> np.ndarray:
        raise NotImplementedError


def _alpha(cutoff_hz: float, dt: float) -> float:
    """Smoothing factor of a first-order low-pass with this cutoff at sampling interval ``dt`` (1€ paper, eq. 2)."""
    tau = 1.0 / (2 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


def _positive(name: str, v: float, allow_zero: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputValueError(f"filter setting {name} must be a finite number {'>=' if allow_zero else '>'} 0, got {v!r}")
    return float(v)


@FILTERS.register("one_euro")
class OneEuroFilter(PointFilter):
    """1€ filter. Defaults suit webcam gaze in screen pixels (per-frame noise of ~100 px, saccades of ~10⁴ px/s):
    0.5 Hz at rest, cutoff +1 Hz per 1000 px/s of (smoothed) speed."""

    def __init__(self, min_cutoff: float = 0.5, beta: float = 0.001, d_cutoff: float = 1.0):
        super().__init__()
        self.min_cutoff = _positive("min_cutoff", min_cutoff)
        self.beta = _positive("beta", beta, allow_zero=True)
        self.d_cutoff = _positive("d_cutoff", d_cutoff)
        self._x = self._dx = None

    def reset(self) -> None:
        super().reset()
        self._x = self._dx = None

    def _first(self, p):
        self._x, self._dx = p.copy(), np.zeros(2)
        return p.copy()

    def _step(self, p, dt):
        dx = (p - self._x) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * float(np.linalg.norm(self._dx))
        a = _alpha(cutoff, dt)
        self._x = a * p + (1 - a) * self._x
        return self._x.copy()


@FILTERS.register("ema")
class EmaFilter(PointFilter):
    """Exponential moving average with time constant ``tau_s`` (weight ``1 − exp(−dt / tau)`` for a new point)."""

    def __init__(self, tau_s: float = 0.1):
        super().__init__()
        self.tau_s = _positive("tau_s", tau_s)
        self._x = None

    def reset(self) -> None:
        super().reset()
        self._x = None

    def _first(self, p):
        self._x = p.copy()
        return p.copy()

    def _step(self, p, dt):
        a = 1.0 - math.exp(-dt / self.tau_s)
        self._x = a * p + (1 - a) * self._x
        return self._x.copy()


@FILTERS.register("none")
class NoFilter(PointFilter):
    """Passes points through (still checks shapes and timestamps)."""

    def _first(self, p):
        return p.copy()

    def _step(self, p, dt):
        return p.copy()


def create_filter(name: str = "one_euro", **settings) -> PointFilter:
    """A fresh filter by registry name; unknown names list the valid ones."""
    return FILTERS.get(name)(**settings)
