"""The accuracy report after validation: per-target error in pixels, centimetres and degrees of visual angle.

Per validation target, over its frames (what the user sees on screen, no smoothing):

- ``error_*``: mean per-frame distance between prediction and target — the headline number;
- ``bias_*``: distance between the *mean* prediction and the target (eye-tracking "accuracy");
- ``precision_px``: RMS distance between successive predictions (eye-tracking "precision", jitter).

Degrees are the angle at the measured eye position (``origin`` features, camera mm) between the rays to the
target and to the prediction, so they use the real head distance, not an assumed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PoorFitError, ShapeError
from .features import COLUMNS
from .screen import ScreenGeometry, visual_angle_deg

__all__ = ["TargetAccuracy", "AccuracyReport", "accuracy_report", "validation_report", "plot_report"]


@dataclass(frozen=True, eq=False)
class TargetAccuracy:
    target_id: int
    target_px: np.ndarray  # (2,)
    n_frames: int
    mean_pred_px: np.ndarray  # (2,)
    error_px: float
    error_mm: float
    error_deg: float
    bias_px: float
    bias_deg: float
    precision_px: float
    distance_mm: float

    def to_dict(self) -> dict:
        return {
            "target_id": int(self.target_id),
            "target_px": [round(float(v), 2) for v in self.target_px],
            "n_frames": int(self.n_frames),
            "mean_pred_px": [round(float(v), 2) for v in self.mean_pred_px],
            **{k: round(float(getattr(self, k)), 4) for k in
               ("error_px", "error_mm", "error_deg", "bias_px", "bias_deg", "precision_px", "distance_mm")},
        }


@dataclass(frozen=True, eq=False)
class AccuracyReport:
    """Validation accuracy of one fitted mapping. Means are over targets (each target counts once)."""

    regressor: str
    targets: tuple[TargetAccuracy, ...]
    #: predictions and target positions per frame, kept for the picture: (N, 2), (N, 2), (N,)
    pred_px: np.ndarray
    true_px: np.ndarray
    target_ids: np.ndarray

    def _mean(self, key: str) -> float:
        vals = [getattr(t, key) for t in self.targets]
        return float(np.mean(vals)) if vals else float("nan")

    @property
    def error_px(self) -> float:
        return self._mean("error_px")

    @property
    def error_cm(self) -> float:
        return self._mean("error_mm") / 10.0

    @property
    def error_deg(self) -> float:
        return self._mean("error_deg")

    @property
    def bias_deg(self) -> float:
        return self._mean("bias_deg")

    @property
    def precision_px(self) -> float:
        return self._mean("precision_px")

    @property
    def distance_mm(self) -> float:
        return self._mean("distance_mm")

    def worst(self, n: int = 2) -> list[int]:
        """Ids of the ``n`` targets with the largest per-frame error (for "redo the worst points")."""
        order = sorted(self.targets, key=lambda t: -t.error_px)
        return [t.target_id for t in order[:n]]

    def check(self, max_error_deg: float) -> None:
        """Raise :class:`PoorFitError` when the mean error exceeds ``max_error_deg``."""
        if not self.error_deg <= max_error_deg:
            raise PoorFitError(
                f"validation error {self.error_deg:.2f}° is above the limit of {max_error_deg:.2f}° "
                f"(worst targets {self.worst()}); redo those points or recalibrate, sitting still"
            )

    def summary(self) -> str:
        lines = [
            f"validation ({self.regressor}): {len(self.targets)} targets, {len(self.pred_px)} frames, "
            f"head at {self.distance_mm:.0f} mm",
            f"  error {self.error_px:.1f} px = {self.error_cm:.2f} cm = {self.error_deg:.2f}°   "
            f"(bias {self.bias_deg:.2f}°, precision {self.precision_px:.1f} px RMS)",
        ]
        for t in self.targets:
            lines.append(
                f"  target {t.target_id:2d} at ({t.target_px[0]:6.0f}, {t.target_px[1]:5.0f}) px: "
                f"{t.error_px:6.1f} px  {t.error_mm / 10:5.2f} cm  {t.error_deg:5.2f}°  ({t.n_frames} frames)"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "regressor": self.regressor,
            "error_px": round(self.error_px, 3),
            "error_cm": round(self.error_cm, 4),
            "error_deg": round(self.error_deg, 4),
            "bias_deg": round(self.bias_deg, 4),
            "precision_px": round(self.precision_px, 3),
            "distance_mm": round(self.distance_mm, 1),
            "targets": [t.to_dict() for t in self.targets],
        }


def accuracy_report(pred_px: np.ndarray, true_px: np.ndarray, target_ids: np.ndarray, origin_mm: np.ndarray,
                    screen: ScreenGeometry, regressor: str = "") -> AccuracyReport:
    """Build the report from per-frame predictions.

    pred_px, true_px: ``(N, 2)`` screen px; target_ids: ``(N,)``; origin_mm: ``(N, 3)`` eye position per frame.
    Frames whose prediction is NaN (ray missing the screen plane) count as errors of the screen diagonal.
    """
    pred = np.asarray(pred_px, float)
    true = np.asarray(true_px, float)
    ids = np.asarray(target_ids)
    origin = np.asarray(origin_mm, float)
    n = len(pred)
    if pred.shape != (n, 2) or true.shape != (n, 2) or ids.shape != (n,) or origin.shape != (n, 3):
        raise ShapeError("report inputs", "pred (N, 2), true (N, 2), ids (N,), origin (N, 3)",
                         f"{pred.shape}, {true.shape}, {ids.shape}, {origin.shape}")
    bad = ~np.all(np.isfinite(pred), axis=1)
    if bad.any():  # push to the far corner: counts as a large error instead of vanishing from the mean
        pred = pred.copy()
        pred[bad] = true[bad] + np.array([screen.width_px, screen.height_px], float)
    pred_cam, true_cam = screen.px_to_cam(pred), screen.px_to_cam(true)
    err_px = np.linalg.norm(pred - true, axis=1)
    err_mm = screen.error_mm(pred, true)
    err_deg = visual_angle_deg(origin, pred_cam, true_cam)
    rows = []
    for tid in sorted(set(ids.tolist())):
        m = ids == tid
        mp = pred[m].mean(0)
        eye = origin[m].mean(0)
        tp = true[m][0]
        steps = np.diff(pred[m], axis=0)
        rows.append(TargetAccuracy(
            target_id=int(tid), target_px=tp, n_frames=int(m.sum()), mean_pred_px=mp,
            error_px=float(err_px[m].mean()), error_mm=float(err_mm[m].mean()), error_deg=float(err_deg[m].mean()),
            bias_px=float(np.linalg.norm(mp - tp)),
            bias_deg=float(visual_angle_deg(eye, screen.px_to_cam(mp), screen.px_to_cam(tp))),
            precision_px=float(np.sqrt((steps ** 2).sum(1).mean())) if len(steps) else 0.0,
            distance_mm=float(np.linalg.norm(true_cam[m] - origin[m], axis=1).mean()),
        ))
    return AccuracyReport(regressor=regressor, targets=tuple(rows), pred_px=pred, true_px=true, target_ids=ids)


def validation_report(model, X: np.ndarray, y_px: np.ndarray, target_ids: np.ndarray, screen: ScreenGeometry,
                      name: str | None = None) -> AccuracyReport:
    """Report of a fitted calibration model on features ``X (N, 19)`` looking at ``y_px (N, 2)``: predictions from
    ``model.predict``, the eye position from the ``origin`` features. ``name`` defaults to ``model.name``."""
    X = np.asarray(X, float)
    return accuracy_report(model.predict(X), y_px, target_ids, X[:, COLUMNS["origin"]], screen,
                           model.name if name is None else name)


def plot_report(report: AccuracyReport, screen: ScreenGeometry, path: str | Path, *, title: str | None = None,
                calibration_px: np.ndarray | None = None) -> Path:
    """Save a PNG of the screen: targets, per-frame predictions, mean predictions and error circles.

    The circle around each target has the radius of its mean per-frame error. Returns the written path.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    W, H = screen.width_px, screen.height_px
    # The view is the screen plus a band around it (where a clamped screen point can lie): a poor fit's far-off
    # predictions are drawn at the band's edge instead of stretching the axes, and every label is placed in points
    # from its target and clipped, so nothing floats outside and the layout never squashes (issue 14, item 6).
    band = 0.25
    lo, hi = np.array([-band * W, -band * H]), np.array([(1 + band) * W, (1 + band) * H])
    fig, ax = plt.subplots(figsize=(8, 8 * H / W + 1.3), dpi=110, layout="constrained")
    try:
        ax.add_patch(plt.Rectangle((0, 0), W, H, fill=False, lw=1.5, color="0.3", label="screen"))
        if calibration_px is not None and len(calibration_px):
            c = np.asarray(calibration_px)
            ax.scatter(c[:, 0], c[:, 1], marker="+", s=60, color="0.55", label="calibration targets")
        pred = np.clip(np.asarray(report.pred_px, float).reshape(-1, 2), lo, hi)
        ax.scatter(pred[:, 0], pred[:, 1], s=3, alpha=0.35, color="tab:blue", label="predictions (frames)",
                   clip_on=True)
        for t in report.targets:
            mean = np.clip(np.asarray(t.mean_pred_px, float), lo, hi)
            ax.add_patch(plt.Circle(tuple(t.target_px), t.error_px, fill=False, color="tab:red", lw=1, clip_on=True))
            ax.plot([t.target_px[0], mean[0]], [t.target_px[1], mean[1]], color="tab:orange", lw=1)
            ax.annotate(f"{t.error_deg:.1f}°", tuple(t.target_px), xytext=(7, -11), textcoords="offset points",
                        fontsize=8, color="tab:red", annotation_clip=True, clip_on=True,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))
        tp = np.array([t.target_px for t in report.targets]).reshape(-1, 2)
        mp = np.clip(np.array([t.mean_pred_px for t in report.targets]).reshape(-1, 2), lo, hi)
        ax.scatter(tp[:, 0], tp[:, 1], marker="o", s=40, facecolor="none", edgecolor="k", label="validation targets")
        ax.scatter(mp[:, 0], mp[:, 1], marker="x", s=40, color="tab:orange", label="mean prediction")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(hi[1], lo[1])  # screen y runs down
        ax.set_aspect("equal")
        ax.set_xlabel("screen x (px)")
        ax.set_ylabel("screen y (px)")
        off = int(np.sum(np.any(np.asarray(report.pred_px, float).reshape(-1, 2) != pred, axis=1)))
        note = f"; {off} frames beyond the band drawn at its edge" if off else ""
        ax.set_title(title or f"{report.regressor}: {report.error_px:.0f} px = {report.error_cm:.1f} cm = "
                     f"{report.error_deg:.2f}°\n(circles: mean error per target{note})", fontsize=9)
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=5, fontsize=7, frameon=False)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
