"""The live loop behind the window: a grabber thread and a processing thread joined by a one-frame mailbox (no Qt).

The grabber reads the source at the source's own rate (a camera delivers at its frame rate; a video is paced at its
frame rate) and puts each frame in a :class:`LatestSlot`. If the processing thread has not taken the previous frame
yet, that frame is *replaced* and counted as dropped: when processing is slower than the camera, frames are dropped
rather than queued, so latency stays at about one frame's processing time. With ``SourceSpec.pace=False`` a video
is read as fast as processing takes frames and none are dropped (benchmarks).

The processing thread builds the :class:`~gazezoom.pipeline.Pipeline` itself (MediaPipe and torch load off the UI
thread), runs ``Pipeline.process`` on the newest frame, draws the overlays and the side panel
(:mod:`gazezoom.live.render`) and hands a :class:`View` to ``on_view``. Source problems (no camera, camera lost,
unreadable video, end of a video) are reported to ``on_state`` as an :class:`EngineState`; a camera is retried every
``retry_s`` seconds. Nothing here raises into the UI.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import CameraError, GazezoomError
from ..results import FrameResult, ScreenPoint
from .render import Counters, CounterSnapshot, Overlays, annotate, side_panel
from .sources import Frame, FrameSource, SourceSpec, open_source

__all__ = ["LatestSlot", "StateKind", "EngineState", "ScreenView", "View", "Engine"]


class LatestSlot:
    """A mailbox holding at most one item: ``put`` replaces an unconsumed item (returns True when it did).

    >>> s = LatestSlot()
    >>> s.put(1), s.put(2), s.get(timeout=0)
    (False, True, 2)
    >>> s.get(timeout=0) is None
    True
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self._full = False

    def put(self, item) -> bool:
        with self._cond:
            replaced = self._full
            self._item, self._full = item, True
            self._cond.notify_all()
            return replaced

    def wait_empty(self, stop: threading.Event, timeout: float = 0.05) -> None:
        """Block until the item was taken (or ``stop`` is set)."""
        with self._cond:
            while self._full and not stop.is_set():
                self._cond.wait(timeout)

    def get(self, timeout: float = 0.1):
        with self._cond:
            if not self._full:
                self._cond.wait(timeout)
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            self._cond.notify_all()
            return item

    def clear(self) -> None:
        with self._cond:
            self._item, self._full = None, False
            self._cond.notify_all()


class StateKind(str, enum.Enum):
    """What an :class:`EngineState` says. A ``str`` enum: a kind equals its text (``StateKind.RUNNING ==
    "running"``) and prints as it (status bar, ``--screenshot`` messages)."""

    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"  # camera missing or lost
    ERROR = "error"  # a source that cannot be opened (waiting for another), a pipeline that cannot start
    ENDED = "ended"  # a non-looping video finished
    DONE = "done"  # ``max_frames`` processed
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass(frozen=True)
class EngineState:
    """Where the engine stands: a :class:`StateKind`, a message for people, the source's label."""

    kind: StateKind
    message: str
    source: str = ""


@dataclass(frozen=True)
class ScreenView:
    """The gaze point on the screen for display: smoothed ``x, y`` (screen px), ``held`` during a blink."""

    x_px: float
    y_px: float
    held: bool
    screen_size: tuple[int, int]  # (W, H) px of the profile's screen


@dataclass(frozen=True, eq=False)
class View:
    """One processed frame, ready to show."""

    result: FrameResult
    frame: np.ndarray  # (H, W, 3) uint8 BGR, the frame as processed (not a copy: do not draw on it)
    image: np.ndarray  # (h, w, 3) uint8 BGR, annotated at display size
    panel: np.ndarray | None  # side panel picture (render.side_panel) or None without a gaze result
    screen: ScreenView | None
    counters: CounterSnapshot
    source: str


class Engine:
    """Grabber + processing threads for one window.

    Args:
        pipeline_factory: ``factory(calibration=callable) -> Pipeline``, called once in the processing thread.
        on_view: called from the processing thread with every :class:`View`.
        on_state: called from either thread with every :class:`EngineState` change.
        overlays: initial :class:`Overlays` (change with :attr:`overlays`, thread-safe by replacement).
        max_frames: stop processing after this many frames and report ``done`` (headless screenshots, benchmarks).
        retry_s: seconds between attempts to reopen a missing or lost camera.
        display_width: the annotated picture's maximum width.
    """

    def __init__(self, pipeline_factory: Callable[..., object], *, on_view: Callable[[View], None],
                 on_state: Callable[[EngineState], None], overlays: Overlays = Overlays(), max_frames: int | None = None,
                 retry_s: float = 2.0, display_width: int = 1280):
        self._factory = pipeline_factory
        self._on_view, self._on_state = on_view, on_state
        self.overlays = overlays
        self.max_frames = max_frames
        self.retry_s = retry_s
        self.display_width = display_width
        self.counters = Counters()
        self.state = EngineState(StateKind.STOPPED, "not started")
        self.mapper = None  # gazezoom.calibration.mapping.ScreenMapper or None
        self.recorder: Callable[[FrameResult], None] | None = None
        # live outlets (gazezoom.io.streams.LiveOutlets): (result, capture perf_counter time), called before drawing
        self.streamer: Callable[[FrameResult, float], None] | None = None
        self.pipeline = None
        self.source_fps: float | None = None  # frame rate of the open source
        self._slot = LatestSlot()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._ready = threading.Event()  # set once the pipeline is built: no frames are read (or dropped) before
        self._lock = threading.Lock()
        self._spec: SourceSpec | None = None
        self._spec_changed = False
        self._threads: list[threading.Thread] = []
        self._last_t: float | None = None
        self._t_offset = 0.0
        self._generation = 0

    # ---- control (any thread) -----------------------------------------------------------------------------------
    def start(self, spec: SourceSpec | None = None) -> None:
        if self._threads:
            raise GazezoomError("engine already started; call open(spec) to switch the source")
        if spec is not None:
            self.open(spec)
        self._stop.clear()
        self._ready.clear()
        self._set_state(StateKind.STARTING, "loading the face landmarker and gaze model …")
        self._threads = [
            threading.Thread(target=self._process_loop, name="gazezoom-process", daemon=True),
            threading.Thread(target=self._grab_loop, name="gazezoom-grab", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def open(self, spec: SourceSpec) -> None:
        """Switch to ``spec`` (takes effect in the grabber thread at once)."""
        with self._lock:
            self._spec, self._spec_changed = spec, True
        self._wake.set()

    @property
    def spec(self) -> SourceSpec | None:
        return self._spec

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop both threads (the pipeline and source are closed by their threads); True when both ended."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = any(t.is_alive() for t in self._threads)
        if not alive:
            self._threads = []
            self._set_state(StateKind.STOPPED, "stopped")
        return not alive

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def set_mapper(self, mapper) -> None:
        """Use a :class:`~gazezoom.calibration.mapping.ScreenMapper` (None: no screen point)."""
        self.mapper = mapper
        pipeline = self.pipeline
        if pipeline is not None:
            pipeline.reset_screen_hold()

    def reset_counters(self) -> None:
        self.counters = Counters(self.counters.window)

    # ---- grabber thread ---------------------------------------------------------------------------------------
    def _grab_loop(self) -> None:
        source: FrameSource | None = None
        spec: SourceSpec | None = None
        next_try = 0.0
        pace0: tuple[float, float] | None = None  # (wall clock, frame time) at the first paced frame
        while not self._ready.is_set() and not self._stop.is_set():
            self._ready.wait(0.1)
        try:
            while not self._stop.is_set():
                with self._lock:
                    changed, self._spec_changed = self._spec_changed, False
                    if changed:
                        spec = self._spec
                if changed:
                    if source is not None:
                        source.close()
                    source, next_try, pace0 = None, 0.0, None
                    self._slot.clear()
                    self._generation += 1
                    self.reset_counters()
                if spec is None:
                    self._wait(0.2)
                    continue
                if source is None:
                    if time.monotonic() < next_try:
                        self._wait(min(0.2, next_try - time.monotonic()))
                        continue
                    try:
                        source = open_source(spec)
                        pace0, self.source_fps = None, source.fps
                        self._set_state(StateKind.RUNNING, f"{spec.label} at {source.fps:.0f} fps", spec.label)
                    except CameraError as err:
                        self._set_state(StateKind.RETRYING, f"{err} (retrying every {self.retry_s:.0f} s)", spec.label)
                        next_try = time.monotonic() + self.retry_s
                        continue
                    except GazezoomError as err:  # a video that cannot be read: wait for another source
                        self._set_state(StateKind.ERROR, str(err), spec.label)
                        spec = None
                        continue
                fast = spec.kind == "video" and not spec.pace
                if fast:  # read the next frame once processing took the last: one decoded ahead, none dropped
                    self._slot.wait_empty(self._stop)
                    with self._lock:
                        if self._spec_changed or self._stop.is_set():
                            continue
                try:
                    frame = source.read()
                except CameraError as err:
                    source.close()
                    source = None
                    self._set_state(StateKind.RETRYING, f"{err} (retrying every {self.retry_s:.0f} s)", spec.label)
                    next_try = time.monotonic() + self.retry_s
                    continue
                if frame is None:
                    source.close()
                    source = None
                    self._set_state(StateKind.ENDED, f"{spec.label} ended (switch on looping to replay it)", spec.label)
                    spec = None
                    continue
                if spec.kind == "video" and spec.pace:
                    now = time.perf_counter()
                    if pace0 is None or frame.restart:
                        pace0 = (now, frame.time_s)
                    due = pace0[0] + (frame.time_s - pace0[1])
                    if due > now:
                        self._wait(due - now)
                    if due < now - 0.5:  # far behind (e.g. after a stall): re-anchor instead of racing
                        pace0 = (now, frame.time_s)
                    frame = dataclasses.replace(frame, captured=time.perf_counter())
                if self._slot.put((frame, self._generation)):
                    self.counters.drop()
        except Exception as err:  # noqa: BLE001 - a bug here must show, not kill the app silently
            traceback.print_exc(file=sys.stderr)
            self._set_state(StateKind.ERROR, f"frame grabber failed: {err}")
        finally:
            if source is not None:
                source.close()

    def _wait(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    # ---- processing thread ------------------------------------------------------------------------------------
    def _process_loop(self) -> None:
        try:
            self.pipeline = self._factory(calibration=self._calibrate)
        except GazezoomError as err:
            self._set_state(StateKind.ERROR, f"cannot start the pipeline: {err}")
            return
        except Exception as err:  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
            self._set_state(StateKind.ERROR, f"cannot start the pipeline: {err}")
            return
        if self.state.kind is StateKind.STARTING:
            self._set_state(StateKind.STARTING, "waiting for the first frame …")
        self._ready.set()
        generation = -1
        try:
            while not self._stop.is_set():
                item = self._slot.get(timeout=0.1)
                if item is None:
                    continue
                frame, gen = item
                if gen != self._generation:  # taken just before a source switch: stale, not shown
                    continue
                if gen != generation:  # a new source: restart the stream clock after the previous one
                    generation = gen
                    frame = dataclasses.replace(frame, restart=True)
                try:
                    view = self._process(frame)
                except GazezoomError as err:
                    self._set_state(StateKind.ERROR, f"frame {frame.index}: {err}", self.state.source)
                    continue
                if gen != self._generation:  # the source changed while this frame was processed
                    continue
                if self.state.kind in (StateKind.STARTING, StateKind.RETRYING, StateKind.ERROR):
                    self._set_state(StateKind.RUNNING, self._spec.label if self._spec else "", self.state.source)
                self._on_view(view)
                if self.max_frames is not None and self.counters.frames >= self.max_frames:
                    self._set_state(StateKind.DONE, f"{self.counters.frames} frames processed", self.state.source)
                    break
        except Exception as err:  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
            self._set_state(StateKind.ERROR, f"processing failed: {err}")
        finally:
            pipeline, self.pipeline = self.pipeline, None
            if pipeline is not None:
                pipeline.close()

    def _stream_time(self, frame: Frame) -> float:
        """The frame's time on one clock that only increases across loops and source switches."""
        if self._last_t is not None and (frame.restart or frame.time_s + self._t_offset <= self._last_t):
            self._t_offset = self._last_t + 1 / 30 - frame.time_s
            mapper = self.mapper
            if mapper is not None:
                mapper.reset_filter()
        t = frame.time_s + self._t_offset
        self._last_t = t
        return t

    def _process(self, frame: Frame) -> View:
        t = self._stream_time(frame)
        pipeline = self.pipeline
        result = pipeline.process(frame.image, t)
        streamer = self.streamer
        if streamer is not None:
            streamer(result, frame.captured)
        K = None if result.camera is None else result.camera.K
        t0 = time.perf_counter()
        image = annotate(frame.image, result, K, self.overlays, max_width=self.display_width)
        panel = side_panel(result, frame.image)
        draw_ms = (time.perf_counter() - t0) * 1e3
        screen = self._screen_view(result)
        recorder = self.recorder
        if recorder is not None:
            recorder(result)
        timings = {**result.timings_ms, "draw": draw_ms}
        # A gaze stage may time its parts (e.g. {"sampler": …, "net": …}); show them when it ran on this frame.
        parts = getattr(getattr(pipeline, "gaze", None), "last_timings_ms", None)
        if isinstance(parts, dict) and "gaze" in timings:
            timings = {**parts, **timings}
        self.counters.add(captured=frame.captured, timings_ms=timings)
        return View(result, frame.image, image, panel, screen, self.counters.snapshot(), self.state.source)

    def _calibrate(self, result: FrameResult) -> ScreenPoint | None:
        mapper = self.mapper
        return None if mapper is None else mapper.map_result(result)

    def _screen_view(self, result: FrameResult) -> ScreenView | None:
        """The pipeline's screen point for display (held during a blink: the pipeline's screen stage holds it)."""
        mapper, s = self.mapper, result.screen
        if mapper is None or s is None:
            return None
        return ScreenView(s.x_px, s.y_px, s.held, (mapper.screen.width_px, mapper.screen.height_px))

    def _set_state(self, kind: StateKind, message: str, source: str | None = None) -> None:
        self.state = EngineState(kind, message, self.state.source if source is None else source)
        try:
            self._on_state(self.state)
        except Exception:  # noqa: BLE001 - a UI callback must not kill a worker thread
            traceback.print_exc(file=sys.stderr)
