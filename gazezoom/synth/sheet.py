"""Contact sheets of synthetic eyes with their gaze labels drawn (for docs and eyeballing the renderer).

>>> import numpy as np
>>> img = contact_sheet(rows=2, cols=2, out_size=(24, 40), seed=0)
>>> img.shape, img.dtype
((48, 80, 3), dtype('uint8'))
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from ..errors import InputValueError
from ..geometry import pitchyaw_to_vector
from .params import EYE_WIDTH_PX_RANGE
from .renderer import EyeRenderer

__all__ = ["sheet_params", "contact_sheet", "gaze_sweep", "draw_patch_gaze"]


def sheet_params(renderer: EyeRenderer, rows: int, cols: int, seed: int = 0, split: str = "train"):
    """Scenes for a ``rows × cols`` sheet: eye width grows down the rows (log-spaced over the sampled range),
    gaze sweeps across the columns (yaw from the subject's right to left, pitch alternating up/down);
    everything else is random. Returns (n,) RenderParams in row-major order."""
    n = rows * cols
    p = renderer.sample_params(n, seed=seed, split=split)
    lo, hi = EYE_WIDTH_PX_RANGE
    widths = torch.logspace(math.log10(lo), math.log10(hi), rows).repeat_interleave(cols)
    yaw = torch.linspace(math.radians(30), math.radians(-30), cols).repeat(rows)
    pitch = torch.tensor([math.radians(15) if (c % 2) else math.radians(-20) for c in range(cols)]).repeat(rows)
    dev, dt = p.gaze.device, p.gaze.dtype
    return dataclasses.replace(p, eye_width_px=widths.to(dev, dt), gaze=torch.stack([pitch, yaw], -1).to(dev, dt))


def draw_patch_gaze(image: np.ndarray, pupil_uv, gaze, *, length: float = 0.35, color=(255, 255, 0)) -> np.ndarray:
    """Draw the gaze label as an arrow from the pupil on an RGB uint8 image ``(H, W, 3)`` (returns a copy).

    The arrow is the image-plane projection ``(g_x, g_y)`` of the gaze vector, ``length`` × the image width.
    """
    import cv2

    h, w = image.shape[:2]
    u, v = float(pupil_uv[0]), float(pupil_uv[1])
    x0, y0 = (u + 1) * (w - 1) / 2, (v + 1) * (h - 1) / 2
    gx, gy, _ = pitchyaw_to_vector(np.asarray(gaze, dtype=np.float64)).tolist()
    x1, y1 = x0 + gx * length * w, y0 + gy * length * w
    out = np.ascontiguousarray(image.copy())
    cv2.arrowedLine(out, (round(x0), round(y0)), (round(x1), round(y1)), color, 1, cv2.LINE_AA, tipLength=0.25)
    return out


def contact_sheet(rows: int = 6, cols: int = 8, out_size=(96, 160), seed: int = 0, split: str = "train", *,
                  arrows: bool = True, camera_effects: bool = True, device="cpu") -> np.ndarray:
    """Render a ``rows × cols`` grid (see :func:`sheet_params`) as one RGB uint8 image ``(rows·H, cols·W, 3)``."""
    if rows < 1 or cols < 1:
        raise InputValueError(f"rows and cols must be >= 1, got {rows}x{cols}")
    r = EyeRenderer(out_size=out_size, device=device, camera_effects=camera_effects)
    return _tile(r.render(sheet_params(r, rows, cols, seed, split)), rows, cols, arrows)


def gaze_sweep(pitches_deg=(20.0, 0.0, -25.0), yaws_deg=(30.0, 15.0, 0.0, -15.0, -30.0), out_size=(96, 160),
               seed: int = 0, *, camera_effects: bool = False, arrows: bool = True, device="cpu") -> np.ndarray:
    """One subject (frontal head, eye open, no glasses, large eye) over a pitch × yaw grid of gaze labels.

    Rows are ``pitches_deg``, columns ``yaws_deg``; returns an RGB uint8 image. Checks the label convention by
    eye: yaw > 0 moves the pupil left (towards the nasal corner of this left eye), pitch > 0 moves it up.
    """
    rows, cols = len(pitches_deg), len(yaws_deg)
    if rows < 1 or cols < 1:
        raise InputValueError("pitches_deg and yaws_deg must not be empty")
    r = EyeRenderer(out_size=out_size, device=device, camera_effects=camera_effects)
    n = rows * cols
    p = r.sample_params(1, seed=seed)[[0] * n]
    gaze = torch.tensor([[math.radians(pi), math.radians(ya)] for pi in pitches_deg for ya in yaws_deg])
    dev, dt = p.gaze.device, p.gaze.dtype
    p = dataclasses.replace(
        p, gaze=gaze.to(dev, dt), head=torch.zeros(n, 2, device=dev, dtype=dt), closure=torch.zeros(n, device=dev, dtype=dt),
        glasses=torch.zeros(n, 6, device=dev, dtype=dt), eye_width_px=torch.full((n,), 200.0, device=dev, dtype=dt))
    return _tile(r.render(p), rows, cols, arrows)


def _tile(batch: dict, rows: int, cols: int, arrows: bool) -> np.ndarray:
    """A rendered batch of ``rows · cols`` images (row-major) → one RGB uint8 sheet ``(rows·H, cols·W, 3)``."""
    imgs = (batch["image"].clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()  # (n, H, W, 3)
    if arrows:
        imgs = [draw_patch_gaze(im, batch["pupil_uv"][i].cpu(), batch["gaze"][i].cpu()) for i, im in enumerate(imgs)]
    H, W = batch["image"].shape[-2:]
    return np.stack(imgs).reshape(rows, cols, H, W, 3).transpose(0, 2, 1, 3, 4).reshape(rows * H, cols * W, 3)
