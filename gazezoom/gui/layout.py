"""The main window's layout builders: the live view and side panel, the status bar, the source bar, the actions.

Each ``build_*`` function makes one part of a :class:`~gazezoom.gui.window.MainWindow` and sets its widgets as the
window's attributes (the names the window and tests use: ``live``, ``panel``, ``info``, ``minimap``, ``min_cutoff``,
``beta``, ``profile_box``, ``state_label``, ``source_edit``, ``actions`` …); the signals go to the window's slots.
"""

from __future__ import annotations

import inspect

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QFont, QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..live.render import Overlays
from .widgets import ImageView, MiniMap

__all__ = ["OVERLAY_KEYS", "FIRST_SIZE", "first_size", "build_central", "build_status_bar", "build_source_bar",
           "build_actions"]

#: overlay name → (menu text, shortcut)
OVERLAY_KEYS: dict[str, tuple[str, str]] = {
    "landmarks": ("Landmarks", "L"),
    "regions": ("Eye regions", "E"),
    "grid": ("Sampling grid", "G"),
    "axes": ("Head axes", "H"),
    "gaze": ("Gaze arrows", "A"),
    "labels": ("Labels", "T"),
}

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


def _filter_default(name: str) -> float:
    from ..filters import OneEuroFilter

    return float(inspect.signature(OneEuroFilter).parameters[name].default)


def build_central(win) -> None:
    """The live view beside a scrolling side panel (sampler view, readings, gaze on screen, profile, filter)."""
    win.live = ImageView("starting …", min_size=(320, 180))
    win.panel = ImageView("no eyes yet", min_size=(200, 150))
    win.panel.setToolTip("What the gaze network sees: the sampler's zoomed patches, its saliency maps (where it "
                         "magnifies), and plain uniform patches of the same regions for comparison")
    win.info = QLabel("—")
    mono = QFont("Monospace")
    mono.setStyleHint(QFont.TypeWriter)
    win.info.setFont(mono)
    win.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
    win.minimap = MiniMap()
    win.gaze_label = QLabel("")
    win.gaze_label.setWordWrap(True)

    # One Euro settings (Casiez et al. 2012): min_cutoff = jitter at rest, beta = lag when moving.
    config = win.config
    win.min_cutoff = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=20.0, singleStep=0.1)
    win.min_cutoff.setValue(config.min_cutoff if config.min_cutoff is not None else
                            win._setting_float("filter/min_cutoff", _filter_default("min_cutoff")))
    win.min_cutoff.setSuffix(" Hz")
    win.min_cutoff.setToolTip("One Euro min cutoff: lower = steadier point at rest, more lag")
    win.beta = QDoubleSpinBox(decimals=4, minimum=0.0, maximum=1.0, singleStep=0.0005)
    win.beta.setValue(config.beta if config.beta is not None else
                      win._setting_float("filter/beta", _filter_default("beta")))
    win.beta.setToolTip("One Euro beta: higher = follows fast gaze shifts with less lag, more jitter")
    win.min_cutoff.valueChanged.connect(win._filter_changed)
    win.beta.valueChanged.connect(win._filter_changed)
    win.profile_box = QComboBox()
    win.profile_box.setToolTip("calibration profile in use")
    win.profile_box.activated.connect(win._profile_chosen)

    screen_box = QGroupBox("Gaze on screen")
    form = QFormLayout(screen_box)
    form.addRow("profile", win.profile_box)
    form.addRow(win.minimap)
    form.addRow("1€ min cutoff", win.min_cutoff)
    form.addRow("1€ beta", win.beta)

    side = QWidget()
    side.setMinimumWidth(340)
    lay = QVBoxLayout(side)
    lay.setContentsMargins(4, 4, 4, 4)
    title = QLabel("<b>Sampler view</b> (left / right eye)")
    lay.addWidget(title)
    lay.addWidget(win.panel, 3)
    lay.addWidget(win.info)
    lay.addWidget(win.gaze_label)
    lay.addWidget(screen_box, 2)
    # The side panel scrolls instead of setting the window's minimum height (it needs ~690 px): the window works
    # from 1024x600 up, and nothing in the panel overlaps when it is short.
    scroll = QScrollArea()
    scroll.setWidget(side)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(side.minimumWidth() + 20)
    win.side_scroll = scroll
    split = QSplitter()
    split.addWidget(win.live)
    split.addWidget(scroll)
    split.setStretchFactor(0, 3)
    split.setStretchFactor(1, 1)
    split.setSizes([900, 380])
    win.setCentralWidget(split)


def build_status_bar(win) -> None:
    """Source state, counters and the profile in the status bar."""
    win.state_label = QLabel("starting")
    win.counters_label = QLabel("")
    win.counters_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # cut, never widen the window
    win.counters_label.setToolTip("processed frames per second; latency from capture to ready-to-show (median); "
                                  "per-stage medians; frames dropped because processing was busy")
    win.profile_label = QLabel("profile: none")
    sb = win.statusBar()
    sb.addPermanentWidget(win.state_label, 2)
    sb.addPermanentWidget(win.counters_label, 4)
    sb.addPermanentWidget(win.profile_label)


def build_source_bar(win) -> None:
    """The source tool bar: camera index or video path, loop, requested size and frame rate, Open, Video…."""
    src = QToolBar("Source")
    src.setObjectName("source")
    win.source_edit = QLineEdit()
    win.source_edit.setPlaceholderText("camera index or video file")
    win.source_edit.setToolTip("camera index (0, 1 …) or a video file path; Enter opens it")
    win.source_edit.returnPressed.connect(win.open_source_text)
    win.loop_box = QCheckBox("loop")
    win.loop_box.setToolTip("restart a video at its end")
    win.size_box = QComboBox()
    win.size_box.addItems(["camera default", "640x480", "1280x720", "1920x1080"])
    win.size_box.setToolTip("resolution requested from a camera")
    win.fps_box = QSpinBox(minimum=0, maximum=240)
    win.fps_box.setSpecialValueText("default fps")
    win.fps_box.setToolTip("frame rate requested from a camera (0 = its default)")
    open_btn = QPushButton("Open")
    open_btn.clicked.connect(win.open_source_text)
    browse = QPushButton("Video…")
    browse.clicked.connect(win.browse_video)
    for w in (QLabel(" Source "), win.source_edit, win.loop_box, win.size_box, win.fps_box, open_btn, browse):
        src.addWidget(w)
    win.addToolBar(Qt.TopToolBarArea, src)


def build_actions(win, overlays: Overlays) -> None:
    """The View and Actions menus and the actions tool bar (``win.actions``: name → QAction)."""
    win.actions = {}
    view_menu = win.menuBar().addMenu("&View")
    tb = QToolBar("Actions")
    tb.setObjectName("actions")
    for name, (text, key) in OVERLAY_KEYS.items():
        a = QAction(text, win, checkable=True, shortcut=QKeySequence(key))
        a.setChecked(getattr(overlays, name))
        a.setToolTip(f"show {text.lower()} ({key})")
        a.toggled.connect(lambda on, n=name: win.set_overlay(n, on))
        view_menu.addAction(a)
        tb.addAction(a)
        win.actions[name] = a
    tb.addSeparator()
    specs = [
        ("overlay_window", "Overlay", "O", win.toggle_overlay_window, True),
        ("calibrate", "Calibrate", "C", lambda: win.calibrate(), False),
        ("recentre", "Recentre", "R", lambda: win.recentre(), False),
        ("record", "Record", "Ctrl+R", win.toggle_recording, True),
        ("stream", "Stream", "Ctrl+L", win.toggle_stream, True),
        ("screenshot", "Screenshot", "Ctrl+S", lambda: win._screenshot_action(), False),
    ]
    act_menu = win.menuBar().addMenu("&Actions")
    for name, text, key, slot, checkable in specs:
        a = QAction(text, win, checkable=checkable, shortcut=QKeySequence(key))
        a.setToolTip(f"{text} ({key})")
        (a.toggled if checkable else a.triggered).connect(slot)
        act_menu.addAction(a)
        tb.addAction(a)
        win.actions[name] = a
    for name, text, key, slot in [
        ("open_video", "Open video…", "Ctrl+O", win.browse_video),
        ("fullscreen", "Full screen", "F11", win.toggle_fullscreen),
        ("quit", "Quit", "Ctrl+Q", win.close),
    ]:
        a = QAction(text, win, shortcut=QKeySequence(key))
        a.triggered.connect(slot)
        act_menu.addAction(a)
        win.actions[name] = a
    win.addToolBar(Qt.TopToolBarArea, tb)
    win.insertToolBarBreak(tb)
    win.actions["overlay_window"].setChecked(win._setting_bool("overlay_window", False))
