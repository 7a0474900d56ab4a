"""Full-screen calibration and recentre windows (keyboard-driven); ``gazezoom calibrate``'s live loop that drives
them is :mod:`gazezoom.gui.calibrate_live`.

The procedure logic lives in :class:`gazezoom.calibration.procedure.CalibrationProcedure`; the window only draws
its :class:`ProcedureState`, forwards frames (``feed(view)``) and keys, shows the validation report, and saves the
profile through :func:`gazezoom.calibration.profile.save_outcome`.

Keys: Space starts (or restarts), Enter accepts and saves, W redoes the worst validation points, Esc cancels (the
saved profile stays as it was).
"""

from __future__ import annotations

import enum
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtCore import QPointF, QRectF, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QImage, QPainter
from PyQt5.QtWidgets import QWidget

from ..errors import GazezoomError
from ..live.engine import View

__all__ = ["CalibrationWindow", "RecentreWindow", "Finished", "Status", "screen_geometry"]


class Status(str, enum.Enum):
    """How a calibration or recentre window ended (a ``str`` enum: ``Status.SAVED == "saved"``)."""

    SAVED = "saved"
    DRY_RUN = "dry-run"  # a dry run accepted: nothing saved
    CANCELLED = "cancelled"  # Esc or the window closed: the saved profile is unchanged
    FAILED = "failed"  # recentring could not estimate an offset

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Finished:
    """What a full-screen window's ``finished`` signal carries: the :class:`Status`, a message for people, and for
    a saved result the profile file (``path``), the validation picture (``report_png``, calibration) or the
    recentred profile (``profile``, recentre)."""

    status: Status
    message: str = ""
    path: Path | None = None
    report_png: Path | None = None
    profile: object | None = None

_BG = QColor(40, 40, 40)


def screen_geometry(qscreen=None):
    """The :class:`ScreenGeometry` of a ``QScreen`` (device pixels; millimetres from the screen's physical size,
    or the laptop default's pixel pitch when the platform does not report one)."""
    from ..calibration.screen import ScreenGeometry

    default = ScreenGeometry()
    if qscreen is None:
        return default
    g, dpr = qscreen.geometry(), float(qscreen.devicePixelRatio() or 1.0)
    w, h = max(1, int(round(g.width() * dpr))), max(1, int(round(g.height() * dpr)))
    mm = qscreen.physicalSize()
    wmm, hmm = float(mm.width()), float(mm.height())
    if not (50 < wmm < 3000 and 30 < hmm < 2000):  # offscreen / virtual screens report nonsense
        sx, sy = default.mm_per_px
        wmm, hmm = w * sx, h * sy
    return ScreenGeometry(width_px=w, height_px=h, width_mm=wmm, height_mm=hmm)


class _Clock:
    """Seconds on ``time.perf_counter`` that never go backwards (the procedure refuses time going back)."""

    def __init__(self):
        self.last = time.perf_counter()

    def __call__(self) -> float:
        self.last = max(self.last, time.perf_counter())
        return self.last


class _FullScreenWindow(QWidget):
    finished = pyqtSignal(object)  # Finished

    def __init__(self, screen_size: tuple[int, int]):
        super().__init__(None, Qt.Window)
        self.setWindowTitle("gazezoom calibration")
        self.setFocusPolicy(Qt.StrongFocus)
        self.screen_size = screen_size
        self.done = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(16)

    def to_widget(self, px) -> QPointF:
        """Screen pixels of the geometry → widget coordinates (the window covers the screen)."""
        W, H = self.screen_size
        return QPointF(float(px[0]) * self.width() / W, float(px[1]) * self.height() / H)

    def _finish(self, outcome: Finished) -> None:
        if self.done:
            return
        self.done = True
        self._timer.stop()
        self.finished.emit(outcome)
        self.close()

    def closeEvent(self, event):  # noqa: N802 - closing the window is Esc
        if not self.done:
            self._cancel()
        super().closeEvent(event)

    def _cancel(self) -> None:
        self._finish(Finished(Status.CANCELLED, "cancelled; the saved profile is unchanged"))

    def _tick(self) -> None:
        self.update()

    def _text(self, p: QPainter, rect: QRectF, text: str, size: float = 14.0, color=QColor(230, 230, 230)) -> None:
        f = QFont(self.font())
        f.setPointSizeF(size)
        p.setFont(f)
        p.setPen(color)
        p.drawText(rect, int(Qt.AlignCenter | Qt.TextWordWrap), text)

    def _dot(self, p: QPainter, pos, radius_px: float) -> None:
        c = self.to_widget(pos)
        r = max(2.0, radius_px * self.width() / self.screen_size[0])
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(255, 255, 255))
        p.drawEllipse(c, r, r)
        p.setBrush(QColor(220, 40, 40))
        p.drawEllipse(c, max(1.5, r / 3), max(1.5, r / 3))


class CalibrationWindow(_FullScreenWindow):
    """Draws a :class:`CalibrationProcedure`; ``feed(view)`` forwards each processed frame.

    ``finished`` emits a :class:`Finished`: ``SAVED`` with ``path``, ``report_png`` and the validation summary after
    Enter in the review (``DRY_RUN`` with ``dry_run``), ``CANCELLED`` on Esc. ``frame_clock=True`` drives the procedure only by the times
    passed to :meth:`feed` (recordings: the video's time base); otherwise by a monotonic clock.
    """

    def __init__(self, procedure, *, user: str, gaze_model: str, profiles_dir=None, report_png=None,
                 max_error_deg: float | None = None, dry_run: bool = False, frame_clock: bool = False,
                 force: bool = False):
        super().__init__((procedure.screen.width_px, procedure.screen.height_px))
        self.procedure = procedure
        self.user, self.gaze_model, self.profiles_dir = user, gaze_model, profiles_dir
        self.report_png, self.max_error_deg, self.dry_run = report_png, max_error_deg, dry_run
        self.force = force  # --force: save whatever the quality guard says
        self.refused = False  # the last Enter was refused by the quality guard: F saves anyway
        self.frame_clock = frame_clock
        self.clock = _Clock()
        self.t = 0.0 if frame_clock else self.clock()
        self.state = procedure.state(self.t)
        self.frames_fed = 0
        self._report_image: QImage | None = None
        self._error = ""

    # ---- events ----------------------------------------------------------------------------------------------
    def feed(self, view: View, t: float | None = None) -> None:
        """A processed frame (from the main window's ``view_shown`` or the calibrate command)."""
        if self.done:
            return
        self.frames_fed += 1
        self.t = max(self.t, self.clock() if t is None else float(t))
        self._update(view.result)

    def _tick(self) -> None:
        if not self.frame_clock and not self.done:
            self.t = max(self.t, self.clock())
            self._update(None)
        self.update()

    def _update(self, result) -> None:
        before = self.procedure.phase
        try:
            self.state = self.procedure.update(self.t, result)
        except GazezoomError as err:
            self._error = str(err)
            return
        if before != self.procedure.phase and self.procedure.phase == self.procedure.REVIEW:
            self._make_report()

    def _make_report(self) -> None:
        outcome = self.procedure.outcome
        if outcome is None or outcome.report is None:
            self._report_image = None
            return
        from ..calibration.report import plot_report

        try:
            with tempfile.TemporaryDirectory(prefix="gazezoom_cal_") as tmp:  # QImage reads the file at once
                path = Path(tmp) / "report.png"
                plot_report(outcome.report, self.procedure.screen, path, title=f"validation: {self.user}")
                self._report_image = QImage(str(path))
        except Exception as err:  # noqa: BLE001 - the picture is a nicety; the numbers are shown anyway
            self._error = f"could not draw the report picture: {err}"

    def keyPressEvent(self, event):  # noqa: N802
        key = event.key()
        proc = self.procedure
        try:
            if key == Qt.Key_Escape:
                proc.cancel()
                self._cancel()
            elif key == Qt.Key_Space and proc.phase != proc.RUNNING:
                self._error, self._report_image = "", None
                self.state = proc.start(self.t if self.frame_clock else self.clock())
            elif key in (Qt.Key_Return, Qt.Key_Enter) and proc.phase == proc.REVIEW:
                self.accept()
            elif key == Qt.Key_F and proc.phase == proc.REVIEW and self.refused:
                self.accept(force=True)
            elif key == Qt.Key_W and proc.phase == proc.REVIEW:
                self._report_image = None
                self.state = proc.redo_worst(self.t if self.frame_clock else self.clock())
            else:
                super().keyPressEvent(event)
        except GazezoomError as err:
            self._error = str(err)
        self.update()

    def accept(self, force: bool = False) -> Finished | None:
        """Accept the reviewed fit and save the profile (unless ``dry_run``); returns the :class:`Finished`, or None when
        it was not saved (``_error`` says why; after a quality refusal ``accept(force=True)``, key F, saves anyway)."""
        from ..calibration.profile import profiles_dir, save_outcome
        from ..errors import CalibrationError

        try:
            if self.dry_run:
                if self.max_error_deg is not None and self.procedure.outcome.report is not None:
                    self.procedure.outcome.report.check(self.max_error_deg)
                self.procedure.accept()
                out = Finished(Status.DRY_RUN, "dry run: nothing saved")
            else:
                outcome = self.procedure.outcome
                png = self.report_png or profiles_dir(self.profiles_dir) / f"{self.user}_validation.png"
                path, png = save_outcome(self.user, outcome, self.procedure.screen, self.gaze_model, self.profiles_dir,
                                         report_png=png, max_error_deg=self.max_error_deg,
                                         force=force or self.force)
                self.procedure.accept()
                summary = outcome.report.summary() if outcome.report is not None else "no validation frames"
                out = Finished(Status.SAVED, summary, path=path, report_png=png)
        except GazezoomError as err:  # e.g. PoorFitError: stay in the review, say why
            self.refused = isinstance(err, CalibrationError)
            self._error = str(err) + ("\nF: save anyway    W: redo the worst points    Space: recalibrate"
                                      if self.refused else "")
            self.update()
            return None
        self._finish(out)
        return out

    # ---- drawing ----------------------------------------------------------------------------------------------
    def paintEvent(self, event):  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), _BG)
        st, proc = self.state, self.procedure
        full = QRectF(self.rect())
        top = QRectF(0, 10, self.width(), 60)
        if st.phase == proc.RUNNING and st.position_px is not None:
            self._dot(p, st.position_px, st.radius_px)
            fb = f"   ({st.reason})" if st.reason and st.reason != "ok" else ""
            self._text(p, top, f"{st.message}  —  target {st.index} of {st.total}{fb}   ·   Esc cancels", 11,
                       QColor(170, 170, 170))
        elif st.phase == proc.IDLE:
            self._text(p, full, f"Calibration for '{self.user}'\n\nLook at each dot until it moves on; keep your head "
                                "still.\n\nSpace: start    Esc: cancel", 18)
        elif st.phase == proc.REVIEW:
            text_h = 190.0
            if self._report_image is not None and not self._report_image.isNull():
                img = self._report_image
                avail = max(50.0, self.height() - text_h - 20)
                s = min(self.width() * 0.9 / img.width(), avail / img.height())
                w, h = img.width() * s, img.height() * s
                p.drawImage(QRectF((self.width() - w) / 2, 10, w, h), img)
            self._text(p, QRectF(0, self.height() - text_h, self.width(), text_h - 10),
                       f"{st.message}\n\nEnter: accept and save    W: redo the worst points    Space: recalibrate    "
                       "Esc: cancel", 13)
        else:
            self._text(p, full, f"{st.message}\n\nSpace: try again    Esc: cancel", 16)
        if self._error:
            self._text(p, QRectF(0, self.height() - 60, self.width(), 50), self._error, 12, QColor(255, 120, 90))
        p.end()


class RecentreWindow(_FullScreenWindow):
    """Drift correction: one dot at the screen centre; after ``settle_s`` the frames of ``collect_s`` seconds give the
    profile's new offset, saved to the profile file. The logic is :class:`gazezoom.calibration.drift.RecentreSession`
    (blinks and frames without a face are skipped as in calibration); this window only shows the dot and the clock."""

    def __init__(self, mapper, profile, *, profiles_dir=None, settle_s: float = 0.4, collect_s: float = 1.2,
                 save: bool = True):
        from ..calibration.drift import RecentreSession

        super().__init__((mapper.screen.width_px, mapper.screen.height_px))
        self.mapper, self.profile, self.profiles_dir, self.save = mapper, profile, profiles_dir, save
        self.settle_s, self.collect_s = settle_s, collect_s
        self.session = RecentreSession(mapper, t0=0.0, settle_s=settle_s, duration_s=settle_s + collect_s)
        self.target = self.session.target_px
        self.clock = _Clock()
        self.t0 = self.clock()

    def feed(self, view: View, t: float | None = None) -> None:
        if not self.done:
            self.session.update(self.clock() - self.t0, view.result)

    def _tick(self) -> None:
        if not self.done and self.session.done(self.clock() - self.t0):
            self._compute()
        self.update()

    def _compute(self) -> None:
        from ..calibration.profile import save_profile

        try:
            offset = self.session.finish()
            profile = self.profile.replace(offset_px=(float(offset[0]), float(offset[1])))
            path = save_profile(profile, self.profiles_dir) if self.save else None
        except GazezoomError as err:
            self._finish(Finished(Status.FAILED, f"recentre failed: {err}"))
            return
        self._finish(Finished(Status.SAVED, f"recentred: offset ({offset[0]:+.0f}, {offset[1]:+.0f}) px from "
                                            f"{self.session.n_frames} frames", path=path, profile=profile))

    def keyPressEvent(self, event):  # noqa: N802
        if event.key() == Qt.Key_Escape:
            self._cancel()
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event):  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), _BG)
        t_rel = self.clock() - self.t0
        r = 30.0 * max(0.25, 1.0 - t_rel / max(self.settle_s, 1e-3))
        self._dot(p, self.target, r)
        self._text(p, QRectF(0, 10, self.width(), 50), "Recentre: look at the dot   ·   Esc cancels", 11,
                   QColor(170, 170, 170))
        p.end()
