"""The calibration procedure as a pure object driven by ``(time, FrameResult)`` events.

The Qt window (``gazezoom/gui``) only draws :class:`ProcedureState` and forwards frames and keys; replay and tests
drive the same object without a screen. Timeline::

    idle --start(t)--> running --(all targets shown)--> review --accept()--> accepted
                         ^                                 |  redo(ids) / redo_worst() / restart()
                         +---------------------------------+
    any phase --cancel()--> cancelled (nothing saved; the caller keeps the old profile)

While running, each target is shown for at least ``dwell_s`` and until it has ``min_samples`` good frames (at most
``max_dwell_s``). :class:`SampleSelector` keeps only the steady part of each fixation: frames after the first
``settle_s`` (the eye's saccade and the target's shrinking animation), no blinks, a face present, and the eyes
within ``max_head_move_mm`` of where they were at the first good frame. When the last target is done, the
regressor is fitted on the calibration targets and validated on the validation targets it never saw.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass

import numpy as np

from ..errors import CalibrationError, InputValueError, NotEnoughDataError, StateError
from ..geometry import vector_to_pitchyaw
from .features import COLUMNS, features_from_result, mean_gaze
from .regressors import DEFAULT_REGRESSOR, CalibrationModel, create_regressor
from .report import AccuracyReport, validation_report
from .screen import ScreenGeometry
from .targets import CALIBRATION, VALIDATION, Target, make_targets

__all__ = ["SelectionSettings", "Sample", "SampleSelector", "CalibrationOutcome", "ProcedureState",
           "CalibrationProcedure", "fit_and_validate", "samples_to_arrays", "Reason", "reject_outliers"]


class Reason:
    """Why a frame was (not) taken; shown by the GUI as feedback."""

    OK = "ok"
    SETTLING = "settling"
    NO_FACE = "no face"
    BLINK = "blink"
    HEAD_MOVED = "head moved"


@dataclass(frozen=True)
class SelectionSettings:
    """Timing and sample-selection settings of the procedure."""

    dwell_s: float = 1.5
    max_dwell_s: float = 3.0
    settle_s: float = 0.3
    min_samples: int = 10
    max_head_move_mm: float = 60.0
    pursuit_lag_s: float = 0.0
    radius_max_px: float = 40.0
    radius_min_px: float = 6.0
    #: drop calibration frames whose gaze is farther than ``outlier_k`` × the median distance from the target's
    #: median gaze (glances away, tracking glitches); None keeps every frame. Validation frames are never dropped.
    outlier_k: float | None = 3.0

    def __post_init__(self):
        if not 0 <= self.settle_s < self.dwell_s <= self.max_dwell_s:
            raise InputValueError(
                f"need 0 <= settle_s < dwell_s <= max_dwell_s, got {self.settle_s}, {self.dwell_s}, {self.max_dwell_s}"
            )
        if self.min_samples < 1 or self.max_head_move_mm <= 0:
            raise InputValueError("min_samples must be >= 1 and max_head_move_mm > 0")
        if self.outlier_k is not None and not self.outlier_k > 1:
            raise InputValueError(f"outlier_k must be > 1 (or None to keep every frame), got {self.outlier_k}")

    def radius_px(self, t_rel: float) -> float:
        """The shrinking target: from ``radius_max_px`` to ``radius_min_px`` over the settle time, then a slow pulse
        that keeps attention without moving the centre."""
        shrink = max(self.settle_s, 0.2) * 1.5
        if t_rel < shrink:
            a = t_rel / shrink
            return self.radius_min_px + (self.radius_max_px - self.radius_min_px) * (1 - a) ** 2
        return self.radius_min_px * (1.0 + 0.15 * np.sin(2 * np.pi * 1.5 * (t_rel - shrink)))


@dataclass(frozen=True, eq=False)
class Sample:
    """One accepted frame: its features ``(19,)`` and where the target was."""

    target_id: int
    role: str
    t: float
    target_px: np.ndarray  # (2,)
    features: np.ndarray  # (19,)


class SampleSelector:
    """Applies the steady-fixation rules to one frame at a time."""

    def __init__(self, settings: SelectionSettings | None = None):
        self.settings = settings or SelectionSettings()
        self.reference_mm: np.ndarray | None = None  # eye position at the first good frame

    def consider(self, t_rel: float, result) -> tuple[str, np.ndarray | None]:
        """``(reason, features)`` for a frame ``t_rel`` s after its target appeared; features only when ``OK``."""
        if result is None or getattr(result, "face", None) is None or getattr(result, "gaze", None) is None:
            return Reason.NO_FACE, None
        f = features_from_result(result)
        if f is None:
            return Reason.BLINK, None
        return self.consider_features(t_rel, f)

    def consider_features(self, t_rel: float, f: np.ndarray) -> tuple[str, np.ndarray | None]:
        if t_rel < self.settings.settle_s:
            return Reason.SETTLING, None
        origin = f[COLUMNS["origin"]]
        if self.reference_mm is None:
            self.reference_mm = origin.copy()
        elif np.linalg.norm(origin - self.reference_mm) > self.settings.max_head_move_mm:
            return Reason.HEAD_MOVED, None
        return Reason.OK, f


def samples_to_arrays(samples: list[Sample], role: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X (N, 19)``, ``y (N, 2)``, ``target_ids (N,)`` of the samples with ``role`` (all when None)."""
    s = [x for x in samples if role is None or x.role == role]
    if not s:
        return np.zeros((0, 19)), np.zeros((0, 2)), np.zeros(0, int)
    return (np.stack([x.features for x in s]), np.stack([x.target_px for x in s]),
            np.array([x.target_id for x in s], int))


def reject_outliers(samples: list[Sample], k: float = 3.0, floor_deg: float = 1.5) -> tuple[list[Sample], int]:
    """Drop samples of a fixed target whose mean-eye gaze lies more than ``max(k · median distance, floor_deg)``
    from that target's median gaze (pitch/yaw, camera space). Moving targets are kept as they are.

    With Gaussian jitter the median distance is about 1.18 σ, so ``k = 3`` cuts at about 3.5 σ (≈ 0.2 % of good
    frames) while glances away of several degrees go. Returns the kept samples and the number dropped.
    """
    by_target: dict[tuple[int, float, float], list[int]] = {}
    for i, smp in enumerate(samples):
        by_target.setdefault((smp.target_id, float(smp.target_px[0]), float(smp.target_px[1])), []).append(i)
    drop = set()
    for idx in by_target.values():
        if len(idx) < 5:
            continue
        X = np.stack([samples[i].features for i in idx])
        py = vector_to_pitchyaw(mean_gaze(X))
        d = np.degrees(np.linalg.norm(py - np.median(py, axis=0), axis=1))
        limit = max(k * float(np.median(d)), floor_deg)
        drop.update(i for i, di in zip(idx, d) if di > limit)
    return [smp for i, smp in enumerate(samples) if i not in drop], len(drop)


@dataclass(frozen=True, eq=False)
class CalibrationOutcome:
    """A fitted model and its report on the validation targets (None when no validation target had samples)."""

    model: CalibrationModel
    report: AccuracyReport | None
    fit_time_ms: float
    n_calibration_frames: int
    n_outliers: int = 0


def fit_and_validate(samples: list[Sample], screen: ScreenGeometry, regressor: str = DEFAULT_REGRESSOR, *,
                     outlier_k: float | None = 3.0, **options) -> CalibrationOutcome:
    """Fit ``regressor`` on the calibration samples (outliers dropped, see :func:`reject_outliers`), report on
    the validation samples — never used in the fit, never filtered."""
    cal = [smp for smp in samples if smp.role == CALIBRATION]
    n_out = 0
    if outlier_k is not None:
        cal, n_out = reject_outliers(cal, outlier_k)
    X, y, _ = samples_to_arrays(cal, CALIBRATION)
    if len(X) == 0:
        raise NotEnoughDataError(
            "no usable calibration frames (no face, eyes closed or head moved at every target); "
            "check the camera sees your face and recalibrate"
        )
    model = create_regressor(regressor, screen=screen, **options)
    t0 = _time.perf_counter()
    model.fit(X, y)
    fit_ms = (_time.perf_counter() - t0) * 1e3
    Xv, yv, idv = samples_to_arrays(samples, VALIDATION)
    report = None
    if len(Xv):
        report = validation_report(model, Xv, yv, idv, screen, regressor)
    return CalibrationOutcome(model=model, report=report, fit_time_ms=fit_ms, n_calibration_frames=len(X),
                              n_outliers=n_out)


@dataclass(frozen=True, eq=False)
class ProcedureState:
    """What the window draws now."""

    phase: str
    target: Target | None = None
    position_px: np.ndarray | None = None  # (2,)
    radius_px: float = 0.0
    index: int = 0  # position of the current target in the run
    total: int = 0
    reason: str = ""  # last frame's selection result
    message: str = ""


@dataclass
class _Shown:
    target: Target
    t_on: float
    t_off: float | None = None
    n_ok: int = 0


class CalibrationProcedure:
    """Calibration targets, then validation targets; fit; review (accept, redo worst, recalibrate) or cancel."""

    IDLE, RUNNING, REVIEW, ACCEPTED, CANCELLED, FAILED = "idle", "running", "review", "accepted", "cancelled", "failed"

    def __init__(self, screen: ScreenGeometry | None = None, *, layout: str = "9", n_validation: int = 5,
                 regressor: str = DEFAULT_REGRESSOR, settings: SelectionSettings | None = None, seed: int | None = 0,
                 pursuit_s: float = 20.0, margin: float = 0.1):
        self.screen = screen or ScreenGeometry()
        self.settings = settings or SelectionSettings()
        self.regressor = regressor
        create_regressor(regressor, screen=self.screen)  # fail now on an unknown name, not after the user's work
        self.targets = make_targets(self.screen, layout, n_validation, margin=margin, pursuit_s=pursuit_s, seed=seed)
        self.layout = layout
        self.phase = self.IDLE
        self.samples: list[Sample] = []
        self.shown: list[_Shown] = []  # every target display, in order (the recording's timeline)
        self.outcome: CalibrationOutcome | None = None
        self.error: CalibrationError | None = None
        self._queue: list[Target] = []
        self._run_total = 0
        self._selector = SampleSelector(self.settings)
        self._last_reason = ""

    # ---- control ----------------------------------------------------------------------------------------------
    def start(self, t: float) -> ProcedureState:
        """Begin (or begin again): show every target, forget earlier samples."""
        self.samples, self.outcome, self.error = [], None, None
        self._selector = SampleSelector(self.settings)
        self._begin(list(self.targets), t)
        return self.state(t)

    restart = start

    def redo(self, target_ids, t: float) -> ProcedureState:
        """Show the given targets again; their old samples are replaced. Only from the review phase."""
        if self.phase not in (self.REVIEW, self.FAILED):
            raise StateError(f"redo is possible after a calibration run (phase is {self.phase!r}); call start first")
        by_id = {tg.id: tg for tg in self.targets}
        ids = list(dict.fromkeys(int(i) for i in target_ids))
        unknown = [i for i in ids if i not in by_id]
        if unknown or not ids:
            raise InputValueError(f"unknown target ids {unknown or ids}; valid ids: {sorted(by_id)}")
        self.samples = [s for s in self.samples if s.target_id not in ids]
        self._begin([by_id[i] for i in ids], t)
        return self.state(t)

    def redo_worst(self, t: float, n: int = 2) -> ProcedureState:
        """Redo the ``n`` validation targets with the largest error and the calibration targets nearest to them."""
        if self.outcome is None or self.outcome.report is None:
            raise StateError("no validation report yet: finish a calibration run before redoing the worst points")
        worst = self.outcome.report.worst(n)
        cal = [tg for tg in self.targets if tg.role == CALIBRATION and tg.path is None]
        ids = list(worst)
        for wid in worst:
            w = next(tg for tg in self.targets if tg.id == wid)
            if cal:
                near = min(cal, key=lambda c: np.hypot(c.x_px - w.x_px, c.y_px - w.y_px))
                ids.append(near.id)
        return self.redo(ids, t)

    def cancel(self) -> None:
        """Esc: stop; nothing is saved and any profile on disk stays as it was."""
        self.phase = self.CANCELLED

    def accept(self) -> CalibrationOutcome:
        """Accept the reviewed calibration; returns the outcome to save as a profile."""
        if self.phase != self.REVIEW or self.outcome is None:
            raise StateError(f"nothing to accept in phase {self.phase!r}; run the calibration to the review first")
        self.phase = self.ACCEPTED
        return self.outcome

    #: the key bindings of the calibration window (``gazezoom/gui/calibration.py``), for :meth:`handle_key`
    KEYS = {
        "space": "start, or start again (any phase but running)",
        "return": "accept the reviewed calibration (the caller then saves outcome)",
        "w": "redo the 2 worst validation points and their nearest calibration points (review)",
        "escape": "cancel: close without touching the saved profile",
    }

    def handle_key(self, key: str, t: float) -> ProcedureState:
        """Apply a key of :attr:`KEYS` (``"enter"`` = ``"return"``, ``"esc"`` = ``"escape"``; case-insensitive).

        Keys that do nothing in the current phase are ignored. Messages in :class:`ProcedureState` carry no key
        hints: the window shows its own.
        """
        key = {"enter": "return", "esc": "escape", " ": "space"}.get(key.lower(), key.lower())
        if key == "escape":
            self.cancel()
        elif key == "space" and self.phase not in (self.RUNNING, self.CANCELLED, self.ACCEPTED):
            self.start(t)
        elif key == "return" and self.phase == self.REVIEW:
            self.accept()
        elif key == "w" and self.phase == self.REVIEW and self.outcome is not None and self.outcome.report is not None:
            self.redo_worst(t)
        return self.state(t)

    # ---- events -----------------------------------------------------------------------------------------------
    def update(self, t: float, result=None) -> ProcedureState:
        """Feed the time and (optionally) the frame's result; returns what to draw."""
        if self.phase != self.RUNNING:
            return self.state(t)
        cur = self.shown[-1]
        t_rel = t - cur.t_on
        if t_rel < 0:
            raise InputValueError(f"time went backwards: {t} s is before the current target appeared ({cur.t_on} s)")
        if result is not None:
            reason, f = self._selector.consider(t_rel, result)
            self._last_reason = reason
            if f is not None:
                tp = cur.target.position(t_rel - self.settings.pursuit_lag_s)
                self.samples.append(Sample(cur.target.id, cur.target.role, float(t), tp, f))
                cur.n_ok += 1
        done = (cur.target.path is not None and t_rel >= cur.target.duration_s) or (
            cur.target.path is None
            and t_rel >= self.settings.dwell_s
            and (cur.n_ok >= self.settings.min_samples or t_rel >= self.settings.max_dwell_s)
        )
        if done:
            cur.t_off = float(t)
            if self._queue:
                self.shown.append(_Shown(self._queue.pop(0), float(t)))
            else:
                self._finish()
        return self.state(t)

    def state(self, t: float) -> ProcedureState:
        if self.phase != self.RUNNING:
            msg = {
                self.IDLE: "ready: look at each dot until it moves on",
                self.REVIEW: self.outcome.report.summary() if self.outcome and self.outcome.report else "fitted",
                self.FAILED: str(self.error) if self.error else "failed",
                self.CANCELLED: "cancelled; the saved profile is unchanged",
                self.ACCEPTED: "accepted",
            }[self.phase]
            return ProcedureState(phase=self.phase, message=msg, reason=self._last_reason)
        cur = self.shown[-1]
        t_rel = max(0.0, t - cur.t_on)
        return ProcedureState(
            phase=self.phase, target=cur.target, position_px=cur.target.position(t_rel),
            radius_px=self.settings.radius_px(t_rel), index=self._run_total - len(self._queue),
            total=self._run_total, reason=self._last_reason,
            message="follow the dot" if cur.target.path is not None else "look at the dot",
        )

    # ---- recording --------------------------------------------------------------------------------------------
    def timeline(self, t0: float = 0.0) -> list[dict]:
        """Every target shown, with on/off times relative to ``t0`` (the video's first frame), for targets.json."""
        out = []
        for s in self.shown:
            if s.t_off is None:
                continue
            d = s.target.to_dict()
            d.update(t_on_s=round(s.t_on - t0, 4), t_off_s=round(s.t_off - t0, 4))
            out.append(d)
        return out

    # ---- internals --------------------------------------------------------------------------------------------
    def _begin(self, targets: list[Target], t: float) -> None:
        self._queue = list(targets)
        self._run_total = len(targets)
        self.shown.append(_Shown(self._queue.pop(0), float(t)))
        self.phase = self.RUNNING

    def _finish(self) -> None:
        try:
            self.outcome = fit_and_validate(self.samples, self.screen, self.regressor,
                                            outlier_k=self.settings.outlier_k)
            self.phase = self.REVIEW
        except CalibrationError as err:
            self.error, self.outcome = err, None
            self.phase = self.FAILED
