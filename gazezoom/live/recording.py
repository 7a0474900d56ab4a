"""The app's session recorder: every processed frame's row (:func:`gazezoom.io.table.result_to_row`) into a CSV
table, written from the engine's processing thread (no Qt)."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

__all__ = ["SessionRecorder"]


class SessionRecorder:
    """Records an :class:`~gazezoom.live.engine.Engine`'s results: :meth:`start` hooks ``engine.recorder``,
    :meth:`stop` unhooks it and closes the table. ``path`` is the last table started (kept after :meth:`stop`)."""

    def __init__(self, engine, out_dir: str | Path = "."):
        self.engine = engine
        self.out_dir = Path(out_dir)
        self.path: Path | None = None
        self._writer = None
        self._lock = threading.Lock()  # the processing thread writes, the UI thread opens and closes

    @property
    def active(self) -> bool:
        return self._writer is not None

    def start(self, path: str | Path | None = None) -> Path:
        """Open ``path`` (default ``<out_dir>/gazezoom_session_<time>.csv``) and record into it; returns the path.
        An existing file is refused (:class:`~gazezoom.errors.GazezoomError`, from the table writer)."""
        from ..io.table import open_writer, result_to_row

        path = Path(path or self.out_dir / f"gazezoom_session_{datetime.now():%Y%m%d_%H%M%S}.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = open_writer(path, "csv")
        source = self.engine.spec.label if self.engine.spec else None

        def record(result):
            with self._lock:
                if self._writer is not None:
                    self._writer.write(result_to_row(result, source=source))

        with self._lock:
            self._writer = writer
        self.path = path
        self.engine.recorder = record
        return path

    def stop(self) -> Path | None:
        """Stop recording; returns the saved table's path, or None when nothing was being recorded."""
        self.engine.recorder = None
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is None:
            return None
        writer.close()
        return self.path
