"""``gazezoom process --figures``: a gaze heatmap and a scanpath per input (PNG), from its table and events.

Both pictures are drawn in screen pixels when the table has screen points (a calibration profile; the screen's size
comes from the profile), else in gaze angles: x = ``gaze_yaw_deg`` (positive = towards the subject's right, which is
the screen's right as the subject sees it), y = ``gaze_pitch_deg`` (up). The heatmap is the histogram of every
frame's gaze (blinks and held gaze left out) blurred by a Gaussian of 1° of visual angle (in screen space: 1° at the
profile's viewing distance). The scanpath draws the fixations of :mod:`gazezoom.io.events` as numbered circles
whose area grows with their duration, joined in time order, over the faint per-frame trace.

matplotlib is used through its object API with the Agg canvas (no pyplot state, no display needed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import MediaError

__all__ = ["figure_paths", "draw_figures", "HEATMAP_SIGMA_DEG"]

#: Heatmap blur: 1° of visual angle, about the webcam gaze's per-frame jitter (docs/streaming.md).
HEATMAP_SIGMA_DEG = 1.0


def figure_paths(table: str | Path) -> tuple[Path, Path]:
    """``out/clip.csv`` → ``(out/clip.heatmap.png, out/clip.scanpath.png)``."""
    table = Path(table)
    stem = table.name[: -len(table.suffix)] if table.suffix else table.name
    return table.with_name(stem + ".heatmap.png"), table.with_name(stem + ".scanpath.png")


def _points(rows: list[Mapping], xcol: str, ycol: str) -> np.ndarray:
    """(N, 2) gaze points of the frames with gaze, not blinking and not held."""
    pts = [(r[xcol], r[ycol]) for r in rows
           if r.get(xcol) is not None and r.get(ycol) is not None and r.get("blink") != 1 and r.get("gaze_held") != 1]
    return np.array(pts, float).reshape(-1, 2)


def draw_figures(rows: list[Mapping], events: list[Mapping], table: str | Path, screen=None, *,
                 title: str = "") -> tuple[Path, Path]:
    """Write the heatmap and scanpath PNGs of one table beside it; returns their paths.

    ``screen``: a :class:`gazezoom.calibration.screen.ScreenGeometry` to draw in screen pixels (needs the table's
    ``screen_*`` columns), or None for gaze angles.
    """
    import cv2
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    use_screen = screen is not None and any(r.get("screen_x_px") is not None for r in rows)
    if use_screen:
        pts = _points(rows, "screen_x_px", "screen_y_px")
        fx, fy = "screen_x_px", "screen_y_px"
        W, H = float(screen.width_px), float(screen.height_px)
        x0, x1, y0, y1 = 0.0, W, 0.0, H
        px_per_mm = screen.width_px / screen.width_mm
        sigma = screen.default_distance_mm * math.tan(math.radians(HEATMAP_SIGMA_DEG)) * px_per_mm  # px
        bin_size = max(1.0, sigma / 4)
        xlabel, ylabel = "screen x (px)", "screen y (px)"
    else:
        pts = _points(rows, "gaze_yaw_deg", "gaze_pitch_deg")
        fx, fy = "gaze_yaw_deg", "gaze_pitch_deg"
        if len(pts):
            (x0, y0), (x1, y1) = pts.min(axis=0) - 5.0, pts.max(axis=0) + 5.0
        else:
            x0, x1, y0, y1 = -20.0, 20.0, -20.0, 20.0
        sigma, bin_size = HEATMAP_SIGMA_DEG, 0.1
        xlabel, ylabel = "gaze yaw (deg, + = subject's right)", "gaze pitch (deg, + = up)"
    heat_path, scan_path = figure_paths(table)
    nx, ny = max(2, int(math.ceil((x1 - x0) / bin_size))), max(2, int(math.ceil((y1 - y0) / bin_size)))
    hist, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=(ny, nx), range=((y0, y1), (x0, x1)))  # (ny, nx)
    heat = cv2.GaussianBlur(hist.astype(np.float32), (0, 0), sigma / bin_size)
    # imshow's origin: screen y grows downwards, pitch upwards
    origin = "upper" if use_screen else "lower"
    extent = (x0, x1, y1, y0) if use_screen else (x0, x1, y0, y1)

    def axes(fig, name):
        ax = fig.add_subplot(1, 1, 1)
        ax.set_xlim(x0, x1)
        ax.set_ylim((y1, y0) if use_screen else (y0, y1))
        ax.set_aspect("equal")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title} — {name}" if title else name)
        return ax

    fig = Figure(figsize=(8, 6), dpi=100, layout="tight")
    ax = axes(fig, f"gaze heatmap ({len(pts)} frames, σ = {HEATMAP_SIGMA_DEG:g}°)")
    im = ax.imshow(heat, extent=extent, origin=origin, cmap="inferno", interpolation="bilinear")
    fig.colorbar(im, ax=ax, label="frames per bin (blurred)", shrink=0.8)
    _save(fig, FigureCanvasAgg, heat_path)

    fix = [e for e in events if e.get("type") == "fixation" and e.get(fx) is not None and e.get(fy) is not None]
    fig = Figure(figsize=(8, 6), dpi=100, layout="tight")
    ax = axes(fig, f"scanpath ({len(fix)} fixations, area ∝ duration)")
    if len(pts):
        ax.plot(pts[:, 0], pts[:, 1], "-", color="0.75", lw=0.8, zorder=1, label="gaze per frame")
    if fix:
        xy = np.array([(e[fx], e[fy]) for e in fix], float)
        dur = np.array([e["duration_ms"] for e in fix], float)
        ax.plot(xy[:, 0], xy[:, 1], "-", color="tab:blue", lw=1.5, zorder=2)
        ax.scatter(xy[:, 0], xy[:, 1], s=dur * 1.5, color="tab:orange", alpha=0.55, edgecolors="k", zorder=3,
                   label="fixation (area ∝ duration)")
        for i, (x, y) in enumerate(xy, 1):
            ax.annotate(str(i), (x, y), ha="center", va="center", fontsize=9, weight="bold", zorder=4)
    else:
        ax.text(0.5, 0.5, "no fixations", transform=ax.transAxes, ha="center", va="center")
    if len(pts) or fix:
        ax.legend(loc="upper right", fontsize=8)
    _save(fig, FigureCanvasAgg, scan_path)
    return heat_path, scan_path


def _save(fig, canvas_cls, path: Path) -> None:
    canvas_cls(fig)
    try:
        fig.savefig(path)
    except OSError as err:
        raise MediaError(f"cannot write figure {path}: {err.strerror or err}") from None
