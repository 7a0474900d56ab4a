"""Library log noise: quiet by default, back with ``--verbose`` (``GAZEZOOM_VERBOSE=1``).

MediaPipe (absl/glog, TensorFlow Lite) prints half a dozen ``W0000 …`` / ``INFO: Created TensorFlow Lite XNNPACK
delegate`` lines from C++ each time a face landmarker starts, and OpenCV's videoio prints ~10 V4L/FFmpeg lines per
failed camera open. None of them can be switched off through an environment variable in mediapipe 1.2 (GLOG_*,
TF_CPP_MIN_LOG_LEVEL and ABSL_MIN_LOG_LEVEL were tried), so :func:`native_logs_silenced` points file descriptor 2 at
``/dev/null`` for the short time a library starts up; our own messages are never inside it. The setting is an
environment variable so that worker processes inherit it.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager

__all__ = ["VERBOSE_ENV", "verbose", "set_verbose", "native_logs_silenced", "quiet_opencv"]

VERBOSE_ENV = "GAZEZOOM_VERBOSE"

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None


def verbose() -> bool:
    """True when library logs should be shown (``--verbose`` or ``GAZEZOOM_VERBOSE=1``)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def set_verbose(on: bool) -> None:
    """Show (True) or hide library logs in this process and the worker processes it starts."""
    if on:
        os.environ[VERBOSE_ENV] = "1"
    else:
        os.environ.pop(VERBOSE_ENV, None)
    quiet_opencv()


def quiet_opencv() -> None:
    """OpenCV's own log (the V4L/FFmpeg lines of a failed camera open) down to errors that matter, unless verbose."""
    try:
        import cv2
    except ImportError:  # pragma: no cover - cv2 is a dependency
        return
    lg = cv2.utils.logging
    lg.setLogLevel(lg.LOG_LEVEL_WARNING if verbose() else lg.LOG_LEVEL_SILENT)


@contextmanager
def native_logs_silenced():
    """Inside, whatever C/C++ code writes to fd 2 is dropped (unless :func:`verbose`). Re-entrant and safe across
    threads: the first entry saves the real stderr, the last exit restores it."""
    global _depth, _saved_fd
    if verbose():
        yield
        return
    with _lock:
        if _depth == 0:
            sys.stderr.flush()
            _saved_fd = os.dup(2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                sys.stderr.flush()
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                _saved_fd = None
