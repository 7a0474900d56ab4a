"""The desktop app (``python app.py`` / ``gazezoom demo``): a live Qt window over :class:`gazezoom.pipeline.Pipeline`.

PyQt5 is imported only inside this package, and only by the modules that draw widgets:

* :mod:`.sources` — webcam and video-file frame sources (cv2, no Qt).
* :mod:`.render` — the annotated frame, the side-panel picture and the app's counters (numpy/cv2, no Qt).
* :mod:`.engine` — the grabber and processing threads: newest frame wins, older ones are dropped (no Qt).
* :mod:`.widgets`, :mod:`.window`, :mod:`.calibration_window` — the Qt widgets.
* :mod:`.app` — QApplication set-up, the headless ``--screenshot`` path, the ``demo`` command's ``run``.

Importing ``gazezoom.gui`` itself imports nothing heavy.
"""

__all__: list[str] = []
