"""Engine threads → the Qt UI thread, shared by the main window and ``gazezoom calibrate``'s live mode."""

from __future__ import annotations

import threading

from PyQt5.QtCore import QObject, pyqtSignal

from ..live.engine import View

__all__ = ["Bridge"]


class Bridge(QObject):
    """Views go through a one-item mailbox: the UI always draws the newest; engine states and the loaded gaze stage
    are queued signals. Connect ``view_ready`` with ``Qt.QueuedConnection`` and call :meth:`take` in the slot."""

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
