"""Screen geometry: where the screen's pixels are in camera space, and visual angles between screen points.

The screen is a plane through the camera (a laptop's webcam sits in the lid, in the display's plane): camera
coordinates are x right, y down, z forward (OpenCV, see ``gazezoom/geometry.py``), the user sits at z > 0 and the
display lies in z = 0. The camera faces the user, so the user's right (screen x growing) is the camera's −x.
The camera's place is given relative to the **top-centre of the active area**: ``camera_offset_mm = (dx, dy)``
with ``dx`` along the top edge (positive toward the user's right) and ``dy`` the height above the top edge.

>>> s = ScreenGeometry()                      # 15.6" 1920x1080 laptop, camera 10 mm above the top centre
>>> p = s.px_to_cam(np.array([[959.5, 0.0]]))  # pixel centre at the middle of the top row
>>> (np.round(p, 2) + 0.0).tolist()
[[0.0, 10.09, 0.0]]
>>> np.allclose(s.cam_to_px(p), [[959.5, 0.0]])
True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputValueError, ShapeError
from ..geometry import angular_error_deg

__all__ = ["ScreenGeometry", "visual_angle_deg"]


@dataclass(frozen=True)
class ScreenGeometry:
    """Size of the screen in pixels and millimetres and the camera's place on its edge.

    Defaults describe a common laptop: 15.6" 16:9 panel (344.2 × 193.6 mm) at 1920 × 1080 with the webcam centred
    10 mm above the active area, user at about 550 mm (``default_distance_mm``, used only when no head distance is
    measured).
    """

    width_px: int = 1920
    height_px: int = 1080
    width_mm: float = 344.2
    height_mm: float = 193.6
    camera_offset_mm: tuple[float, float] = (0.0, 10.0)
    default_distance_mm: float = 550.0

    def __post_init__(self):
        for name in ("width_px", "height_px", "width_mm", "height_mm", "default_distance_mm"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InputValueError(f"screen {name} must be a positive finite number, got {v!r}")
        for name in ("width_px", "height_px"):
            if int(getattr(self, name)) != getattr(self, name):
                raise InputValueError(f"screen {name} must be a whole number of pixels, got {getattr(self, name)!r}")
        off = self.camera_offset_mm
        if len(tuple(off)) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in off):
            raise InputValueError(f"screen camera_offset_mm must be two finite numbers (dx, dy), got {off!r}")
        object.__setattr__(self, "camera_offset_mm", (float(off[0]), float(off[1])))
        object.__setattr__(self, "width_px", int(self.width_px))
        object.__setattr__(self, "height_px", int(self.height_px))

    # ---- serialisation -------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["camera_offset_mm"] = list(self.camera_offset_mm)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ScreenGeometry":
        """Build from a dict (profile or ``screen.json``); unknown or missing keys raise :class:`InputValueError`."""
        if not isinstance(d, dict):
            raise InputValueError(f"screen geometry must be a JSON object, got {type(d).__name__}")
        known = set(cls.__dataclass_fields__)
        extra = set(d) - known
        if extra:
            raise InputValueError(f"screen geometry has unknown keys {sorted(extra)}; valid keys: {sorted(known)}")
        missing = {"width_px", "height_px", "width_mm", "height_mm"} - set(d)
        if missing:
            raise InputValueError(f"screen geometry lacks {sorted(missing)}")
        kw = dict(d)
        if "camera_offset_mm" in kw:
            off = kw["camera_offset_mm"]
            if not isinstance(off, (list, tuple)):
                raise InputValueError(f"screen camera_offset_mm must be a list [dx, dy], got {off!r}")
            kw["camera_offset_mm"] = tuple(off)
        return cls(**kw)

    @classmethod
    def load(cls, path) -> "ScreenGeometry":
        """Read a ``screen.json`` (the :meth:`to_dict` keys); problems raise :class:`InputValueError`."""
        import json
        from pathlib import Path

        p = Path(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as err:
            raise InputValueError(f"cannot read screen geometry {p}: {err}") from None
        except json.JSONDecodeError as err:
            raise InputValueError(f"screen geometry {p} is not valid JSON: {err.msg} at line {err.lineno}") from None
        try:
            return cls.from_dict(d)
        except TypeError as err:
            raise InputValueError(f"screen geometry {p}: {err}") from None

    # ---- conversions ---------------------------------------------------------------------------------------
    @property
    def mm_per_px(self) -> tuple[float, float]:
        return self.width_mm / self.width_px, self.height_mm / self.height_px

    def px_to_mm(self, px: np.ndarray) -> np.ndarray:
        """``(..., 2)`` screen pixels (pixel centres at integers) → ``(..., 2)`` mm from the top-left corner."""
        px = _check_points(px, "screen points")
        sx, sy = self.mm_per_px
        return np.stack([(px[..., 0] + 0.5) * sx, (px[..., 1] + 0.5) * sy], -1)

    def mm_to_px(self, mm: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`px_to_mm`."""
        mm = _check_points(mm, "screen mm points")
        sx, sy = self.mm_per_px
        return np.stack([mm[..., 0] / sx - 0.5, mm[..., 1] / sy - 0.5], -1)

    def px_to_cam(self, px: np.ndarray) -> np.ndarray:
        """``(..., 2)`` screen pixels → ``(..., 3)`` camera coordinates in mm (z = 0)."""
        mm = self.px_to_mm(px)
        dx, dy = self.camera_offset_mm
        cam_x = self.width_mm / 2 + dx  # camera position in screen-mm coordinates
        cam_y = -dy
        return np.stack([-(mm[..., 0] - cam_x), mm[..., 1] - cam_y, np.zeros_like(mm[..., 0])], -1)

    def cam_to_px(self, p: np.ndarray) -> np.ndarray:
        """``(..., 3)`` camera-space points on the screen plane (z ignored) → ``(..., 2)`` screen pixels."""
        p = np.asarray(p, dtype=np.float64)
        if p.shape[-1:] != (3,):
            raise ShapeError("camera points", "(..., 3)", p.shape)
        dx, dy = self.camera_offset_mm
        mm = np.stack([self.width_mm / 2 + dx - p[..., 0], p[..., 1] - dy], -1)
        return self.mm_to_px(mm)

    def intersect(self, origin: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Where rays meet the screen plane, in screen pixels.

        origin: ``(N, 3)`` mm, direction: ``(N, 3)`` (any length) → ``(N, 2)`` px; NaN where a ray does not point
        toward the screen (``direction_z >= 0``).
        """
        origin = np.asarray(origin, dtype=np.float64)
        direction = np.asarray(direction, dtype=np.float64)
        if origin.shape[-1:] != (3,) or direction.shape != origin.shape:
            raise ShapeError("rays", f"origin and direction both (N, 3), direction {origin.shape}", direction.shape)
        dz = direction[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(dz < -1e-9, -origin[..., 2] / dz, np.nan)
        hit = origin + t[..., None] * direction
        return self.cam_to_px(hit)

    def error_mm(self, a_px: np.ndarray, b_px: np.ndarray) -> np.ndarray:
        """Distance on the screen in mm between ``(..., 2)`` pixel points."""
        return np.linalg.norm(self.px_to_mm(a_px) - self.px_to_mm(b_px), axis=-1)


def visual_angle_deg(eye_mm: np.ndarray, a_mm: np.ndarray, b_mm: np.ndarray) -> np.ndarray:
    """Angle in degrees at ``eye_mm`` between the points ``a_mm`` and ``b_mm``; all ``(..., 3)`` camera mm.

    >>> float(np.round(visual_angle_deg(np.array([0., 0, 500]), np.zeros(3), np.array([500. * np.tan(np.radians(2)), 0, 0])), 6))
    2.0
    """
    eye = np.asarray(eye_mm, float)
    return angular_error_deg(np.asarray(a_mm, float) - eye, np.asarray(b_mm, float) - eye)


def _check_points(p, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.shape[-1:] != (2,):
        raise ShapeError(name, "(..., 2)", p.shape)
    return p
