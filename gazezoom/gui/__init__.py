"""The desktop app (``python app.py`` / ``gazezoom demo``): a live Qt window over :class:`gazezoom.pipeline.Pipeline`.

PyQt5 is imported only inside this package; everything Qt-free that it drives (frame sources, the engine's threads,
rendering, the start-up settings) lives in :mod:`gazezoom.live`.

* :mod:`.widgets` — image view, gaze overlay, mini-map.
* :mod:`.window` — the main window: wiring of the engine, the controls and the modules below.
* :mod:`.calibration` — the full-screen calibration window and ``gazezoom calibrate``'s Qt loop.
* :mod:`.app` — QApplication set-up, the headless ``--screenshot`` path, the ``demo`` command's ``run``.

Importing ``gazezoom.gui`` itself imports nothing heavy.
"""

__all__: list[str] = []
