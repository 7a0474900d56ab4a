"""Live outlets (gazezoom.io.streams) and `gazezoom stream`: a real pylsl inlet and real WebSocket clients in other
processes, a killed client that must not stop the stream."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from gazezoom.errors import InputValueError
from gazezoom.io.streams import STREAM_COLUMNS, UNITS, WebSocketServer, parse_address, stream_message, stream_values
from gazezoom.io.table import COLUMNS, result_to_row
from gazezoom.results import FrameResult


def _row(**values) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update({"frame": 5, "time_s": 0.5, "face": 1, "faces": 1, "blink": 0, "gaze_held": 0, **values})
    return row


def test_fields_units_and_values():
    assert len(set(STREAM_COLUMNS)) == len(STREAM_COLUMNS) and set(STREAM_COLUMNS) - {"valid"} <= set(COLUMNS)
    assert UNITS["gaze_pitch_deg"] == ("degrees", "Gaze") and UNITS["head_z_mm"][0] == "millimeters"
    assert UNITS["screen_x_px"][0] == "pixels" and UNITS["blink"][0] == "bool"
    empty = stream_values(result_to_row(FrameResult(index=0, time_s=0.0, frame_size=(480, 640), face=None)))
    assert empty[:2] == [0.0, 0.0] and all(math.isnan(v) for v in empty[2:])
    v = dict(zip(STREAM_COLUMNS, stream_values(_row(gaze_x=0.1, gaze_pitch_deg=-3.5, gaze_held=1))))
    assert v["gaze_pitch_deg"] == -3.5 and v["valid"] == 0.0 and math.isnan(v["screen_x_px"])  # held: not valid
    msg = json.loads(stream_message(_row(gaze_x=0.1, gaze_yaw_deg=2.0, screen_x_px=10.5), 1700000000.25))
    assert msg["frame"] == 5 and msg["time_s"] == 0.5 and msg["capture_unix_s"] == 1700000000.25
    assert msg["valid"] == 1 and msg["gaze_yaw_deg"] == 2.0 and msg["screen_x_px"] == 10.5 and msg["gaze_z"] is None
    assert list(msg)[3:] == list(STREAM_COLUMNS)


def test_parse_address():
    assert parse_address("8765") == ("127.0.0.1", 8765)  # localhost unless asked
    assert parse_address("0.0.0.0:0") == ("0.0.0.0", 0)
    with pytest.raises(InputValueError, match=r"\[HOST:\]PORT"):
        parse_address("localhost")
    with pytest.raises(InputValueError, match="0-65535"):
        parse_address("70000")


def test_websocket_server_slow_client_never_blocks():
    from websockets.sync.client import connect

    server = WebSocketServer("127.0.0.1", 0, queue_size=8)
    try:
        with connect(server.url) as fast, connect(server.url) as _idle:  # `idle` never reads
            assert server.wait(5) and _until(lambda: server.clients == 2)
            server.push('{"n": 0}')
            assert json.loads(fast.recv(timeout=5)) == {"n": 0}
            big = json.dumps({"pad": "x" * 100_000})
            t0 = time.perf_counter()
            for _ in range(300):  # 30 MB: far more than the idle client's socket buffers and queue hold
                server.push(big)
            assert time.perf_counter() - t0 < 2.0  # pushing never waits for a client
            assert _until(lambda: server.dropped > 0)
            got = 0
            while got < 5:  # the reading client still gets frames
                fast.recv(timeout=5)
                got += 1
        assert _until(lambda: server.clients == 0)  # both closed: forgotten
    finally:
        server.close()
    assert "2 clients served" in server.summary()


def _until(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def _stream(media_dir, *options, frames: int):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "gazezoom", "stream", "--source", str(media_dir / "single_face.mp4"),
           "--frames", str(frames), "--wait", "60", "--quiet", *options]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


@pytest.mark.slow
def test_lsl_inlet_in_another_process_receives_finite_gaze(media_dir):
    import pylsl

    name = f"gazezoom-test-{uuid.uuid4().hex[:8]}"
    proc = _stream(media_dir, "--lsl", "--name", name, frames=60)
    try:
        found = pylsl.resolve_byprop("name", name, 1, 60.0)
        assert found, "the stream was not found on the network"
        inlet = pylsl.StreamInlet(found[0])
        info = inlet.info(timeout=10.0)
        assert info.type() == "Gaze" and info.channel_count() == len(STREAM_COLUMNS)
        ch = info.desc().child("channels").child("channel")
        labels, units = [], []
        while not ch.empty():
            labels.append(ch.child_value("label"))
            units.append(ch.child_value("unit"))
            ch = ch.next_sibling()
        assert labels == list(STREAM_COLUMNS) and units[labels.index("gaze_yaw_deg")] == "degrees"
        samples, latency = [], []
        end = time.monotonic() + 60
        while len(samples) < 30 and time.monotonic() < end:
            s, ts = inlet.pull_sample(timeout=1.0)
            if s is not None:
                latency.append((pylsl.local_clock() - ts) * 1e3)  # capture -> received, same clock
                samples.append(s)
        assert len(samples) >= 30
        x = np.array(samples)
        for c in ("gaze_x", "gaze_y", "gaze_z", "gaze_pitch_deg", "gaze_yaw_deg", "head_z_mm"):
            assert np.isfinite(x[:, STREAM_COLUMNS.index(c)]).all(), c  # every frame of this clip has a face
        assert (x[:, STREAM_COLUMNS.index("face")] == 1).all()
        assert np.allclose(np.linalg.norm(x[:, 3:6], axis=1), 1, atol=1e-5)  # gaze_x/y/z is a unit vector
        assert 0 < np.median(latency) < 1000  # stamped with the capture time, received after it
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "streamed 60 frames" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


CLIENT = """
import sys
from websockets.sync.client import connect
with connect(sys.argv[1]) as ws:
    while True:
        print(ws.recv(), flush=True)
"""


@pytest.mark.slow
def test_websocket_clients_and_a_killed_client(media_dir):
    from websockets.sync.client import connect

    proc = _stream(media_dir, "--websocket", "127.0.0.1:0", frames=120)
    victim = None
    try:
        line = proc.stdout.readline()
        assert line.startswith("websocket: listening on ws://127.0.0.1:"), line
        url = line.split()[-1]
        victim = subprocess.Popen([sys.executable, "-c", CLIENT, url], stdout=subprocess.PIPE, text=True)
        with connect(url, open_timeout=30) as ws:
            first = json.loads(victim.stdout.readline())  # the other process received a frame …
            assert set(STREAM_COLUMNS) <= set(first) and "capture_unix_s" in first
            victim.send_signal(signal.SIGKILL)  # … and dies without closing its connection
            victim.wait(timeout=10)
            frames = []
            while True:
                try:
                    frames.append(json.loads(ws.recv(timeout=30)))
                except Exception:  # noqa: BLE001 - the server closed at the end of the stream
                    break
        assert len(frames) >= 60 and frames[-1]["frame"] > first["frame"] + 30  # the stream went on after the kill
        assert all(isinstance(f["gaze_pitch_deg"], float) for f in frames)
        assert [f["frame"] for f in frames] == sorted(f["frame"] for f in frames)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "streamed 120 frames" in out and "2 clients served" in out
    finally:
        for p in (victim, proc):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_app_stream_toggle(qtbot, tmp_path, media_dir):
    """The app's Stream action: a WebSocket client receives the window's frames; switching off closes the outlets."""
    pytest.importorskip("pytestqt")
    from websockets.sync.client import connect

    from gazezoom.gui.window import MainWindow
    from gazezoom.live.config import AppConfig
    from gazezoom.live.sources import parse_source

    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)  # cv2 sets it; Qt must use its own plugins
    config = AppConfig(source=parse_source(str(media_dir / "single_face.mp4")), settings_file=str(tmp_path / "s.ini"),
                       out_dir=str(tmp_path), profiles_dir=str(tmp_path / "profiles"))
    w = MainWindow(config)
    qtbot.addWidget(w)
    w.STREAM_OUTLETS = (f"gazezoom-test-{uuid.uuid4().hex[:8]}", ("127.0.0.1", 0))  # never a fixed port in tests
    try:
        w.show()
        w.start()
        w.actions["stream"].setChecked(True)
        outlets = w.engine.streamer
        assert outlets is not None and outlets.lsl is not None, w._notice
        with connect(outlets.websocket.url, open_timeout=30) as ws:
            frames = [json.loads(ws.recv(timeout=90)) for _ in range(5)]
        assert [f["frame"] for f in frames] == sorted(f["frame"] for f in frames)
        assert all(f["face"] == 1 and f["gaze_x"] is not None for f in frames)
        w.actions["stream"].setChecked(False)
        assert w.engine.streamer is None and "streaming stopped" in w._notice[0]
        qtbot.wait(300)  # frames keep being processed without the outlets
        assert w.engine.running
    finally:
        w.close()
