"""Live gaze outlets for other programs: a Lab Streaming Layer stream and a WebSocket server (``gazezoom stream``).

Both carry the same fields, :data:`STREAM_COLUMNS`: the numeric columns of the per-frame table
(:data:`gazezoom.io.table.COLUMNS`, same names and units) that make sense live, plus ``valid`` (1 when the frame has
a gaze estimate that is not held over a blink). Each frame's row comes from :func:`gazezoom.io.table.result_to_row`,
so a streamed value is exactly what ``gazezoom process`` would write.

* :class:`LslOutlet` — stream type ``Gaze``, one float32 channel per field, labels, units and types in the XML
  description (``desc/channels/channel``), each sample stamped with the frame's *capture* time on the LSL clock
  (``pylsl.local_clock``), so LabRecorder aligns it with other streams whatever the processing delay was. Missing
  values are NaN.
* :class:`WebSocketServer` — ``ws://HOST:PORT``, one JSON text message per frame (``null`` for missing values) with
  ``frame``, ``time_s`` and ``capture_unix_s`` (the capture time on the wall clock, comparable with a browser's
  ``Date.now() / 1000`` on the same machine). Each client has its own bounded queue served by its own thread: a slow
  client's messages are dropped (and counted) when its queue is full, and a client that disconnects or dies is
  forgotten; neither ever stalls the frame loop.

No Qt, no MediaPipe: ``pylsl`` and ``websockets`` are imported when an outlet is created.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InputValueError, MediaError
from .table import COLUMNS

__all__ = ["STREAM_COLUMNS", "UNITS", "stream_values", "stream_message", "LslOutlet", "WebSocketServer",
           "LiveOutlets", "parse_address", "capture_wall_time"]

#: The live fields, in channel order. Every name but ``valid`` is a table column.
STREAM_COLUMNS: tuple[str, ...] = (
    "valid", "face", "confidence",
    "gaze_x", "gaze_y", "gaze_z", "gaze_pitch_deg", "gaze_yaw_deg",
    "left_gaze_pitch_deg", "left_gaze_yaw_deg", "right_gaze_pitch_deg", "right_gaze_yaw_deg",
    "head_x_mm", "head_y_mm", "head_z_mm", "head_pitch_deg", "head_yaw_deg", "head_roll_deg",
    "blink", "gaze_held", "left_openness", "right_openness", "screen_x_px", "screen_y_px",
)  # fmt: skip
assert set(STREAM_COLUMNS) - {"valid"} <= set(COLUMNS)


def _unit(name: str) -> tuple[str, str]:
    """(unit, type) of a field for the LSL channel description."""
    if name.endswith("_deg"):
        return "degrees", "Gaze" if "gaze" in name else "HeadPose"
    if name.endswith("_mm"):
        return "millimeters", "HeadPosition"
    if name.endswith("_px"):
        return "pixels", "ScreenPosition"
    if name in ("gaze_x", "gaze_y", "gaze_z"):
        return "normalized", "GazeDirection"
    if name in ("confidence", "left_openness", "right_openness"):
        return "fraction", name.split("_")[-1].capitalize()
    return "bool", "Flag"


#: field → (unit, LSL channel type)
UNITS: dict[str, tuple[str, str]] = {c: _unit(c) for c in STREAM_COLUMNS}


def _valid(row: Mapping) -> int:
    return int(row.get("gaze_x") is not None and row.get("gaze_held") != 1)


def stream_values(row: Mapping) -> list[float]:
    """A table row → one float per :data:`STREAM_COLUMNS` field (NaN where the row is empty).

    >>> from gazezoom.results import FrameResult
    >>> from gazezoom.io.table import result_to_row
    >>> v = stream_values(result_to_row(FrameResult(index=0, time_s=0.0, frame_size=(480, 640), face=None)))
    >>> v[:3], len(v) == len(STREAM_COLUMNS)
    ([0.0, 0.0, nan], True)
    """
    out = []
    for c in STREAM_COLUMNS:
        v = _valid(row) if c == "valid" else row.get(c)
        out.append(math.nan if v is None else float(v))
    return out


def stream_message(row: Mapping, capture_unix_s: float) -> str:
    """A table row → the WebSocket JSON text: ``frame``, ``time_s``, ``capture_unix_s`` and the fields."""
    obj = {"frame": row.get("frame"), "time_s": row.get("time_s"), "capture_unix_s": round(capture_unix_s, 6)}
    obj.update({c: _valid(row) if c == "valid" else row.get(c) for c in STREAM_COLUMNS})
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))


def capture_wall_time(captured_perf: float) -> float:
    """A ``time.perf_counter()`` capture time → the wall clock (``time.time()``) of that moment."""
    return time.time() - (time.perf_counter() - captured_perf)


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``"8765"`` → ``("127.0.0.1", 8765)``; ``"0.0.0.0:8765"`` listens on every interface (only when asked).

    >>> parse_address("8765"), parse_address("0.0.0.0:9000")
    (('127.0.0.1', 8765), ('0.0.0.0', 9000))
    """
    host, _, port = str(text).rpartition(":")
    try:
        p = int(port)
    except ValueError:
        raise InputValueError(f"--websocket wants [HOST:]PORT (e.g. 8765 or 127.0.0.1:8765), got {text!r}") from None
    if not 0 <= p <= 65535:
        raise InputValueError(f"--websocket port must be 0-65535 (0 = any free port), got {p}")
    return (host.strip("[]") or default_host), p


# --------------------------------------------------------------------------------------------------- LSL


class LslOutlet:
    """A Lab Streaming Layer outlet of type ``Gaze`` (see the module docstring). ``rate``: the nominal sampling
    rate (the source's frame rate; 0 = irregular)."""

    def __init__(self, name: str = "gazezoom", *, rate: float = 0.0, source_id: str | None = None):
        import pylsl

        self._pylsl = pylsl
        info = pylsl.StreamInfo(name, "Gaze", len(STREAM_COLUMNS), float(rate or 0.0), pylsl.cf_float32,
                                source_id or f"gazezoom-{name}")
        chans = info.desc().append_child("channels")
        for c in STREAM_COLUMNS:
            unit, kind = UNITS[c]
            ch = chans.append_child("channel")
            ch.append_child_value("label", c)
            ch.append_child_value("unit", unit)
            ch.append_child_value("type", kind)
        acq = info.desc().append_child("acquisition")
        acq.append_child_value("manufacturer", "gazezoom")
        acq.append_child_value("model", "webcam gaze (gazezoom stream)")
        acq.append_child_value("timestamps", "frame capture time on the LSL clock")
        self.name, self.pushed = name, 0
        self._outlet = pylsl.StreamOutlet(info)

    def wait(self, timeout: float) -> bool:
        """Block until a consumer (an inlet, LabRecorder) is connected or ``timeout`` s passed."""
        return bool(self._outlet.wait_for_consumers(timeout))

    def push(self, row: Mapping, captured_perf: float) -> None:
        """Send one frame, stamped with its capture time (a ``time.perf_counter()`` value) on the LSL clock."""
        outlet = self._outlet
        if outlet is None:  # closed while the frame loop still held this outlet (the app's Stream toggle)
            return
        stamp = self._pylsl.local_clock() - (time.perf_counter() - captured_perf)
        outlet.push_sample(stream_values(row), stamp)
        self.pushed += 1

    def summary(self) -> str:
        return f"LSL stream {self.name!r} (type Gaze, {len(STREAM_COLUMNS)} channels): {self.pushed} samples"

    def close(self) -> None:
        self._outlet = None


# --------------------------------------------------------------------------------------------------- WebSocket


@dataclass
class _Client:
    address: str
    queue: "queue.Queue[str]"
    sent: int = 0
    dropped: int = 0


class WebSocketServer:
    """``ws://host:port`` serving one JSON message per frame to every connected client (module docstring).

    ``port=0`` picks a free port (:attr:`port` says which). ``queue_size`` messages wait per client at most; more are
    dropped for that client and counted in :attr:`dropped`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, *, queue_size: int = 32):
        from websockets.sync.server import serve

        self.queue_size = queue_size
        self._clients: dict[int, _Client] = {}
        self._lock = threading.Lock()
        self._connected = threading.Condition(self._lock)
        self.served = self.dropped = self.sent = 0
        try:
            self._server = serve(self._handle, host, port, compression=None)
        except OSError as err:
            raise MediaError(f"cannot listen on {host}:{port}: {err.strerror or err}; choose another --websocket "
                             "port (0 = any free port)") from None
        self.host, self.port = host, int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="gazezoom-websocket", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def _handle(self, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        client = _Client(str(ws.remote_address), queue.Queue(self.queue_size))
        with self._lock:
            self._clients[id(client)] = client
            self.served += 1
            self._connected.notify_all()
        try:
            while True:
                try:
                    msg = client.queue.get(timeout=0.5)
                except queue.Empty:
                    if ws.state.name in ("CLOSING", "CLOSED"):
                        return
                    continue
                if msg is None:  # the server is closing
                    return
                ws.send(msg)
                client.sent += 1
        except (ConnectionClosed, OSError):
            return
        finally:
            with self._lock:
                self._clients.pop(id(client), None)
                self.sent += client.sent

    def wait(self, timeout: float) -> bool:
        """Block until a client is connected or ``timeout`` s passed."""
        end = time.monotonic() + timeout
        with self._connected:
            while not self._clients and time.monotonic() < end:
                self._connected.wait(end - time.monotonic())
            return bool(self._clients)

    def push(self, message: str) -> None:
        """Queue ``message`` for every client; never blocks (a full queue drops the message for that client)."""
        self._offer(message)

    def _offer(self, item: str | None) -> None:
        with self._lock:
            clients = list(self._clients.values())
        dropped = 0
        for c in clients:
            try:
                c.queue.put_nowait(item)
            except queue.Full:
                c.dropped += item is not None
                dropped += item is not None
        with self._lock:
            self.dropped += dropped

    def summary(self) -> str:
        with self._lock:
            sent = self.sent + sum(c.sent for c in self._clients.values())
        return f"WebSocket {self.url}: {self.served} clients served, {sent} messages sent, {self.dropped} dropped"

    def close(self) -> None:
        self._offer(None)  # each client's thread ends after what is queued; a full queue ends when the socket does
        self._server.shutdown()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------------------------------- both


class LiveOutlets:
    """The outlets of one live session (``gazezoom stream``, the app's Stream toggle): an :class:`LslOutlet` named
    ``lsl_name`` and/or a :class:`WebSocketServer` on ``websocket = (host, port)``.

    Call it with each :class:`~gazezoom.results.FrameResult` and its capture time (``time.perf_counter()``); it makes
    the table row once and hands it to every outlet (never blocks on a client). ``close()`` when done.
    """

    def __init__(self, lsl_name: str | None = None, websocket: tuple[str, int] | None = None, *, rate: float = 0.0,
                 queue_size: int = 32):
        if lsl_name is None and websocket is None:
            raise InputValueError("a live stream needs an LSL name and/or a WebSocket address")
        self.lsl = self.websocket = None
        try:
            self.lsl = LslOutlet(lsl_name, rate=rate) if lsl_name is not None else None
            self.websocket = WebSocketServer(*websocket, queue_size=queue_size) if websocket is not None else None
        except BaseException:
            self.close()
            raise

    @property
    def outlets(self) -> list:
        return [o for o in (self.lsl, self.websocket) if o is not None]

    def wait(self, timeout: float) -> bool:
        """Block until one outlet has a consumer or ``timeout`` s passed."""
        end = time.monotonic() + timeout
        while True:
            if any(o.wait(0.05) for o in self.outlets):
                return True
            if time.monotonic() >= end:
                return False

    def push_row(self, row: Mapping, captured_perf: float) -> None:
        if self.lsl is not None:
            self.lsl.push(row, captured_perf)
        if self.websocket is not None:
            self.websocket.push(stream_message(row, capture_wall_time(captured_perf)))

    def __call__(self, result, captured_perf: float) -> None:
        from .table import result_to_row

        self.push_row(result_to_row(result), captured_perf)

    def describe(self) -> str:
        """``"LSL stream 'gazezoom' (type Gaze) and ws://127.0.0.1:8765"``."""
        parts = ([f"LSL stream {self.lsl.name!r} (type Gaze)"] if self.lsl is not None else []) + \
            ([self.websocket.url] if self.websocket is not None else [])
        return " and ".join(parts)

    def summary(self) -> list[str]:
        return [o.summary() for o in self.outlets]

    def close(self) -> None:
        for o in self.outlets:
            o.close()
