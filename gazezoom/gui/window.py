"""The main window: live view with overlays, the sampler side panel, the screen mini-map, status and actions.

All processing happens in :class:`~gazezoom.live.engine.Engine`'s threads; this module only shows the newest
:class:`~gazezoom.live.engine.View` (a view that arrives while the previous one is still being drawn replaces it, so
the UI never builds a backlog) and turns user actions into engine calls.

The window keeps the wiring; its parts live beside it: :mod:`.layout` (the widgets, menus and tool bars),
:mod:`.profiles` (profile choice, loading, calibration and recentring), :class:`~gazezoom.live.recording.SessionRecorder`
(CSV recording), :class:`~.bridge.Bridge` (engine threads → UI thread).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor
from PyQt5.QtWidgets import QFileDialog, QMainWindow

from ..cliargs import parse_size
from ..errors import GazezoomError
from ..geometry import vector_to_pitchyaw
from ..live.config import AppConfig, GazeSetup, pipeline_factory
from ..live.engine import Engine, EngineState, StateKind, View
from ..live.recording import SessionRecorder
from ..live.render import Overlays
from ..live.sources import SourceSpec, parse_source
from .bridge import Bridge
from .layout import build_actions, build_central, build_source_bar, build_status_bar, first_size
from .profiles import ProfilesMixin
from .widgets import GazeOverlay

__all__ = ["MainWindow"]

_STATE_COLORS = {StateKind.RUNNING: "#3c3", StateKind.STARTING: "#ccc", StateKind.RETRYING: "#f93",
                 StateKind.ERROR: "#f55", StateKind.ENDED: "#fc3", StateKind.DONE: "#3c3", StateKind.STOPPED: "#ccc"}


class MainWindow(ProfilesMixin, QMainWindow):
    """The app's window. ``start()`` begins processing; closing the window stops the engine's threads.

    Signals: ``view_shown(View)`` after each drawn frame (the calibration window listens to it);
    ``state_changed(EngineState)``.
    """

    view_shown = pyqtSignal(object)
    state_changed = pyqtSignal(object)

    def __init__(self, config: AppConfig | None = None):
        super().__init__()
        self.config = config or AppConfig()
        self.settings = (QSettings(self.config.settings_file, QSettings.IniFormat) if self.config.settings_file
                         else QSettings("gazezoom", "gazezoom"))
        self.gaze: GazeSetup | None = None
        self.profile = None  # the calibration profile in use and its screen mapper (.profiles)
        self.mapper = None
        self.last_view: View | None = None
        self.views_shown = 0
        self.state = EngineState(StateKind.STOPPED, "not started")
        self._calibration = None  # the open calibration / recentre window
        self._banner_until = 0.0
        self._notice: tuple[str, bool] | None = None
        self._state_message = ""

        self.setWindowTitle("gazezoom: Learning-to-Zoom gaze tracker")
        overlays = Overlays(**{n: self._setting_bool(f"overlays/{n}", getattr(Overlays(), n)) for n in Overlays.names()})
        self.bridge = Bridge()
        self.bridge.view_ready.connect(self._show_view, Qt.QueuedConnection)
        self.bridge.state_changed.connect(self._on_state, Qt.QueuedConnection)
        self.bridge.gaze_loaded.connect(self._on_gaze, Qt.QueuedConnection)
        self.engine = Engine(pipeline_factory(self.config, self.bridge.gaze_loaded.emit), on_view=self.bridge.push_view,
                             on_state=self.bridge.state_changed.emit, overlays=overlays,
                             max_frames=self.config.max_frames, retry_s=self.config.retry_s,
                             display_width=self.config.display_width)
        self.recorder = SessionRecorder(self.engine, self.config.out_dir)
        self.overlay_window = GazeOverlay()
        self._build(overlays)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(*first_size(self))

    @property
    def persists_settings(self) -> bool:
        """Whether closing the window writes its settings. Headless runs (``--screenshot``, which sets
        ``max_frames``; the offscreen/minimal Qt platforms tests use) never write the user's own settings store;
        an explicit ``settings_file`` is always written."""
        if self.config.settings_file:
            return True
        from PyQt5.QtGui import QGuiApplication

        return self.config.max_frames is None and QGuiApplication.platformName() not in ("offscreen", "minimal")

    # ---- settings helpers ---------------------------------------------------------------------------------------
    def _setting_bool(self, key: str, default: bool) -> bool:
        v = self.settings.value(key, default)
        return v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes")

    def _setting_float(self, key: str, default: float) -> float:
        try:
            return float(self.settings.value(key, default))
        except (TypeError, ValueError):
            return default

    # ---- layout (.layout) --------------------------------------------------------------------------------------
    def _build(self, overlays: Overlays) -> None:
        build_central(self)
        build_status_bar(self)
        build_source_bar(self)
        build_actions(self, overlays)
        self._refresh_profiles()

    # ---- life cycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the configured (else last used, else camera 0) source and start processing."""
        spec = self.config.source
        if spec is None:
            text = str(self.settings.value("source/text", "0"))
            try:
                size = str(self.settings.value("source/size", "") or "")
                w, h = parse_size(size) if size else (0, 0)
                spec = parse_source(text, loop=self._setting_bool("source/loop", True), width=w, height=h,
                                    fps=self._setting_float("source/fps", 0.0))
            except GazezoomError:
                spec = parse_source("0")
        self._show_spec(spec)
        self.engine.start(spec)

    def closeEvent(self, event):  # noqa: N802 - Qt API
        self._save_settings()
        self.engine.stop()
        self._stop_recording()
        self.toggle_stream(False)
        self.overlay_window.close()
        if self._calibration is not None:
            self._calibration.close()
        super().closeEvent(event)

    def _save_settings(self) -> None:
        if not self.persists_settings:
            return
        s = self.settings
        for n in Overlays.names():
            s.setValue(f"overlays/{n}", bool(getattr(self.engine.overlays, n)))
        s.setValue("filter/min_cutoff", self.min_cutoff.value())
        s.setValue("filter/beta", self.beta.value())
        s.setValue("overlay_window", self.actions["overlay_window"].isChecked())
        s.setValue("window/geometry", self.saveGeometry())
        spec = self.engine.spec
        if spec is not None:
            s.setValue("source/text", str(spec.target))
            s.setValue("source/loop", spec.loop)
            s.setValue("source/size", f"{spec.width}x{spec.height}" if spec.width and spec.height else "")
            s.setValue("source/fps", float(spec.fps))
        if self.profile is not None:
            s.setValue("profile", self.profile.user)
        s.sync()

    # ---- sources ----------------------------------------------------------------------------------------------
    def _show_spec(self, spec: SourceSpec) -> None:
        self.source_edit.setText(str(spec.target))
        self.loop_box.setChecked(spec.loop)
        if spec.width and spec.height:
            i = self.size_box.findText(f"{spec.width}x{spec.height}")
            if i >= 0:
                self.size_box.setCurrentIndex(i)
        self.fps_box.setValue(int(spec.fps))

    def open_source(self, spec: SourceSpec) -> None:
        """Switch the live source (the engine keeps running)."""
        self._show_spec(spec)
        self.live.set_message(f"opening {spec.label} …")
        self.engine.open(spec)

    def open_source_text(self) -> None:
        text = self.source_edit.text().strip() or "0"
        size = self.size_box.currentText()
        w, h = parse_size(size) if "x" in size else (0, 0)
        old = self.engine.spec
        try:
            spec = parse_source(text, loop=self.loop_box.isChecked(), width=w, height=h, fps=float(self.fps_box.value()),
                                resize=old.resize if old else None, pace=old.pace if old else True)
        except GazezoomError as err:
            self.notify(str(err), error=True)
            return
        self.open_source(spec)

    def browse_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", str(Path.cwd()),
                                              "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)")
        if path:
            self.source_edit.setText(path)
            self.open_source_text()

    # ---- engine → UI --------------------------------------------------------------------------------------------
    def _on_gaze(self, gaze: GazeSetup) -> None:
        self.gaze = gaze
        self.gaze_label.setText(gaze.note if gaze.stage is not None else "no gaze model: face front-end only")
        self.gaze_label.setToolTip(gaze.note)
        if gaze.stage is None:
            self.notify(gaze.note, error=True, seconds=8)
        self._update_action_states()
        wanted = self.config.profile or self.settings.value("profile", "")
        if wanted and self.profile is None:
            self.load_profile(str(wanted), quiet=not self.config.profile)

    def _on_state(self, state: EngineState) -> None:
        self.state = state
        color = _STATE_COLORS.get(state.kind, "#ccc")
        short = state.message if len(state.message) <= 48 else state.message[:47] + "…"
        self.state_label.setText(f"<span style='color:{color}'>●</span> {state.kind}: {short}")
        self.state_label.setToolTip(state.message)
        if state.kind in (StateKind.RETRYING, StateKind.ERROR, StateKind.ENDED, StateKind.STARTING):
            self._state_message = state.message
        elif state.kind in (StateKind.RUNNING, StateKind.DONE):
            self._state_message = ""
        self._refresh_banner()
        self.state_changed.emit(state)

    def _show_view(self) -> None:
        view = self.bridge.take()
        if view is None:
            return
        self.last_view = view
        self.views_shown += 1
        self.live.set_image(view.image)
        self.panel.set_image(view.panel)
        has_model = self.gaze is not None and self.gaze.stage is not None
        if view.panel is None:
            self.panel.set_message("no face" if view.result.face is None else
                                   NO_GAZE_READ if has_model else "no gaze model: no patches")
        elif self.panel.message:
            self.panel.set_message("")
        self.info.setText(_info_text(view, has_model))
        self.minimap.set_point(view.screen)
        self.overlay_window.set_point(view.screen)
        self.counters_label.setText(view.counters.summary())
        if self._state_message and self.state.kind is StateKind.STARTING:  # a frame arrived: no longer starting
            self._state_message = ""
            self._refresh_banner()
        self.view_shown.emit(view)

    # ---- user actions -----------------------------------------------------------------------------------------
    def notify(self, text: str, *, error: bool = False, seconds: float = 5.0) -> None:
        """Show ``text`` as a banner over the live view for ``seconds`` (then the source state shows again)."""
        self._notice = (text, error)
        self._banner_until = time.monotonic() + seconds
        self._refresh_banner()
        QTimer.singleShot(int(seconds * 1000) + 50, self._refresh_banner)

    @property
    def banner(self) -> str:
        """The text over the live view now (a notice, else the source state when it needs attention)."""
        return self.live.message

    def _refresh_banner(self) -> None:
        if self._notice is not None and time.monotonic() < self._banner_until:
            text, error = self._notice
        else:
            self._notice = None
            text, error = self._state_message, self.state.kind in (StateKind.RETRYING, StateKind.ERROR)
        self.live.set_message(text, QColor(255, 140, 80) if error else QColor(220, 220, 220))

    def set_overlay(self, name: str, on: bool) -> None:
        self.engine.overlays = dataclasses.replace(self.engine.overlays, **{name: bool(on)})

    def toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def toggle_overlay_window(self, on: bool) -> None:
        self.overlay_window.setVisible(bool(on))

    def _screenshot_action(self) -> None:
        try:
            self.save_screenshot()
        except GazezoomError:
            pass  # already shown

    def save_screenshot(self, path: str | Path | None = None) -> Path:
        """Save the window as PNG (default ``<out_dir>/gazezoom_<time>.png``); returns the path."""
        if not path:
            path = Path(self.config.out_dir) / f"gazezoom_{datetime.now():%Y%m%d_%H%M%S}.png"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.grab().save(str(path)):
            self.notify(f"could not write the screenshot {path}", error=True)
            raise GazezoomError(f"could not write the screenshot {path} (check the folder is writable)")
        self.notify(f"screenshot saved: {path}")
        return path

    # recording (live.recording)
    @property
    def recording_path(self) -> Path | None:
        """The last session table started (kept after recording stops)."""
        return self.recorder.path

    def toggle_recording(self, on: bool) -> None:
        if on:
            try:
                path = self.recorder.start()
            except GazezoomError as err:
                self.notify(str(err), error=True)
                self.actions["record"].setChecked(False)
                return
            self.notify(f"recording to {path}")
        else:
            self._stop_recording()

    def _stop_recording(self) -> None:
        path = self.recorder.stop()
        if path is not None:
            self.notify(f"recording saved: {path}")

    # live streams (docs/streaming.md), as `gazezoom stream --lsl --websocket 8765`: (LSL name, WebSocket address)
    STREAM_OUTLETS = ("gazezoom", ("127.0.0.1", 8765))

    def toggle_stream(self, on: bool) -> None:
        outlets, self.engine.streamer = self.engine.streamer, None
        if outlets is not None:
            outlets.close()
            self.notify("streaming stopped: " + "; ".join(outlets.summary()))
        if on:
            from ..io.streams import LiveOutlets

            try:
                self.engine.streamer = LiveOutlets(*self.STREAM_OUTLETS, rate=self.engine.source_fps or 0.0)
            except GazezoomError as err:
                self.notify(f"cannot stream: {err}", error=True)
                self.actions["stream"].setChecked(False)
                return
            self.notify(f"streaming gaze: {self.engine.streamer.describe()}")


#: What the app says when a gaze model is loaded but a face's eyes cannot be read (``UnreadableEyesError``).
NO_GAZE_READ = "eyes not readable (sunglasses? covered?): no gaze"


def _info_text(view: View, has_model: bool = False) -> str:
    """Gaze angles, eye openness and blink state as a few monospace lines (``has_model``: a gaze stage is loaded,
    so a face without gaze is one whose eyes could not be read)."""
    r = view.result
    if r.face is None:
        return "no face"
    lines = []
    g = r.gaze
    if g is not None:
        p, y = np.degrees(g.pitchyaw)
        lines.append(f"gaze   pitch {p:+6.1f}°  yaw {y:+6.1f}°" + ("  (held)" if g.held else ""))
        for eg in g.eyes:
            ep, ey = np.degrees(vector_to_pitchyaw(np.asarray(eg.vector_cam, float)))
            lines.append(f"{eg.side:<6} pitch {ep:+6.1f}°  yaw {ey:+6.1f}°")
    else:
        lines.append("gaze   — " + (f"({NO_GAZE_READ})" if has_model else "(no gaze model)"))
    left, right = r.face.eyes
    lines.append(f"open   L {left.openness:.2f}  R {right.openness:.2f}   blink: {'YES' if r.face.blink else 'no'}")
    if view.screen is not None:
        lines.append(f"screen x {view.screen.x_px:6.0f}  y {view.screen.y_px:6.0f} px" + ("  held" if view.screen.held else ""))
    return "\n".join(lines)
