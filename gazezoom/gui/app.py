"""QApplication set-up and the ``demo`` command's body: the interactive window or the headless ``--screenshot`` run."""

from __future__ import annotations

import os
import sys
import time

from ..errors import GazezoomError, MediaError
from ..live.config import AppConfig
from ..live.engine import StateKind

__all__ = ["create_application", "run_app", "headless_platform", "QuitOnSignals", "signal_exit_code"]


def signal_exit_code(signum: int | None) -> int | None:
    """The shell's exit code for a run stopped by ``signum`` (Ctrl-C → 130, SIGTERM → 143), None for no signal."""
    return None if signum is None else 128 + int(signum)


class QuitOnSignals:
    """While entered, SIGINT (Ctrl-C) and SIGTERM close the window and quit the Qt event loop cleanly.

    Python runs signal handlers only when the interpreter gets control; inside ``app.exec_()`` Qt's C++ loop
    holds it, so Ctrl-C did nothing offscreen and, with the default handler, raised ``KeyboardInterrupt`` inside a
    Qt slot, which PyQt5 turns into ``qFatal`` (SIGABRT). A 100 ms timer hands control back to Python, and our
    handler quits the loop instead of raising. ``signum`` records the signal that stopped the run.
    """

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, app, on_signal=None, interval_ms: int = 100):
        self.app, self.on_signal, self.interval_ms = app, on_signal, interval_ms
        self.signum: int | None = None
        self._old: dict = {}
        self._timer = None

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:  # a second Ctrl-C while closing: quit without more ceremony
            self.app.quit()
            return
        self.signum = signum
        if self.on_signal is not None:
            self.on_signal(signum)
        self.app.quit()

    def __enter__(self) -> "QuitOnSignals":
        import signal
        import threading

        from PyQt5.QtCore import QTimer

        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                num = getattr(signal, name)
                self._old[num] = signal.signal(num, self._handle)
        self._timer = QTimer()
        self._timer.timeout.connect(lambda: None)  # wakes the interpreter so the handler can run
        self._timer.start(self.interval_ms)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self._timer is not None:
            self._timer.stop()
        for num, old in self._old.items():
            signal.signal(num, old)
        self._old.clear()

    @property
    def exit_code(self) -> int | None:
        return signal_exit_code(self.signum)


def headless_platform() -> bool:
    """True when Qt has no display to use (no X11/Wayland and no platform chosen)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return False
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def create_application(*, offscreen: bool = False):
    """The process's ``QApplication`` (created once, high-DPI aware).

    The cv2 wheel points ``QT_QPA_PLATFORM_PLUGIN_PATH`` at its own Qt plugins when imported (mediapipe imports
    cv2 too); Qt then aborts under a real X server. cv2 is imported first and the variable dropped before Qt starts.
    """
    import cv2  # noqa: F401 - imported for its side effect on the environment, undone below

    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    if offscreen and headless_platform():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if headless_platform():
        raise GazezoomError(
            "no display found (DISPLAY / WAYLAND_DISPLAY unset): run on a desktop, under xvfb-run, or headless with "
            "--screenshot out.png --frames N (or set QT_QPA_PLATFORM=offscreen)"
        )
    from PyQt5.QtCore import QCoreApplication, Qt
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
        QCoreApplication.setAttribute(Qt.AA_UseHighDpiPixmaps, True)
        app = QApplication([sys.argv[0] if sys.argv else "gazezoom", "-name", "gazezoom"])
        app.setApplicationName("gazezoom")
        app.setOrganizationName("gazezoom")
    return app


def run_app(config: AppConfig, *, screenshot: str | None = None, frames: int | None = None,
            timeout_s: float | None = None) -> int:
    """Run the window until it is closed, or — with ``screenshot`` — process ``frames`` frames headless, save a
    picture of the window and exit. Prints the app's counters at exit. Returns the exit code."""
    app = create_application(offscreen=screenshot is not None)
    from PyQt5.QtCore import QTimer

    from .window import MainWindow

    if screenshot is not None:
        config.max_frames = frames or 60
    window = MainWindow(config)
    outcome = {"code": 0, "path": None}
    t_start = time.perf_counter()

    if screenshot is not None:
        def finish(reason: str = "") -> None:
            if outcome.get("finished"):
                return
            outcome["finished"] = True
            app.processEvents()  # draw the newest view before grabbing
            try:
                outcome["path"] = window.save_screenshot(screenshot)
            except GazezoomError as err:
                print(f"gazezoom demo: error: {err}", file=sys.stderr)
                outcome["code"] = MediaError.exit_code
            if reason:
                print(f"gazezoom demo: {reason}", file=sys.stderr)
                outcome["code"] = outcome["code"] or 1
            window.close()
            app.quit()

        def on_state(state) -> None:
            if state.kind is StateKind.DONE:
                QTimer.singleShot(50, finish)
            elif state.kind is StateKind.ENDED:
                QTimer.singleShot(50, lambda: finish(f"the source ended after {window.engine.counters.frames} frames"))
            elif state.kind in (StateKind.ERROR, StateKind.RETRYING) and window.engine.counters.frames == 0:
                # nothing to show but the failure itself: give it a moment on screen, then save that picture
                QTimer.singleShot(3000, lambda: finish(f"{state.kind}: {state.message}"))

        window.state_changed.connect(on_state)
        limit = timeout_s if timeout_s is not None else 60.0 + 2.0 * config.max_frames
        QTimer.singleShot(int(limit * 1000), lambda: finish(
            f"stopped after {limit:.0f} s with {window.engine.counters.frames} of {config.max_frames} frames "
            f"processed; last state: {window.state.kind}: {window.state.message}"))

    window.show()
    window.start()
    with QuitOnSignals(app, on_signal=lambda signum: window.close()) as signals:
        app.exec_()
    window.engine.stop()
    _print_counters(window, time.perf_counter() - t_start)
    if signals.signum is not None:
        print(f"gazezoom demo: interrupted ({_signal_name(signals.signum)}); camera and files closed", file=sys.stderr)
        return signals.exit_code
    if outcome["path"] is not None:
        print(f"screenshot saved: {outcome['path']}")
    return outcome["code"]


def _signal_name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name


def _print_counters(window, wall_s: float) -> None:
    view = window.last_view
    gaze = window.gaze.note if window.gaze is not None else "gaze model not loaded"
    if view is None:
        print(f"no frame processed in {wall_s:.1f} s; state: {window.state.kind}: {window.state.message}")
        return
    c = view.counters
    h, w = view.result.frame_size
    print(f"source: {view.source} ({w}x{h}); {gaze}")
    print(f"counters (last {min(c.frames, window.engine.counters.window)} frames): {c.summary()}")
    print(f"session: {c.frames} frames processed, {c.dropped} dropped, {c.session_fps:.1f} FPS; "
          f"{window.bridge.skipped} views replaced before the UI drew them")
