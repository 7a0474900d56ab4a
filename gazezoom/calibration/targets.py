"""Target layouts (5, 9, 13, 16 points and a smooth-pursuit path) and validation points the fit never sees.

Layouts are registered by name in :data:`LAYOUTS`; each returns positions in screen pixels.

>>> from gazezoom.calibration.screen import ScreenGeometry
>>> s = ScreenGeometry(width_px=1000, height_px=500)
>>> layout_points("5", s).tolist()
[[499.5, 249.5], [99.5, 49.5], [899.5, 49.5], [99.5, 449.5], [899.5, 449.5]]
>>> v = validation_points(s, layout_points("9", s), n=4)
>>> bool(np.min(np.linalg.norm(v[:, None] - layout_points("9", s)[None], axis=-1)) > 100)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputValueError
from ..registry import Registry
from .screen import ScreenGeometry

__all__ = ["Target", "LAYOUTS", "layout_points", "validation_points", "pursuit_path", "make_targets",
           "CALIBRATION", "VALIDATION"]

CALIBRATION = "calibration"
VALIDATION = "validation"

#: name → function(margin) -> (N, 2) positions as fractions of the screen (x, y)
LAYOUTS: Registry = Registry("target layout")


def _grid(n: int, margin: float) -> np.ndarray:
    a = np.linspace(margin, 1 - margin, n)
    return np.array([[x, y] for y in a for x in a])


@LAYOUTS.register("5")
def _five(margin: float) -> np.ndarray:
    m, M = margin, 1 - margin
    return np.array([[0.5, 0.5], [m, m], [M, m], [m, M], [M, M]])


@LAYOUTS.register("9")
def _nine(margin: float) -> np.ndarray:
    return _grid(3, margin)


@LAYOUTS.register("13")
def _thirteen(margin: float) -> np.ndarray:
    inner = [(margin + 0.5) / 2, (1 - margin + 0.5) / 2]
    return np.concatenate([_grid(3, margin), np.array([[x, y] for y in inner for x in inner])])


@LAYOUTS.register("16")
def _sixteen(margin: float) -> np.ndarray:
    return _grid(4, margin)


@LAYOUTS.register("pursuit")
def _pursuit_start(margin: float) -> np.ndarray:
    return pursuit_fractions(np.zeros(1), 20.0, margin)


def pursuit_fractions(t: np.ndarray, duration_s: float, margin: float) -> np.ndarray:
    """Lissajous path (2 cycles across, 3 down) as screen fractions ``(len(t), 2)``; slow enough to follow
    (about 9°/s on a laptop at 55 cm for the 20 s default)."""
    ph = 2 * np.pi * np.asarray(t, float) / duration_s
    half = 0.5 - margin
    return np.stack([0.5 + half * np.sin(2 * ph), 0.5 + half * np.sin(3 * ph + np.pi / 2)], -1)


def layout_points(name: str, screen: ScreenGeometry, margin: float = 0.1) -> np.ndarray:
    """Calibration target positions ``(N, 2)`` in screen pixels for layout ``name``."""
    if not 0 <= margin < 0.5:
        raise InputValueError(f"target margin must be in [0, 0.5) of the screen, got {margin}")
    return _to_px(LAYOUTS.get(name)(margin), screen)


def _to_px(frac: np.ndarray, screen: ScreenGeometry) -> np.ndarray:
    # fraction f of the screen is f·W mm-exact: pixel centres sit at integers, so subtract half a pixel
    return frac * np.array([screen.width_px, screen.height_px], float) - 0.5


def _to_frac(px: np.ndarray, screen: ScreenGeometry) -> np.ndarray:
    return (px + 0.5) / np.array([screen.width_px, screen.height_px], float)


def validation_points(screen: ScreenGeometry, avoid_px: np.ndarray, n: int = 5, margin: float = 0.1) -> np.ndarray:
    """``n`` validation positions ``(n, 2)`` px spread over the screen and as far as possible from ``avoid_px``.

    Greedy farthest-point choice among a fine grid of candidates inside the margin, so validation points are
    never calibration points (distances measured in screen fractions).
    """
    if not 1 <= n <= 16:
        raise InputValueError(f"number of validation targets must be 1..16, got {n}")
    a = np.linspace(margin + 0.05, 1 - margin - 0.05, 9)
    cand = np.array([[x, y] for y in a for x in a])
    chosen = list(_to_frac(np.asarray(avoid_px, float).reshape(-1, 2), screen))
    out = []
    for _ in range(n):
        if chosen:
            d = np.min(np.linalg.norm(cand[:, None] - np.array(chosen)[None], axis=-1), axis=1)
            # prefer points nearer the centre on ties: people look there most
            d = d - 1e-3 * np.linalg.norm(cand - 0.5, axis=1)
            best = cand[int(np.argmax(d))]
        else:
            best = np.array([0.5, 0.5])
        out.append(best)
        chosen.append(best)
    return _to_px(np.array(out), screen)


def pursuit_path(screen: ScreenGeometry, duration_s: float = 20.0, margin: float = 0.1, rate_hz: float = 60.0) -> np.ndarray:
    """Smooth-pursuit path sampled as rows ``(t_rel_s, x_px, y_px)``: ``(M, 3)``."""
    if duration_s <= 0:
        raise InputValueError(f"pursuit duration must be > 0 s, got {duration_s}")
    t = np.arange(0.0, duration_s + 1e-9, 1.0 / rate_hz)
    xy = _to_px(pursuit_fractions(t, duration_s, margin), screen)
    return np.concatenate([t[:, None], xy], axis=1)


@dataclass(frozen=True, eq=False)
class Target:
    """One target. ``path (M, 3)`` rows ``(t_rel_s, x_px, y_px)`` make it a moving (smooth-pursuit) target."""

    id: int
    role: str
    x_px: float
    y_px: float
    path: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.role not in (CALIBRATION, VALIDATION):
            raise InputValueError(f"target role must be {CALIBRATION!r} or {VALIDATION!r}, got {self.role!r}")

    @property
    def duration_s(self) -> float | None:
        return None if self.path is None else float(self.path[-1, 0])

    def position(self, t_rel: float) -> np.ndarray:
        """Position ``(2,)`` px at ``t_rel`` seconds after the target appeared."""
        if self.path is None:
            return np.array([self.x_px, self.y_px], float)
        p = self.path
        return np.array([np.interp(t_rel, p[:, 0], p[:, 1]), np.interp(t_rel, p[:, 0], p[:, 2])])

    def to_dict(self) -> dict:
        d = {"id": self.id, "role": self.role, "x_px": float(self.x_px), "y_px": float(self.y_px)}
        if self.path is not None:
            d["path"] = np.round(self.path, 4).tolist()
        return d


def make_targets(screen: ScreenGeometry, layout: str = "9", n_validation: int = 5, *, margin: float = 0.1,
                 pursuit_s: float = 20.0, seed: int | None = 0) -> list[Target]:
    """Calibration targets (shuffled with ``seed``, None keeps layout order) followed by validation targets."""
    if layout == "pursuit":
        path = pursuit_path(screen, pursuit_s, margin)
        cal = [Target(0, CALIBRATION, float(path[0, 1]), float(path[0, 2]), path)]
        avoid = layout_points("9", screen, margin)  # keep validation off the usual grid too
    else:
        pts = layout_points(layout, screen, margin)
        order = np.arange(len(pts)) if seed is None else np.random.default_rng(seed).permutation(len(pts))
        cal = [Target(i, CALIBRATION, float(pts[j, 0]), float(pts[j, 1])) for i, j in enumerate(order)]
        avoid = pts
    val_pts = validation_points(screen, avoid, n_validation, margin) if n_validation else np.zeros((0, 2))
    val = [Target(len(cal) + i, VALIDATION, float(p[0]), float(p[1])) for i, p in enumerate(val_pts)]
    return cal + val
