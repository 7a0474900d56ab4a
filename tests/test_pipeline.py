"""Pipeline.process: the shared per-frame path. The gaze stage here is a small recording double (a real
GazePredictor lives in gazezoom/models); it checks the plumbing: call order, blink hold, calibration, formats."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import read_frames

from gazezoom.errors import InputValueError
from gazezoom.geometry import vector_to_pitchyaw
from gazezoom.pipeline import Pipeline, ScreenStage
from gazezoom.results import EyeGaze, GazeResult, ScreenPoint


class HeadDirectionGaze:
    """Gaze = the head's forward direction (a stand-in with a per-frame answer), recording its inputs."""

    def __init__(self):
        self.calls = []

    def predict(self, frame_bgr, face):
        self.calls.append((frame_bgr.shape, frame_bgr.dtype, face.track_id))
        v = -face.head.rotation[:, 2]
        eyes = tuple(EyeGaze(e.side, np.zeros(2), v) for e in face.eyes)
        origin = (face.eyes[0].center_mm + face.eyes[1].center_mm) / 2
        return GazeResult(eyes, v, vector_to_pitchyaw(v), origin)


@pytest.fixture(scope="module")
def frames(media_dir):
    return read_frames(media_dir / "single_face.mp4")


def test_gaze_is_held_during_the_blink(frames):
    gaze = HeadDirectionGaze()
    screens = []

    def calibration(result):
        screens.append(result.index)
        return ScreenPoint(1.0, 2.0, 1.0, 2.0)

    with Pipeline(mode="video", gaze=gaze, calibration=calibration) as pipe:
        res = [pipe.process(f, i / 30) for i, f in enumerate(frames[:36])]
    blink = [r.face.blink for r in res]
    assert any(blink) and not blink[0]
    assert len(gaze.calls) == blink.count(False)  # no prediction during a blink
    last = None
    for r in res:
        assert r.gaze is not None and r.screen is not None
        if r.face.blink:
            assert r.gaze.held and np.array_equal(r.gaze.vector_cam, last.vector_cam)
            assert "gaze" not in r.timings_ms
        else:
            assert not r.gaze.held and r.timings_ms["gaze"] >= 0
            last = r.gaze
    assert screens == list(range(36)) and all(c[0] == (360, 640, 3) and c[1] == np.uint8 for c in gaze.calls)


def test_screen_stage_holds_the_last_point_during_a_blink(frames):
    """The pipeline's screen stage is the one owner of the screen hold: a calibration that gives no point during a
    blink (as ScreenMapper does) yields the last point, marked held; the table leaves held points out; stills never
    hold; a reset forgets the point."""
    from gazezoom.io.table import result_to_row

    def calibration(result):
        if result.face.blink or result.gaze.held:
            return None
        return ScreenPoint(float(result.index), 2.0, float(result.index), 2.0)

    with Pipeline(mode="video", gaze=HeadDirectionGaze(), calibration=calibration) as pipe:
        res = [pipe.process(f, i / 30) for i, f in enumerate(frames[:36])]
    blinks = [r for r in res if r.face.blink]
    assert blinks and not res[0].face.blink
    last = None
    for r in res:
        assert r.screen is not None
        if r.face.blink:
            assert r.screen.held and r.screen.x_px == last
            row = result_to_row(r)
            assert row["screen_x_px"] is None and row["gaze_held"] == 1  # empty in the table
        else:
            assert not r.screen.held and r.screen.x_px == r.index
            last = r.screen.x_px
    stage = ScreenStage(calibration)
    stage(res[0])
    assert stage(blinks[0]).held
    stage.reset()
    assert stage(blinks[0]) is None
    assert ScreenStage(calibration, hold=False)(res[0]) is not None
    still = ScreenStage(calibration, hold=False)
    still(res[0])
    assert still(blinks[0]) is None


def test_stills_never_hold_another_stills_gaze(frames):
    """In image mode every frame is unrelated (track ids restart at 1): a closed-eye still gets its own prediction,
    not the gaze of the still before it."""
    gaze = HeadDirectionGaze()
    with Pipeline(mode="image", gaze=gaze) as pipe:
        res = [pipe.process(frames[i]) for i in (0, 27)]
    assert not res[0].face.blink and res[1].face.blink and res[0].face.track_id == res[1].face.track_id
    assert len(gaze.calls) == 2 and not res[1].gaze.held and "gaze" in res[1].timings_ms


def test_no_face_means_no_gaze_and_no_call():
    gaze = HeadDirectionGaze()
    with Pipeline(mode="video", gaze=gaze) as pipe:
        r = pipe.process(np.zeros((240, 320), np.uint8))
    assert r.face is None and r.gaze is None and gaze.calls == [] and r.frame_size == (240, 320)


def test_gaze_stage_gets_bgr_from_gray_and_bgra(frames):
    gaze = HeadDirectionGaze()
    with Pipeline(mode="image", gaze=gaze) as pipe:
        pipe.process(cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY))
        pipe.process(cv2.cvtColor(frames[0], cv2.COLOR_BGR2BGRA))
    assert [c[0] for c in gaze.calls] == [(360, 640, 3)] * 2


def test_bad_stage_arguments():
    with pytest.raises(InputValueError, match="predict"):
        Pipeline(gaze=object())
    with pytest.raises(InputValueError, match="callable"):
        Pipeline(calibration=42)
    with pytest.raises(InputValueError, match="mode"):
        Pipeline(mode="stream")
    with pytest.raises(InputValueError, match="color"):
        Pipeline(color="yuv")


def test_camera_file_sets_the_scale(frames, tmp_path):
    """With twice the focal length the same face is twice as far away; the rotation barely changes."""
    cam = {"image_size": [640, 360], "camera_matrix": [[1280, 0, 319.5], [0, 1280, 179.5], [0, 0, 1]], "dist_coeffs": [0, 0, 0, 0, 0]}
    (tmp_path / "cam.json").write_text(json.dumps(cam))
    with Pipeline(mode="image") as a, Pipeline(mode="image", camera=str(tmp_path / "cam.json")) as b:
        fa, fb = a.process(frames[0]).face, b.process(frames[0]).face
    assert fb.head.translation_mm[2] / fa.head.translation_mm[2] == pytest.approx(2.0, rel=0.05)
    assert abs(fa.head.yaw_deg - fb.head.yaw_deg) < 3 and abs(fa.head.pitch_deg - fb.head.pitch_deg) < 3
