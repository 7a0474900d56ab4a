"""Offline overlap: the landmarker runs one frame ahead in a worker thread while the caller's thread decodes the next
frame and runs the rest of the pipeline (head pose, sampler, gaze network, writing) on the current one.

MediaPipe's Tasks API calls its C library through ``ctypes``, which releases the GIL, so its inference overlaps
with torch and OpenCV work on another core. Results are the same as without overlap: the landmarker sees the same
frames with the same timestamps in the same order, from one thread.

:class:`LookaheadLandmarker` wraps a backend (:class:`gazezoom.face.landmarker.Landmarker`) and is installed as
``pipeline.frontend.landmarker``; :func:`lookahead` drives it from a frame iterator. With mirror averaging
(``Pipeline(mirror=True)``) the mirror pass's landmarker runs ahead too, in a thread of its own that flips each
frame itself (``transform``), fed by the first one's :meth:`~LookaheadLandmarker.submit` (``followers``).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import StateError

__all__ = ["LookaheadLandmarker", "lookahead", "install"]


class LookaheadLandmarker:
    """A landmarker whose ``detect`` returns results computed in advance by :meth:`submit`, in submission order.

    ``submit(frame, time_s)`` must be called for a frame before the front-end processes it (``lookahead`` does),
    with the frame in the front-end's colour order and the same ``time_s`` the pipeline gets.
    ``last_compute_ms``: the landmarker's own time for the frame just returned (the wait is shorter when overlapped).
    ``transform``: applied to each submitted frame in the worker before the landmarker sees it (e.g. the mirror pass's
    flip); ``followers``: lookahead landmarkers that every :meth:`submit` also feeds.
    """

    #: ``detect`` ignores the RGB array it is given (the worker converted the frame at submit time), so the
    #: front-end skips its own conversion.
    converts_frames = True

    def __init__(self, inner, color: str = "bgr", transform=None):
        self.inner, self.color, self.transform = inner, color, transform
        self.followers: list[LookaheadLandmarker] = []
        self.mode = inner.mode
        self.model_path = getattr(inner, "model_path", None)
        self.last_call_ms = float("nan")
        self.last_compute_ms = float("nan")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gazezoom-landmarker")
        self._pending: collections.deque = collections.deque()
        self._rgb: np.ndarray | None = None  # the worker's conversion buffer (one worker: never shared)

    def _run(self, frame: np.ndarray, ts: int | None):
        from ..face.landmarker import to_rgb

        t0 = time.perf_counter()
        if self.transform is not None:
            frame = self.transform(frame)
        rgb = to_rgb(frame, self.color, self._rgb)  # into the last frame's buffer, as FrontEnd.process does
        if not np.may_share_memory(rgb, frame):  # never keep (and later overwrite) the caller's own array
            self._rgb = rgb
        faces = self.inner.detect(rgb, ts)
        return faces, getattr(self.inner, "last_call_ms", float("nan")), (time.perf_counter() - t0) * 1e3

    def submit(self, frame: np.ndarray, time_s: float | None) -> None:
        # the same millisecond timestamp FrontEnd.process passes to detect
        ts = None if time_s is None else int(round(time_s * 1e3))
        self._pending.append((ts, self._pool.submit(self._run, frame, ts)))
        for follower in self.followers:
            follower.submit(frame, time_s)

    def detect(self, rgb: np.ndarray, timestamp_ms: int | None = None):
        if not self._pending:
            raise StateError("LookaheadLandmarker.detect called for a frame that was not submitted; call submit(frame, "
                             "time_s) first (gazezoom.io.overlap.lookahead does)")
        ts, fut = self._pending.popleft()
        if ts != timestamp_ms:
            raise StateError(f"LookaheadLandmarker: frame submitted with timestamp {ts} ms but detect asked for "
                             f"{timestamp_ms} ms; submit frames in the order they are processed, with their time_s")
        faces, self.last_call_ms, self.last_compute_ms = fut.result()
        return faces

    def close(self) -> None:
        for _, fut in self._pending:
            fut.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)
        self.inner.close()


def install(pipeline) -> LookaheadLandmarker:
    """Wrap ``pipeline.frontend.landmarker`` in a :class:`LookaheadLandmarker` (``pipeline.close()`` closes both),
    and the mirror pass's (``pipeline.mirror``, if any) in one that flips each frame, fed by the first."""
    fe = pipeline.frontend
    if not isinstance(fe.landmarker, LookaheadLandmarker):
        fe.landmarker = LookaheadLandmarker(fe.landmarker, getattr(fe, "color", "bgr"))
    mirror = getattr(pipeline, "mirror", None)
    if mirror is not None and not isinstance(mirror.frontend.landmarker, LookaheadLandmarker):
        from ..face.mirror import mirror_frame

        mfe = mirror.frontend
        mfe.landmarker = LookaheadLandmarker(mfe.landmarker, getattr(mfe, "color", "bgr"), transform=mirror_frame)
        fe.landmarker.followers.append(mfe.landmarker)
    return fe.landmarker


def lookahead(frames: Iterable, landmarker: LookaheadLandmarker) -> Iterator:
    """Yield each frame of ``frames`` (objects with ``image`` and ``time_s``) after submitting the *next* one with an
    image to ``landmarker``: while the caller processes frame n, the landmarker works on frame n + 1. An error of
    ``frames`` (a truncated video) is raised after the frame before it has been yielded."""
    prev = None
    it = iter(frames)
    while True:
        try:
            f = next(it)
        except StopIteration:
            break
        except BaseException as err:
            if prev is not None:
                yield prev
            raise err
        if f.image is not None:
            landmarker.submit(f.image, f.time_s)
        if prev is not None:
            yield prev
        prev = f
    if prev is not None:
        yield prev
