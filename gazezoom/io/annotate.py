"""Annotated output: each processed frame with the overlays the GUI draws (:func:`gazezoom.draw.draw_result`).

Video writers are chosen by name from :data:`VIDEO_WRITERS`: ``mp4v`` (OpenCV, always there) and ``h264`` (PyAV with
libx264, when the ``av`` package is installed). ``auto`` picks ``h264`` when PyAV can be imported, else ``mp4v``.
A writer writes to a temporary ``*.part.mp4`` and renames it when closed, so a killed process never leaves a
broken file under the final name.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import MediaError
from ..registry import Registry
from ..results import FrameResult

__all__ = ["VIDEO_WRITERS", "create_video_writer", "annotate_frame", "pick_codec", "part_path"]


def part_path(path: str | os.PathLike) -> Path:
    """Where a video is written until it is complete: ``x.mp4`` → ``x.part.mp4`` (the suffix picks the container)."""
    p = Path(path)
    return p.with_name(p.stem + ".part" + p.suffix)


def annotate_frame(image: np.ndarray, result: FrameResult, K: np.ndarray | None = None, *, label: str | None = None) -> np.ndarray:
    """A copy of ``image (H, W, 3)`` BGR uint8 with the GUI's overlays and a status line (frame, time, gaze)."""
    from ..draw import draw_result, put_label

    out = draw_result(np.ascontiguousarray(image).copy(), result, K)
    h = out.shape[0]
    t = "" if result.time_s is None else f"  t {result.time_s:.3f}s"
    text = f"frame {result.index}{t}"
    if result.gaze is not None:
        p, y = np.degrees(result.gaze.pitchyaw)
        text += f"  gaze pitch {p:+.1f} yaw {y:+.1f}" + ("  held" if result.gaze.held else "")
    if result.screen is not None:
        text += f"  screen ({result.screen.x_px:.0f}, {result.screen.y_px:.0f}) px"
    if label:
        text = f"{label}  {text}"
    size = max(0.4, min(1.2, h / 900))
    put_label(out, text, (8, h - int(12 * size) - 4), size=size)
    return out


class _OpenCVWriter:
    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import cv2

        self.path, self.tmp = Path(path), part_path(path)
        self._w = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), tuple(size))
        if not self._w.isOpened():
            raise MediaError(f"OpenCV cannot write an mp4v video to {self.tmp}; check the folder is writable")
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        self._w.write(image)
        self.frames += 1

    def close(self) -> Path:
        self._w.release()
        os.replace(self.tmp, self.path)
        return self.path


class _PyAVWriter:
    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        from fractions import Fraction

        import av

        self.path, self.tmp = Path(path), part_path(path)
        try:
            self._c = av.open(str(self.tmp), "w")
            rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
            self._s = self._c.add_stream("libx264", rate=rate)
        except Exception as err:  # PyAV raises its own error family
            raise MediaError(f"PyAV cannot write H.264 to {self.tmp}: {err}; use --codec mp4v") from None
        self._s.width, self._s.height = (int(size[0]) // 2 * 2, int(size[1]) // 2 * 2)  # yuv420p needs even sizes
        self._s.pix_fmt = "yuv420p"
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        import av

        img = image[: self._s.height, : self._s.width]
        for packet in self._s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")):
            self._c.mux(packet)
        self.frames += 1

    def close(self) -> Path:
        for packet in self._s.encode():
            self._c.mux(packet)
        self._c.close()
        os.replace(self.tmp, self.path)
        return self.path


#: codec name → writer class ``(path, fps, (width, height))`` with ``write(bgr)`` and ``close() -> final path``
VIDEO_WRITERS: Registry = Registry("video codec")
VIDEO_WRITERS.register("mp4v", _OpenCVWriter)
VIDEO_WRITERS.register("h264", _PyAVWriter)


def pick_codec(codec: str = "auto") -> str:
    """``auto`` → ``h264`` when PyAV imports, else ``mp4v``; ``h264`` without PyAV is a :class:`MediaError`."""
    if codec not in ("auto", *VIDEO_WRITERS.names()):
        VIDEO_WRITERS.get(codec)  # raises UnknownNameError listing the valid names
    if codec == "mp4v":
        return codec
    try:
        import av  # noqa: F401
    except ImportError:
        if codec == "h264":
            raise MediaError("--codec h264 needs PyAV (pip install av); use --codec mp4v (OpenCV) instead") from None
        return "mp4v"
    return "h264"


def create_video_writer(path: str | os.PathLike, fps: float, size: tuple[int, int], codec: str = "auto"):
    """A video writer for frames of ``size = (width, height)`` at ``fps``; see :data:`VIDEO_WRITERS`."""
    return VIDEO_WRITERS.get(pick_codec(codec))(Path(path), fps if fps > 0 else 30.0, size)
