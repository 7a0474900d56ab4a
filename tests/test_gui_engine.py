"""The app's non-Qt parts: frame sources, the drop-don't-queue engine, counters and the side panel.

Real video files from ../shared/media; the engine's drop policy is checked with a stand-in pipeline that only
sleeps (a timing double: it has no face logic, and no test here asserts anything about faces).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from gazezoom.cliargs import parse_size
from gazezoom.errors import CameraError, InputValueError, MediaError, UnknownNameError
from gazezoom.live.engine import Engine, LatestSlot
from gazezoom.live.render import Counters, side_panel
from gazezoom.live.sources import SOURCES, FrameSource, SourceSpec, open_source, parse_source
from gazezoom.results import FrameResult


def test_parse_source_and_size():
    assert parse_source("0") == SourceSpec("camera", 0)
    spec = parse_source("clip.mp4", loop=False, resize=(1280, 720))
    assert (spec.kind, spec.target, spec.loop, spec.resize) == ("video", "clip.mp4", False, (1280, 720))
    assert spec.label == "clip.mp4 → 1280x720"
    assert parse_size("1280X720") == (1280, 720)
    with pytest.raises(InputValueError, match="WIDTHxHEIGHT"):
        parse_size("1280*720")
    with pytest.raises(InputValueError, match="between"):
        parse_size("4x4")
    with pytest.raises(InputValueError, match="camera index"):
        parse_source("  ")
    with pytest.raises(UnknownNameError, match="camera, video"):
        open_source(SourceSpec("rtsp", "x"))


def test_missing_camera_says_what_to_do():
    with pytest.raises(CameraError, match=r"no camera at index 99.*--source VIDEO"):
        open_source(parse_source("99"))


def test_bad_video_files(tmp_path):
    with pytest.raises(MediaError, match="not found"):
        open_source(parse_source(str(tmp_path / "missing.mp4")))
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    with pytest.raises(MediaError, match="cannot open|no readable frames"):
        open_source(parse_source(str(fake)))


def test_video_loops_with_increasing_time(media_dir):
    src = open_source(parse_source(str(media_dir / "single_face.mp4"), loop=True, resize=(320, 180)))
    try:
        frames = [src.read() for _ in range(3 * 72 + 10)]  # the clip has 72 frames: three loops
    finally:
        src.close()
    t = np.array([f.time_s for f in frames])
    # time runs on at the clip's rate through every loop (a stalled clock would break real-time pacing)
    assert np.allclose(np.diff(t), 1 / 30, atol=2e-3), np.diff(t)[np.abs(np.diff(t) - 1 / 30) > 2e-3]
    restarts = [i for i, f in enumerate(frames) if f.restart]
    assert restarts == [72, 144, 216]
    assert frames[0].image.shape == (180, 320, 3) and frames[0].image.dtype == np.uint8
    assert np.array_equal(frames[0].image, frames[72].image)  # the loop starts again at the first frame


def test_video_without_loop_ends(media_dir):
    with open_source(parse_source(str(media_dir / "single_face.mp4"), loop=False)) as src:
        n = 0
        while src.read() is not None:
            n += 1
    assert n == 72


def test_latest_slot_replaces_unconsumed():
    s = LatestSlot()
    assert s.put("a") is False
    assert s.put("b") is True  # "a" was never taken: dropped
    assert s.get(timeout=0) == "b"
    assert s.get(timeout=0.01) is None


def test_counters_window_and_session():
    c = Counters(window=3)
    for i in range(6):
        c.add(now=i * 0.05, captured=i * 0.05 - 0.02, timings_ms={"landmarks": float(i), "gaze": 2.0, "total": 10.0})
    c.drop(4)
    s = c.snapshot()
    assert s.frames == 6 and s.dropped == 4
    assert s.fps == pytest.approx(20.0) and s.session_fps == pytest.approx(20.0)
    assert s.latency_ms == pytest.approx(20.0)
    assert s.stages_ms == {"landmarks": 4.0, "gaze": 2.0, "total": 10.0}  # median of the last 3
    assert "dropped 4/10" in s.summary()


def test_side_panel_without_gaze_is_none():
    assert side_panel(None) is None
    assert side_panel(FrameResult(0, 0.0, (10, 10), None)) is None


class _SlowStandIn:
    """Takes ``delay_s`` per frame and finds no face: only the engine's frame flow is under test."""

    def __init__(self, delay_s: float):
        self.delay_s, self.indices, self.times, self.closed = delay_s, [], [], False

    def process(self, frame, time_s=None):
        time.sleep(self.delay_s)
        self.times.append(time_s)
        return FrameResult(len(self.times) - 1, float(time_s), frame.shape[:2], None, timings_ms={"total": self.delay_s * 1e3})

    def close(self):
        self.closed = True


def _run_engine(spec, delay_s, n):
    standin = _SlowStandIn(delay_s)
    views, done = [], threading.Event()
    engine = Engine(lambda calibration: standin, on_view=views.append,
                    on_state=lambda s: done.set() if s.kind == "done" else None, max_frames=n)
    engine.start(spec)
    assert done.wait(30), engine.state
    assert engine.stop(5)
    assert not engine.running and standin.closed
    return engine, views, standin


def test_slow_processing_drops_frames_instead_of_queueing(media_dir):
    # 30 fps source, 100 ms per frame: about two of every three frames must be dropped, and the latency from
    # capture to result must stay near one processing time (a queue would grow it frame after frame).
    spec = parse_source(str(media_dir / "single_face.mp4"), resize=(320, 180))
    engine, views, standin = _run_engine(spec, 0.1, 12)
    c = views[-1].counters
    assert c.dropped >= 12, c
    assert c.latency_ms < 250, c
    assert np.all(np.diff(standin.times) > 0.05)  # stream time jumps over the dropped frames


def test_fast_mode_processes_every_frame(media_dir):
    spec = parse_source(str(media_dir / "single_face.mp4"), resize=(320, 180), pace=False)
    engine, views, standin = _run_engine(spec, 0.05, 20)
    assert views[-1].counters.dropped == 0
    # one frame is decoded ahead while the previous one is processed, never more: latency stays under 3 cycles
    assert views[-1].counters.latency_ms < 150, views[-1].counters
    assert np.allclose(np.diff(standin.times), 1 / 30, atol=2e-3)  # consecutive frames, none skipped


class _SimulatedPipeline:
    """The calibration helper's simulated user behind the Pipeline interface: known blinks, real ScreenMapper."""

    def __init__(self, calibration, target=(960.0, 540.0)):
        from gazezoom.calibration.simulate import SimulatedUser
        from gazezoom.pipeline import ScreenStage

        self.sim, self.screen, self.target = SimulatedUser(seed=0), ScreenStage(calibration), target

    def process(self, frame, time_s=None):
        import dataclasses

        r = self.sim.frame(time_s, self.target)
        return dataclasses.replace(r, screen=self.screen(r))  # the pipeline's own screen stage (and its hold)

    def reset_screen_hold(self):
        self.screen.reset()

    def close(self):
        pass


def test_screen_point_smoothed_and_held_during_blinks(media_dir):
    from gazezoom.calibration.mapping import ScreenMapper
    from gazezoom.calibration.regressors import create_regressor
    from gazezoom.calibration.simulate import SimulatedUser
    from gazezoom.filters import create_filter

    sim = SimulatedUser(seed=0)
    X, y, _ = sim.fixations([[200, 200], [1700, 200], [960, 540], [200, 900], [1700, 900]], dwell_s=0.8)
    mapper = ScreenMapper(create_regressor("ridge", sim.screen).fit(X, y), sim.screen,
                          filter=create_filter("one_euro", min_cutoff=0.5, beta=0.001))
    views, done = [], threading.Event()
    engine = Engine(lambda calibration: _SimulatedPipeline(calibration), on_view=views.append,
                    on_state=lambda s: done.set() if s.kind == "done" else None, max_frames=60)
    engine.set_mapper(mapper)
    engine.start(parse_source(str(media_dir / "single_face.mp4"), resize=(160, 90), pace=False))
    assert done.wait(30)
    engine.stop()
    blinks = [v for v in views if v.result.face.blink]
    assert len(blinks) >= 3  # seed 0 blinks at frames 10-14
    last = None
    for v in views:
        assert v.screen is not None and v.screen.screen_size == (1920, 1080)
        if v.result.face.blink:
            assert v.screen.held and (v.screen.x_px, v.screen.y_px) == last
        else:
            assert not v.screen.held
            last = (v.screen.x_px, v.screen.y_px)
    # smoothed: the filtered point moves less from frame to frame than the raw mapping
    raw = np.array([[v.result.screen.raw_x_px, v.result.screen.raw_y_px] for v in views if v.result.screen])
    smooth = np.array([[v.result.screen.x_px, v.result.screen.y_px] for v in views if v.result.screen])
    assert np.abs(np.diff(smooth, axis=0)).mean() < 0.5 * np.abs(np.diff(raw, axis=0)).mean()


_FLAKY = {"fail_after": 5, "opens": 0}


@SOURCES.register("test-flaky-camera")
class _FlakyCamera(FrameSource):
    """A 'camera' made of a real video that stops delivering after a few frames the first time it is opened."""

    def __init__(self, spec):
        _FLAKY["opens"] += 1
        self.inner = open_source(parse_source(spec.target))
        self.spec, self.fps, self.n = spec, self.inner.fps, 0

    def read(self):
        self.n += 1
        if _FLAKY["opens"] == 1 and self.n > _FLAKY["fail_after"]:
            raise CameraError("camera test stopped delivering frames")
        return self.inner.read()

    def close(self):
        self.inner.close()


def test_camera_lost_mid_stream_is_retried(media_dir):
    states, views = [], []
    engine = Engine(lambda calibration: _SlowStandIn(0.0), on_view=views.append, on_state=states.append, retry_s=0.2)
    engine.start(SourceSpec("test-flaky-camera", str(media_dir / "single_face.mp4")))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (_FLAKY["opens"] >= 2 and len(views) > 10):
        time.sleep(0.05)
    assert engine.stop(5)
    kinds = [s.kind for s in states]
    lost = kinds.index("retrying")
    assert "stopped delivering" in states[lost].message and "retrying" in states[lost].message
    assert "running" in kinds[lost:]  # reopened and running again
    assert _FLAKY["opens"] >= 2 and len(views) > 10


def test_truncated_video_plays_what_decodes_then_ends_or_loops(media_dir, tmp_path):
    """The app reads videos through io.readers.VideoReader: a file cut in half plays its decodable frames, then ends
    (saying why in ``last_error``) or, with loop, starts again from the first frame."""
    from conftest import read_frames
    from test_io import write_video

    avi = write_video(tmp_path / "a.avi", read_frames(media_dir / "single_face.mp4")[:24], fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(avi.read_bytes()[: avi.stat().st_size // 2])
    with open_source(parse_source(str(cut), loop=False)) as src:
        n = 0
        while src.read() is not None:
            n += 1
        assert 5 < n < 20 and "truncated" in (src.last_error or "")
    with open_source(parse_source(str(cut), loop=True)) as src:
        frames = [src.read() for _ in range(n + 3)]
    assert all(f is not None for f in frames) and frames[n].restart
    assert np.all(np.diff([f.time_s for f in frames]) > 0)
