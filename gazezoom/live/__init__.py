"""The live layer under the app and ``gazezoom stream``: frame sources, the engine's threads, rendering, the app's
start-up settings, the session recorder — no Qt (import-linter keeps PyQt5 out, ``pyproject.toml``).

* :mod:`.sources` — webcam and video-file frame sources (cv2).
* :mod:`.engine` — the grabber and processing threads: newest frame wins, older ones are dropped.
* :mod:`.render` — the annotated frame, the side-panel picture and the app's counters (numpy/cv2).
* :mod:`.config` — :class:`~.config.AppConfig` and how it becomes a pipeline (through :mod:`gazezoom.build`).
* :mod:`.recording` — :class:`~.recording.SessionRecorder`: the app's per-frame CSV table.

The Qt widgets and windows that show an engine's views live in :mod:`gazezoom.gui`. Importing ``gazezoom.live``
itself imports nothing heavy.
"""

__all__: list[str] = []
