"""Mirror averaging (``gazezoom.face.mirror``, ``Pipeline(mirror=True)``, ``process --mirror``, ``eval --mirror``):
the mirrored camera against OpenCV's projection, the averaging on constructed readings, and the whole path on real
faces of ../shared/media through the real MediaPipe front-end and the shipped gaze stage."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from gazezoom.errors import InputValueError
from gazezoom.face.camera import Camera, default_camera
from gazezoom.face.mirror import MIRROR, average_with_mirror, match_mirrored, mirror_box, mirror_camera, mirror_frame
from gazezoom.geometry import angular_error_deg, pitchyaw_to_vector, vector_to_pitchyaw
from gazezoom.results import EyeGaze, GazeResult

cv2 = pytest.importorskip("cv2")


def _camera(W=640, H=480, cx=400.0, dist=(0.1, -0.05, 0.004, -0.006, 0.01, 0.0, 0.0, 0.0, 0.002, -0.003, 0.0, 0.0)):
    K = np.array([[700.0, 0.0, cx], [0.0, 690.0, 230.0], [0.0, 0.0, 1.0]])
    return Camera(K, np.array(dist, float), (W, H), False)


def test_mirror_camera_sees_the_flipped_frame():
    """A point X seen by a camera at pixel u is seen at W − 1 − u in the flipped frame — which is where the mirrored
    camera projects the reflected point ``MIRROR @ X`` (off-centre principal point, radial, tangential and thin-prism
    distortion); the unmirrored camera would put it elsewhere."""
    cam = _camera()
    rng = np.random.default_rng(0)
    X = np.c_[rng.uniform(-200, 200, 50), rng.uniform(-150, 150, 50), rng.uniform(400, 900, 50)]
    zero = np.zeros(3)
    u, _ = cv2.projectPoints(X, zero, zero, cam.K, cam.dist)
    flipped = u.reshape(-1, 2) * [-1, 1] + [cam.image_size[0] - 1, 0]
    m = mirror_camera(cam)
    um, _ = cv2.projectPoints(X @ MIRROR.T, zero, zero, m.K, m.dist)
    np.testing.assert_allclose(um.reshape(-1, 2), flipped, atol=1e-6)
    wrong, _ = cv2.projectPoints(X @ MIRROR.T, zero, zero, cam.K, cam.dist)
    assert np.abs(wrong.reshape(-1, 2) - flipped).max() > 50.0
    # the default camera is centred: its own mirror; a rescaled mirror is the mirror of the rescaled camera
    d = default_camera(640, 480)
    np.testing.assert_allclose(mirror_camera(d).K, d.K)
    np.testing.assert_allclose(mirror_camera(cam).for_size(1280, 960).K, mirror_camera(cam.for_size(1280, 960)).K)


def test_mirror_camera_refuses_a_tilted_sensor_model():
    cam = _camera(dist=(0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.01, 0.0))
    with pytest.raises(InputValueError, match="tilted"):
        mirror_camera(cam)


def test_boxes_and_faces_are_matched_across_the_flip():
    box = np.array([100.0, 50.0, 220.0, 200.0])
    np.testing.assert_allclose(mirror_box(mirror_box(box, 640), 640), box)
    frame = np.arange(2 * 3 * 3).reshape(2, 3, 3).astype(np.uint8)
    assert mirror_frame(frame).flags.c_contiguous and (mirror_frame(frame)[:, 0] == frame[:, 2]).all()

    class F:  # match_mirrored reads the box only
        def __init__(self, b):
            self.bbox = np.asarray(b, float)

    other, same = F([500, 60, 600, 180]), F(mirror_box(box + [3, 2, 3, 2], 640))
    assert match_mirrored(F(box), [other, same], 640) is same
    assert match_mirrored(F(box), [other], 640) is None and match_mirrored(F(box), [], 640) is None


class _Region:
    def __init__(self, side):
        self.side, self.R_norm = side, np.eye(3)


class _Face:
    eyes = (_Region("left"), _Region("right"))


def _gaze(left_py_deg, right_py_deg, fused_py_deg, origin=(5.0, -20.0, 600.0)) -> GazeResult:
    v = lambda py: pitchyaw_to_vector(np.radians(np.asarray(py, float)))  # noqa: E731
    eyes = tuple(EyeGaze(side, np.radians(np.asarray(py, float)), v(py)) for side, py in
                 (("left", left_py_deg), ("right", right_py_deg)))
    f = v(fused_py_deg)
    return GazeResult(eyes, f, vector_to_pitchyaw(f), np.array(origin, float))


def _deg(v):
    return np.degrees(vector_to_pitchyaw(np.asarray(v, float)))


def test_averaging_cancels_a_bias_that_goes_with_the_image_side():
    """The landmarker reads the eye on the image's left ``b`` degrees high, in the frame and in its mirror image alike.
    In the frame that is the subject's right eye; in the mirror image the subject's left eye, which the mirror's
    front-end calls "right". Averaged, both eyes carry ``b / 2``: their pitch difference (−b before) is gone, while
    each eye keeps its own yaw (the mirror's yaws come reflected and swapped) and the fused gaze its own."""
    p, b, yl, yr = -8.0, 1.2, -4.0, 6.0
    frame = _gaze((p, yl), (p + b, yr), (p + b / 2, 1.0))
    mirrored = _gaze((p, -yr), (p + b, -yl), (p + b / 2, -1.0), origin=(-5.0, -20.0, 600.0))
    avg = average_with_mirror(frame, mirrored, _Face())
    left, right = (_deg(e.vector_cam) for e in avg.eyes)
    before = _deg(frame.eyes[0].vector_cam)[0] - _deg(frame.eyes[1].vector_cam)[0]
    assert before == pytest.approx(-b)
    assert left[0] - right[0] == pytest.approx(0.0, abs=0.02)
    assert left[1] == pytest.approx(yl, abs=0.02) and right[1] == pytest.approx(yr, abs=0.02)
    np.testing.assert_allclose(_deg(avg.vector_cam), [p + b / 2, 1.0], atol=1e-9)
    np.testing.assert_allclose(np.degrees(avg.pitchyaw), _deg(avg.vector_cam), atol=1e-9)
    np.testing.assert_allclose(avg.origin_mm, [5.0, -20.0, 600.0])
    for e in avg.eyes:  # unit vectors; the normalised-space reading follows the camera one (R_norm = I here)
        assert np.linalg.norm(e.vector_cam) == pytest.approx(1.0)
        np.testing.assert_allclose(e.pitchyaw_norm, vector_to_pitchyaw(e.vector_cam), atol=1e-12)
    # a mirror reading that is the frame's exact reflection changes nothing
    same = average_with_mirror(frame, _gaze((p + b, -yr), (p, -yl), (p + b / 2, -1.0), (-5.0, -20.0, 600.0)), _Face())
    for e, f in zip(same.eyes, frame.eyes):
        assert angular_error_deg(e.vector_cam, f.vector_cam) < 1e-6


@pytest.fixture(scope="module")
def obama(media_dir):
    from gazezoom.io.readers import read_image

    return read_image(media_dir / "obama.jpg")


def _eyes(g) -> dict:
    return {e.side: np.asarray(e.vector_cam, float) for e in g.eyes}


def test_pipeline_mirror_averages_the_frame_and_its_flip(obama):
    """On a real face (MediaPipe, the shipped fusion stage): the mirror-averaged reading is the normalised mean of
    the plain readings of the still and of its flip (reflected, eyes swapped), computed independently; and the
    flipped still's mirror-averaged reading is the still's reflected."""
    pytest.importorskip("mediapipe")
    from gazezoom.build import build_pipeline

    flipped = mirror_frame(obama)
    with build_pipeline(mode="image") as plain:
        a, a_flip = plain.process(obama), plain.process(flipped)
    with build_pipeline(mode="image", mirror=True) as both:
        m, m_flip = both.process(obama), both.process(flipped)
    assert "mirror" in m.timings_ms and "mirror" not in a.timings_ms
    ea, ef, em = _eyes(a.gaze), _eyes(a_flip.gaze), _eyes(m.gaze)
    for side, other in (("left", "right"), ("right", "left")):
        want = ea[side] + MIRROR @ ef[other]
        np.testing.assert_allclose(em[side], want / np.linalg.norm(want), atol=1e-9)
        np.testing.assert_allclose(_eyes(m_flip.gaze)[other], MIRROR @ em[side], atol=1e-6)
    want = a.gaze.vector_cam + MIRROR @ a_flip.gaze.vector_cam
    np.testing.assert_allclose(m.gaze.vector_cam, want / np.linalg.norm(want), atol=1e-9)
    # the landmarker's image-side part of the two eyes' pitch difference is gone: on obama.jpg the plain reading
    # has left − right −0.59° and its flip −0.10° (measured); averaged, the still and its flip read ±0.24°
    d = lambda g: _deg(_eyes(g)["left"])[0] - _deg(_eyes(g)["right"])[0]  # noqa: E731
    assert d(m.gaze) == pytest.approx(-d(m_flip.gaze), abs=1e-4)
    assert abs(d(m.gaze)) < abs(d(a.gaze))
    # landmarks, head and pictures stay the frame's own
    np.testing.assert_array_equal(m.face.landmarks_px, a.face.landmarks_px)


def test_pipeline_mirror_with_an_off_centre_camera(obama):
    """A calibrated camera whose principal point is far off the frame's centre: the mirror pass must read the flipped
    frame through the mirrored camera. Then the average stays near the plain reading (measured 1–2°); through the
    same camera it would be off by the principal point's shift (~10°)."""
    pytest.importorskip("mediapipe")
    from gazezoom.build import build_pipeline

    H, W = obama.shape[:2]
    f = float(max(W, H))
    cam = Camera(np.array([[f, 0, 0.72 * W], [0, f, 0.5 * (H - 1)], [0, 0, 1]]), np.zeros(5), (W, H), False)
    with build_pipeline(mode="image", camera=cam) as plain, build_pipeline(mode="image", camera=cam, mirror=True) as both:
        a, m = plain.process(obama), both.process(obama)
    assert angular_error_deg(a.gaze.vector_cam, m.gaze.vector_cam) < 4.0
    with build_pipeline(mode="image", camera=cam) as wrong:  # the flip read through the unmirrored camera
        w = wrong.process(mirror_frame(obama))
    off = a.gaze.vector_cam + MIRROR @ w.gaze.vector_cam
    assert angular_error_deg(a.gaze.vector_cam, off / np.linalg.norm(off)) > 2 * angular_error_deg(
        a.gaze.vector_cam, m.gaze.vector_cam)


@pytest.mark.slow
def test_process_mirror_on_a_clip(media_dir, tmp_path, capsys):
    """``process --mirror`` on 20 frames of single_face.mp4 (shipped default stage): the same frames and faces as
    the plain run, the gaze within a few degrees of it, the two eyes' pitch difference smaller (the landmarker's
    image-side part, −0.4° on this clip, cancels), the sidecar records the option; ``--no-gaze`` is refused."""
    pytest.importorskip("mediapipe")
    from test_io import read_frames, write_video

    from gazezoom.cli import main

    clip = write_video(tmp_path / "c.mp4", read_frames(media_dir / "single_face.mp4")[:20])
    assert main(["process", "--quiet", str(clip), "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["process", "--quiet", str(clip), "--out", str(tmp_path / "m.csv"), "--mirror", "--overlap"]) == 0
    # both landmarkers one frame ahead in threads of their own (the mirror's flipping its frames itself) write
    # exactly what the one-thread loop writes
    assert main(["process", "--quiet", str(clip), "--out", str(tmp_path / "s.csv"), "--mirror", "--no-overlap"]) == 0
    assert (tmp_path / "m.csv").read_text() == (tmp_path / "s.csv").read_text()
    a, m = (list(csv.DictReader(open(tmp_path / n))) for n in ("a.csv", "m.csv"))
    assert [r["frame"] for r in a] == [r["frame"] for r in m] and [r["face"] for r in a] == [r["face"] for r in m]
    rows = [(ra, rm) for ra, rm in zip(a, m) if ra["gaze_pitch_deg"] and ra["gaze_held"] != "1"]
    assert len(rows) >= 15
    va = np.array([[float(r[f"gaze_{k}"]) for k in "xyz"] for r, _ in rows])
    vm = np.array([[float(r[f"gaze_{k}"]) for k in "xyz"] for _, r in rows])
    assert np.max(angular_error_deg(va, vm)) < 3.0 and np.max(angular_error_deg(va, vm)) > 0.0
    diff = lambda r: float(r["left_gaze_pitch_deg"]) - float(r["right_gaze_pitch_deg"])  # noqa: E731
    assert np.mean([abs(diff(r)) for _, r in rows]) < np.mean([abs(diff(r)) for r, _ in rows])
    side = json.loads((tmp_path / "m.csv.meta.json").read_text())
    assert side["settings"]["mirror"] is True
    assert "mirror" not in json.loads((tmp_path / "a.csv.meta.json").read_text())["settings"]
    capsys.readouterr()
    assert main(["process", "--quiet", str(clip), "--out", str(tmp_path / "n.csv"), "--mirror", "--no-gaze"]) == 2
    assert "--mirror" in capsys.readouterr().err


def test_eval_mirror_goes_with_the_scoreboard(capsys):
    from gazezoom.cli import main

    assert main(["eval", "--synthetic", "8", "--mirror"]) == InputValueError.exit_code
    assert "--mirror goes with the real-media scoreboard" in capsys.readouterr().err


def test_live_app_and_calibration_take_mirror(obama):
    """``demo --mirror`` / ``calibrate --mirror`` reach the live pipeline (``AppConfig.mirror``), which then runs the
    mirror pass on every frame."""
    pytest.importorskip("mediapipe")
    import argparse

    from gazezoom.commands import calibrate, demo
    from gazezoom.live.config import AppConfig, pipeline_factory

    def parser(module):
        p = argparse.ArgumentParser()
        module.add_arguments(p)
        return p

    assert parser(demo).parse_args(["--mirror"]).mirror and not parser(demo).parse_args([]).mirror
    assert parser(calibrate).parse_args(["--user", "a", "--mirror"]).mirror
    with pipeline_factory(AppConfig(mirror=True))() as pipe:
        r = pipe.process(obama)
    assert pipe.mirror is not None and r.gaze is not None and "mirror" in r.timings_ms
    with pipeline_factory(AppConfig())() as pipe:
        assert pipe.mirror is None


def test_pipeline_mirror_refuses_a_tilted_camera_with_a_clear_error():
    pytest.importorskip("mediapipe")
    from gazezoom.pipeline import Pipeline

    with pytest.raises(InputValueError, match="tilted sensor"):
        Pipeline(camera=_camera(dist=(0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.01, 0.0)), mirror=True)
