"""Frame sources for the live app: a webcam (``--source 0``) or a video file (``--source clip.mp4``), no Qt.

A source hands out ``Frame``\\ s with a timestamp in seconds that only increases (MediaPipe's video mode and the
One Euro filter both need that), even across loops of a video. Sources are built by kind from :data:`SOURCES`;
:func:`parse_source` turns the ``--source`` text into a :class:`SourceSpec`.

Failures are typed: a camera index with no device raises :class:`~gazezoom.errors.CameraError` (whose message
suggests ``--source VIDEO``), an unreadable video :class:`~gazezoom.errors.MediaError`. A camera that stops
delivering frames mid-stream makes :meth:`FrameSource.read` raise :class:`CameraError`; the engine shows that state
and retries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import CameraError, InputValueError, MediaError
from ..registry import Registry

__all__ = ["SourceSpec", "Frame", "FrameSource", "CameraSource", "VideoSource", "SOURCES", "parse_source",
           "open_source"]

#: The end of the no-camera message in the app; ``gazezoom calibrate`` (which takes no --source) replaces it.
VIDEO_HINT = "play a video instead with --source VIDEO"


@dataclass(frozen=True)
class SourceSpec:
    """What to open. ``kind`` is a :data:`SOURCES` name; ``target`` the camera index or the video path.

    ``width``/``height``/``fps`` are requested from a camera (0 = its default); ``loop`` restarts a video at its
    end; ``resize = (W, H)`` resizes every frame after reading (e.g. to test 1280×720 from a smaller clip);
    ``pace`` plays a video at its own frame rate (``False``: as fast as processing takes frames, none dropped).
    """

    kind: str
    target: int | str
    loop: bool = True
    width: int = 0
    height: int = 0
    fps: float = 0.0
    resize: tuple[int, int] | None = None
    pace: bool = True

    @property
    def label(self) -> str:
        name = f"camera {self.target}" if self.kind == "camera" else Path(str(self.target)).name
        return name + (f" → {self.resize[0]}x{self.resize[1]}" if self.resize else "")

    def with_(self, **changes) -> "SourceSpec":
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class Frame:
    """One frame: ``image (H, W, 3)`` uint8 BGR, ``time_s`` (increasing), ``captured`` (``time.perf_counter()`` when
    it was read, for latency), ``index`` (frames read from this source), ``restart`` (first frame after a loop)."""

    image: np.ndarray
    time_s: float
    captured: float
    index: int
    restart: bool = False


def parse_source(text: str | int, **options) -> SourceSpec:
    """``"0"`` (a camera index) or a video path → :class:`SourceSpec`; ``options`` fill its other fields.

    >>> parse_source("0").kind, parse_source("clip.mp4").kind
    ('camera', 'video')
    """
    s = str(text).strip()
    if not s:
        raise InputValueError("empty --source: give a camera index (0, 1 …) or a video file path")
    if s.isdigit():
        return SourceSpec("camera", int(s), **options)
    return SourceSpec("video", s, **options)


class FrameSource:
    """Base: ``read() -> Frame | None`` (None at the end of a non-looping video), ``close()``, ``fps``, ``size``."""

    spec: SourceSpec
    fps: float = 30.0

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        cap = getattr(self, "_cap", None)
        if cap is not None:
            cap.release()
            self._cap = None

    def _resize(self, image: np.ndarray) -> np.ndarray:
        if self.spec.resize is None or image.shape[1::-1] == tuple(self.spec.resize):
            return image
        import cv2

        return cv2.resize(image, tuple(self.spec.resize), interpolation=cv2.INTER_LINEAR)

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


SOURCES: Registry[type[FrameSource]] = Registry("frame source")


@SOURCES.register("camera")
class CameraSource(FrameSource):
    """``cv2.VideoCapture(index)``. Timestamps are the capture clock (seconds since opening)."""

    #: consecutive failed reads before the camera counts as lost
    MAX_FAILED_READS = 10

    def __init__(self, spec: SourceSpec):
        import cv2

        self.spec = spec
        index = int(spec.target)
        from ..logs import quiet_opencv

        quiet_opencv()  # a failed open prints ~10 V4L/FFmpeg lines per retry otherwise (back with --verbose)
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            self._cap = None
            raise CameraError(
                f"no camera at index {index} (not connected, busy in another app, or no permission); "
                f"try another index or {VIDEO_HINT}"
            )
        if spec.width and spec.height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, spec.width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, spec.height)
        if spec.fps:
            self._cap.set(cv2.CAP_PROP_FPS, spec.fps)
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the driver queue short: we want the newest frame
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 30.0) or 30.0
        self._t0 = time.perf_counter()
        self._n = 0

    def read(self) -> Frame:
        if self._cap is None:
            raise CameraError(f"camera {self.spec.target} is closed")
        for _ in range(self.MAX_FAILED_READS):
            ok, image = self._cap.read()
            if ok and image is not None and image.size:
                now = time.perf_counter()
                self._n += 1
                return Frame(self._resize(_bgr(image)), now - self._t0, now, self._n - 1)
            time.sleep(0.01)
        raise CameraError(f"camera {self.spec.target} stopped delivering frames (unplugged or taken by another app)")


@SOURCES.register("video")
class VideoSource(FrameSource):
    """A video file, optionally looping, decoded by :class:`gazezoom.io.readers.VideoReader` (the same checks,
    rotation handling and container timestamps as ``gazezoom process``); ``time_s`` is the container time plus the
    length of the loops already played, so it keeps increasing. A file that turns out truncated plays what could be
    decoded (then loops or ends); ``last_error`` says why it ended early."""

    def __init__(self, spec: SourceSpec):
        self.spec = spec
        self._path = Path(str(spec.target))
        if self._path.is_dir():
            raise MediaError(f"{self._path} is a folder; --source takes one video file or a camera index (0, 1 …)")
        if not self._path.is_file():
            raise MediaError(f"video {self._path} not found; give an existing file or a camera index to --source")
        self._reader = None
        self.last_error: str | None = None
        self._open()  # VideoReader's MediaError says what is wrong with the file
        self.fps = float(self._reader.info.fps or 0.0) or 30.0
        self._offset = 0.0  # seconds of the loops already played
        self._pass_start = 0  # frames read before the current pass through the file
        self._last = -1.0
        self._n = 0
        self._pending_restart = False
        self._first = self._next()
        if self._first is None:
            self.close()
            raise MediaError(f"{self._path} has no readable frames (empty or corrupt video)"
                             + (f": {self.last_error}" if self.last_error else ""))

    def _open(self) -> None:
        from ..io.readers import VideoReader

        if self._reader is not None:
            self._reader.close()
        self._reader = VideoReader(self._path)
        self._frames = self._reader.frames()

    def _next(self):
        """The next decoded frame of this pass (``gazezoom.io.readers.Frame``), or None at its end."""
        try:
            return next(self._frames)
        except StopIteration:
            return None
        except MediaError as err:  # truncated or corrupt past this point: what could be decoded was played
            self.last_error = str(err)
            return None

    def read(self) -> Frame | None:
        if self._reader is None:
            return None
        restart = self._pending_restart
        if self._first is not None:
            f, self._first = self._first, None
        else:
            f = self._next()
        if f is None:
            if not self.spec.loop or self._n == 0:
                return None
            # Reopen rather than seek: after CAP_PROP_POS_FRAMES = 0 the FFmpeg backend keeps reporting stale
            # CAP_PROP_POS_MSEC values, and the frame times would stall.
            self._open()
            self._offset = self._last + 1.0 / self.fps
            self._pass_start = self._n
            f = self._next()
            if f is None:
                return None
            restart = True
        self._pending_restart = False
        in_pass = self._n - self._pass_start
        pos = float(f.time_s or 0.0)
        t = self._offset + (pos if pos > 0 or in_pass == 0 else in_pass / self.fps)
        # Container timestamps can repeat (or be missing) on some files: force strictly increasing time.
        t = max(t, self._last + 1e-3) if self._last >= 0 else t
        self._last = t
        self._n += 1
        return Frame(self._resize(_bgr(f.image)), t, time.perf_counter(), self._n - 1, restart)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        super().close()


def _bgr(image: np.ndarray) -> np.ndarray:
    """Gray or BGRA capture output → BGR ``(H, W, 3)``."""
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[..., :3])
    return image


def open_source(spec: SourceSpec) -> FrameSource:
    """Open the source ``spec`` names (raises :class:`CameraError` / :class:`MediaError` on failure)."""
    return SOURCES.get(spec.kind)(spec)
