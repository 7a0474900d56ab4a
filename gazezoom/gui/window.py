"""The main window: live view with overlays, the sampler side panel, the screen mini-map, status and actions.

All processing happens in :class:`~gazezoom.live.engine.Engine`'s threads; this module only shows the newest
:class:`~gazezoom.live.engine.View` (a view that arrives while the previous one is still being drawn replaces it, so
the UI never builds a backlog) and turns user actions into engine calls.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
import time
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QObject, QSettings, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..cliargs import parse_size
from ..errors import GazezoomError
from ..geometry import vector_to_pitchyaw
from ..live.config import AppConfig, GazeSetup, pipeline_factory
from ..live.engine import Engine, EngineState, View
from ..live.render import Overlays
from ..live.sources import SourceSpec, parse_source
from .widgets import GazeOverlay, ImageView, MiniMap

__all__ = ["MainWindow", "OVERLAY_KEYS"]

#: overlay name → (menu text, shortcut)
OVERLAY_KEYS: dict[str, tuple[str, str]] = {
    "landmarks": ("Landmarks", "L"),
    "regions": ("Eye regions", "E"),
    "grid": ("Sampling grid", "G"),
    "axes": ("Head axes", "H"),
    "gaze": ("Gaze arrows", "A"),
    "labels": ("Labels", "T"),
}

_STATE_COLORS = {"running": "#3c3", "starting": "#ccc", "retrying": "#f93", "error": "#f55", "ended": "#fc3",
                 "done": "#3c3", "stopped": "#ccc"}


def _filter_default(name: str) -> float:
    from ..filters import OneEuroFilter

    return float(inspect.signature(OneEuroFilter).parameters[name].default)


#: The first window size on a large screen; on a smaller one the window takes 90 % of the available area.
FIRST_SIZE = (1320, 780)


def first_size(widget) -> tuple[int, int]:
    """The window's first size: :data:`FIRST_SIZE`, shrunk to 90 % of the screen's available area on small screens
    (a 1366x768 laptop gets 1229x~650). Headless platforms keep :data:`FIRST_SIZE` (their "screen" is a stub)."""
    from PyQt5.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    if screen is None or QGuiApplication.platformName() in ("offscreen", "minimal"):
        return FIRST_SIZE
    area = screen.availableGeometry()
    return min(FIRST_SIZE[0], int(area.width() * 0.9)), min(FIRST_SIZE[1], int(area.height() * 0.9))


class _Bridge(QObject):
    """Engine threads → UI thread. Views go through a one-item mailbox: the UI always draws the newest."""

    view_ready = pyqtSignal()
    state_changed = pyqtSignal(object)
    gaze_loaded = pyqtSignal(object)

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._view: View | None = None
        self._pending = False
        self.skipped = 0  # views replaced before the UI drew them

    def push_view(self, view: View) -> None:
        with self._lock:
            if self._view is not None:
                self.skipped += 1
            self._view = view
            emit, self._pending = not self._pending, True
        if emit:
            self.view_ready.emit()

    def take(self) -> View | None:
        with self._lock:
            v, self._view, self._pending = self._view, None, False
            return v


class MainWindow(QMainWindow):
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
        self.profile = None
        self.mapper = None
        self.last_view: View | None = None
        self.views_shown = 0
        self.state = EngineState("stopped", "not started")
        self.recording_path: Path | None = None
        self._writer = None
        self._writer_lock = threading.Lock()
        self._calibration = None  # the open calibration / recentre window
        self._banner_until = 0.0
        self._notice: tuple[str, bool] | None = None
        self._state_message = ""

        self.setWindowTitle("gazezoom: Learning-to-Zoom gaze tracker")
        overlays = Overlays(**{n: self._setting_bool(f"overlays/{n}", getattr(Overlays(), n)) for n in Overlays.names()})
        self.bridge = _Bridge()
        self.bridge.view_ready.connect(self._show_view, Qt.QueuedConnection)
        self.bridge.state_changed.connect(self._on_state, Qt.QueuedConnection)
        self.bridge.gaze_loaded.connect(self._on_gaze, Qt.QueuedConnection)
        self.engine = Engine(pipeline_factory(self.config, self.bridge.gaze_loaded.emit), on_view=self.bridge.push_view,
                             on_state=self.bridge.state_changed.emit, overlays=overlays,
                             max_frames=self.config.max_frames, retry_s=self.config.retry_s,
                             display_width=self.config.display_width)
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

    # ---- layout -----------------------------------------------------------------------------------------------
    def _build(self, overlays: Overlays) -> None:
        self.live = ImageView("starting …", min_size=(320, 180))
        self.panel = ImageView("no eyes yet", min_size=(200, 150))
        self.panel.setToolTip("What the gaze network sees: the sampler's zoomed patches, its saliency maps (where it "
                              "magnifies), and plain uniform patches of the same regions for comparison")
        self.info = QLabel("—")
        mono = QFont("Monospace")
        mono.setStyleHint(QFont.TypeWriter)
        self.info.setFont(mono)
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.minimap = MiniMap()
        self.gaze_label = QLabel("")
        self.gaze_label.setWordWrap(True)

        # One Euro settings (Casiez et al. 2012): min_cutoff = jitter at rest, beta = lag when moving.
        self.min_cutoff = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=20.0, singleStep=0.1)
        self.min_cutoff.setValue(self.config.min_cutoff if self.config.min_cutoff is not None else
                                 self._setting_float("filter/min_cutoff", _filter_default("min_cutoff")))
        self.min_cutoff.setSuffix(" Hz")
        self.min_cutoff.setToolTip("One Euro min cutoff: lower = steadier point at rest, more lag")
        self.beta = QDoubleSpinBox(decimals=4, minimum=0.0, maximum=1.0, singleStep=0.0005)
        self.beta.setValue(self.config.beta if self.config.beta is not None else
                           self._setting_float("filter/beta", _filter_default("beta")))
        self.beta.setToolTip("One Euro beta: higher = follows fast gaze shifts with less lag, more jitter")
        self.min_cutoff.valueChanged.connect(self._filter_changed)
        self.beta.valueChanged.connect(self._filter_changed)
        self.profile_box = QComboBox()
        self.profile_box.setToolTip("calibration profile in use")
        self.profile_box.activated.connect(self._profile_chosen)

        screen_box = QGroupBox("Gaze on screen")
        form = QFormLayout(screen_box)
        form.addRow("profile", self.profile_box)
        form.addRow(self.minimap)
        form.addRow("1€ min cutoff", self.min_cutoff)
        form.addRow("1€ beta", self.beta)

        side = QWidget()
        side.setMinimumWidth(340)
        lay = QVBoxLayout(side)
        lay.setContentsMargins(4, 4, 4, 4)
        title = QLabel("<b>Sampler view</b> (left / right eye)")
        lay.addWidget(title)
        lay.addWidget(self.panel, 3)
        lay.addWidget(self.info)
        lay.addWidget(self.gaze_label)
        lay.addWidget(screen_box, 2)
        # The side panel scrolls instead of setting the window's minimum height (it needs ~690 px): the window works
        # from 1024x600 up, and nothing in the panel overlaps when it is short.
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(side.minimumWidth() + 20)
        self.side_scroll = scroll
        split = QSplitter()
        split.addWidget(self.live)
        split.addWidget(scroll)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([900, 380])
        self.setCentralWidget(split)

        # status bar
        self.state_label = QLabel("starting")
        self.counters_label = QLabel("")
        self.counters_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # cut, never widen the window
        self.counters_label.setToolTip("processed frames per second; latency from capture to ready-to-show (median); "
                                       "per-stage medians; frames dropped because processing was busy")
        self.profile_label = QLabel("profile: none")
        sb = self.statusBar()
        sb.addPermanentWidget(self.state_label, 2)
        sb.addPermanentWidget(self.counters_label, 4)
        sb.addPermanentWidget(self.profile_label)

        # source bar
        src = QToolBar("Source")
        src.setObjectName("source")
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("camera index or video file")
        self.source_edit.setToolTip("camera index (0, 1 …) or a video file path; Enter opens it")
        self.source_edit.returnPressed.connect(self.open_source_text)
        self.loop_box = QCheckBox("loop")
        self.loop_box.setToolTip("restart a video at its end")
        self.size_box = QComboBox()
        self.size_box.addItems(["camera default", "640x480", "1280x720", "1920x1080"])
        self.size_box.setToolTip("resolution requested from a camera")
        self.fps_box = QSpinBox(minimum=0, maximum=240)
        self.fps_box.setSpecialValueText("default fps")
        self.fps_box.setToolTip("frame rate requested from a camera (0 = its default)")
        open_btn = QPushButton("Open")
        open_btn.clicked.connect(self.open_source_text)
        browse = QPushButton("Video…")
        browse.clicked.connect(self.browse_video)
        for w in (QLabel(" Source "), self.source_edit, self.loop_box, self.size_box, self.fps_box, open_btn, browse):
            src.addWidget(w)
        self.addToolBar(Qt.TopToolBarArea, src)

        # actions
        self.actions: dict[str, QAction] = {}
        view_menu = self.menuBar().addMenu("&View")
        tb = QToolBar("Actions")
        tb.setObjectName("actions")
        for name, (text, key) in OVERLAY_KEYS.items():
            a = QAction(text, self, checkable=True, shortcut=QKeySequence(key))
            a.setChecked(getattr(overlays, name))
            a.setToolTip(f"show {text.lower()} ({key})")
            a.toggled.connect(lambda on, n=name: self.set_overlay(n, on))
            view_menu.addAction(a)
            tb.addAction(a)
            self.actions[name] = a
        tb.addSeparator()
        specs = [
            ("overlay_window", "Overlay", "O", self.toggle_overlay_window, True),
            ("calibrate", "Calibrate", "C", lambda: self.calibrate(), False),
            ("recentre", "Recentre", "R", lambda: self.recentre(), False),
            ("record", "Record", "Ctrl+R", self.toggle_recording, True),
            ("stream", "Stream", "Ctrl+L", self.toggle_stream, True),
            ("screenshot", "Screenshot", "Ctrl+S", lambda: self._screenshot_action(), False),
        ]
        act_menu = self.menuBar().addMenu("&Actions")
        for name, text, key, slot, checkable in specs:
            a = QAction(text, self, checkable=checkable, shortcut=QKeySequence(key))
            a.setToolTip(f"{text} ({key})")
            (a.toggled if checkable else a.triggered).connect(slot)
            act_menu.addAction(a)
            tb.addAction(a)
            self.actions[name] = a
        for name, text, key, slot in [
            ("open_video", "Open video…", "Ctrl+O", self.browse_video),
            ("fullscreen", "Full screen", "F11", self.toggle_fullscreen),
            ("quit", "Quit", "Ctrl+Q", self.close),
        ]:
            a = QAction(text, self, shortcut=QKeySequence(key))
            a.triggered.connect(slot)
            act_menu.addAction(a)
            self.actions[name] = a
        self.addToolBar(Qt.TopToolBarArea, tb)
        self.insertToolBarBreak(tb)
        self.actions["overlay_window"].setChecked(self._setting_bool("overlay_window", False))
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
        self.gaze_label.setText(gaze.note if gaze.predictor is not None else "no gaze model: face front-end only")
        self.gaze_label.setToolTip(gaze.note)
        if gaze.predictor is None:
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
        if state.kind in ("retrying", "error", "ended", "starting"):
            self._state_message = state.message
        elif state.kind in ("running", "done"):
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
        if view.panel is None:
            self.panel.set_message("no face" if view.result.face is None else "no gaze model: no patches")
        elif self.panel.message:
            self.panel.set_message("")
        self.info.setText(_info_text(view))
        self.minimap.set_point(view.screen)
        self.overlay_window.set_point(view.screen)
        self.counters_label.setText(view.counters.summary())
        if self._state_message and self.state.kind == "starting":  # a frame arrived: no longer starting
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
            text, error = self._state_message, self.state.kind in ("retrying", "error")
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

    # recording
    def toggle_recording(self, on: bool) -> None:
        if on:
            try:
                self._start_recording()
            except GazezoomError as err:
                self.notify(str(err), error=True)
                self.actions["record"].setChecked(False)
        else:
            self._stop_recording()

    def _start_recording(self, path: str | Path | None = None) -> Path:
        from ..io.table import open_writer, result_to_row

        path = Path(path or Path(self.config.out_dir) / f"gazezoom_session_{datetime.now():%Y%m%d_%H%M%S}.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = open_writer(path, "csv")
        source = self.engine.spec.label if self.engine.spec else None

        def record(result):
            with self._writer_lock:
                if self._writer is not None:
                    self._writer.write(result_to_row(result, source=source))

        with self._writer_lock:
            self._writer = writer
        self.recording_path = path
        self.engine.recorder = record
        self.notify(f"recording to {path}")
        return path

    def _stop_recording(self) -> None:
        self.engine.recorder = None
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            self.notify(f"recording saved: {self.recording_path}")

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

    # profiles
    def _profiles_dir(self):
        from ..calibration.profile import profiles_dir

        return profiles_dir(self.config.profiles_dir)

    def _refresh_profiles(self) -> None:
        from ..calibration.profile import list_profiles

        self.profile_box.blockSignals(True)
        self.profile_box.clear()
        self.profile_box.addItem("(none)", None)
        for info in list_profiles(self.config.profiles_dir):
            label = info.user if info.error is None else f"{info.user} (unreadable)"
            self.profile_box.addItem(label, str(info.path))
        if self.profile is not None:
            i = self.profile_box.findText(self.profile.user)
            self.profile_box.setCurrentIndex(max(0, i))
        self.profile_box.blockSignals(False)

    def _profile_chosen(self, index: int) -> None:
        path = self.profile_box.itemData(index)
        if path is None:
            self.set_profile(None)
        else:
            self.load_profile(path)

    def load_profile(self, user_or_path: str, *, quiet: bool = False) -> bool:
        """Load a profile by user name or path and use it; problems are shown, not raised."""
        from ..calibration.profile import GazeModelMismatchWarning, load_profile

        if self.gaze is None or self.gaze.predictor is None:
            if not quiet:
                self.notify("a calibration profile needs a gaze model; none is loaded (see --weights)", error=True)
            return False
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", GazeModelMismatchWarning)
                profile = load_profile(user_or_path, self.config.profiles_dir, gaze_model=self.gaze.identity,
                                       on_mismatch="warn")
        except GazezoomError as err:
            if not quiet:
                self.notify(str(err), error=True, seconds=8)
            return False
        self.set_profile(profile)
        for w in caught:
            self.notify(f"warning: {w.message}", error=True, seconds=8)
        return True

    def set_profile(self, profile) -> None:
        from ..filters import create_filter

        self.profile = profile
        if profile is None:
            self.mapper = None
            self.profile_label.setText("profile: none")
            self.minimap.set_note("no profile: calibrate or choose one")
        else:
            self.mapper = profile.mapper(filter=create_filter("one_euro", min_cutoff=self.min_cutoff.value(),
                                                              beta=self.beta.value()))
            err = (profile.validation or {}).get("error_deg")
            self.profile_label.setText(f"profile: {profile.user}" + (f" ({err:.1f}°)" if isinstance(err, (int, float)) else ""))
            self.minimap.screen_size = (profile.screen.width_px, profile.screen.height_px)
            self.minimap.set_note("no gaze point (no face)")
        self.engine.set_mapper(self.mapper)
        self._refresh_profiles()
        self._update_action_states()

    def _filter_changed(self) -> None:
        from ..filters import create_filter

        mapper = self.mapper
        if mapper is not None:
            mapper.filter = create_filter("one_euro", min_cutoff=self.min_cutoff.value(), beta=self.beta.value())

    def _update_action_states(self) -> None:
        has_gaze = self.gaze is not None and self.gaze.predictor is not None
        self.actions["calibrate"].setEnabled(True)  # explains itself when it cannot run
        self.actions["recentre"].setEnabled(has_gaze and self.mapper is not None)

    # calibration
    def calibrate(self, user: str | None = None, **procedure_options):
        """Open the full-screen calibration window for ``user`` (default: the current profile's user or the login
        name). Returns the window, or None when calibration cannot run (the reason is shown)."""
        if self.gaze is None or self.gaze.predictor is None:
            self.notify("calibration needs a gaze model; none is loaded (see --weights)", error=True)
            return None
        try:
            from .calibration import CalibrationWindow, screen_geometry
        except ImportError as err:
            self.notify(f"calibration module not available ({err})", error=True)
            return None
        from ..calibration.procedure import CalibrationProcedure

        user = user or (self.profile.user if self.profile is not None else _default_user())
        screen = screen_geometry(self.screen())
        window = CalibrationWindow(CalibrationProcedure(screen, **procedure_options), user=user,
                                   gaze_model=self.gaze.identity, profiles_dir=self.config.profiles_dir)
        self._open_calibration(window)
        window.finished.connect(self._calibration_finished)
        return window

    def recentre(self):
        """Drift correction: a dot at the screen centre; the profile's offset is re-estimated and saved."""
        if self.mapper is None or self.profile is None:
            self.notify("recentring needs a calibration profile: calibrate or choose one first", error=True)
            return None
        from .calibration import RecentreWindow

        window = RecentreWindow(self.mapper, self.profile, profiles_dir=self.config.profiles_dir)
        self._open_calibration(window)
        window.finished.connect(self._recentre_finished)
        return window

    def _open_calibration(self, window) -> None:
        if self._calibration is not None:
            self._calibration.close()
        self._calibration = window
        self.view_shown.connect(window.feed)
        window.showFullScreen()
        window.activateWindow()

    def _close_calibration(self) -> None:
        w, self._calibration = self._calibration, None
        if w is not None:
            try:
                self.view_shown.disconnect(w.feed)
            except TypeError:
                pass

    def _calibration_finished(self, outcome: dict) -> None:
        self._close_calibration()
        if outcome.get("status") == "saved":
            self._refresh_profiles()
            self.load_profile(str(outcome["path"]))
            self.notify(f"calibration saved: {outcome['path']}  {outcome.get('message', '')}")
        else:
            self.notify(outcome.get("message", "calibration cancelled; the saved profile is unchanged"))

    def _recentre_finished(self, outcome: dict) -> None:
        self._close_calibration()
        if outcome.get("status") == "saved":
            self.profile = outcome["profile"]
            self.profile_label.setText(f"profile: {self.profile.user} (recentred)")
            self.notify(outcome.get("message", "recentred"))
        else:
            self.notify(outcome.get("message", "recentre cancelled"), error=outcome.get("status") == "failed")


def _default_user() -> str:
    import getpass
    import re

    try:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", getpass.getuser()).lstrip("._-")
    except Exception:  # noqa: BLE001 - no login name (containers)
        name = ""
    return name[:64] or "user"


def _info_text(view: View) -> str:
    """Gaze angles, eye openness and blink state as a few monospace lines."""
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
        lines.append("gaze   — (no gaze model)")
    left, right = r.face.eyes
    lines.append(f"open   L {left.openness:.2f}  R {right.openness:.2f}   blink: {'YES' if r.face.blink else 'no'}")
    if view.screen is not None:
        lines.append(f"screen x {view.screen.x_px:6.0f}  y {view.screen.y_px:6.0f} px" + ("  held" if view.screen.held else ""))
    return "\n".join(lines)
