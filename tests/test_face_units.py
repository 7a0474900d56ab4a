"""Front-end pieces that need neither MediaPipe inference nor shared media: geometry, tracking, blinks, camera."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gazezoom.errors import InputValueError, MediaError, ModelFileError, ShapeError
from gazezoom.face.camera import default_camera, load_camera, save_camera
from gazezoom.face.canonical import load_canonical_face
from gazezoom.face.eyes import (
    EYE_LANDMARKS,
    BlinkHysteresis,
    frame_to_region,
    normalised_to_camera,
    normalising_rotation,
    openness_from_ear,
    region_to_frame,
)
from gazezoom.face.headpose import head_pose, pose_from_landmarks, rotation_to_angles
from gazezoom.face.landmarker import DEFAULT_MODEL_PATH, create_landmarker, to_rgb
from gazezoom.face.tracking import FaceTracker, dedupe, iou
from gazezoom.geometry import REGION_MM


def _rot(axis: str, deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


def test_canonical_face_from_bundle():
    m = load_canonical_face(str(DEFAULT_MODEL_PATH))
    assert m.points_mm.shape == (468, 3)
    L, R = EYE_LANDMARKS["left"], EYE_LANDMARKS["right"]
    # subject's left eye is on +x (image right of a frontal face), symmetric to the right eye
    assert m.points_mm[L["outer"], 0] > m.points_mm[L["inner"], 0] > 0 > m.points_mm[R["inner"], 0] > m.points_mm[R["outer"], 0]
    np.testing.assert_allclose(m.points_mm[L["outer"]] * [-1, 1, 1], m.points_mm[R["outer"]], atol=1e-4)
    eye_width = np.linalg.norm(m.points_mm[L["outer"]] - m.points_mm[L["inner"]])
    assert 20 < eye_width < 35  # mm: an adult eye is about 28-30 mm corner to corner
    assert m.points_mm[1, 2] < m.points_mm[L["outer"], 2]  # nose tip is closer to the camera (z forward) than the eye corners
    assert 20 <= len(m.rigid_ids) <= 100 and np.all(m.rigid_weights > 0)


def test_corrupt_or_missing_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "face_landmarker.task"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match="corrupt"):
        create_landmarker("mediapipe", model_path=bad)
    with pytest.raises(ModelFileError, match="not found"):
        create_landmarker("mediapipe", model_path=tmp_path / "missing.task")
    with pytest.raises(ModelFileError, match="canonical face"):
        load_canonical_face(str(bad))


def test_to_rgb_formats_and_errors():
    bgr = np.zeros((5, 7, 3), np.uint8)
    bgr[..., 0] = 200  # blue
    assert to_rgb(bgr)[0, 0].tolist() == [0, 0, 200]
    assert to_rgb(bgr, "rgb")[0, 0].tolist() == [200, 0, 0]
    bgra = np.dstack([bgr, np.full((5, 7), 9, np.uint8)])
    assert to_rgb(bgra).shape == (5, 7, 3) and to_rgb(bgra)[0, 0].tolist() == [0, 0, 200]
    assert to_rgb(np.full((5, 7), 77, np.uint8))[0, 0].tolist() == [77, 77, 77]
    with pytest.raises(InputValueError, match="uint8"):
        to_rgb(np.zeros((5, 7, 3), np.float32))
    with pytest.raises(InputValueError, match="color"):
        to_rgb(bgr, "hsv")
    with pytest.raises(Exception, match="expected shape"):
        to_rgb(np.zeros((5, 7, 2), np.uint8))
    with pytest.raises(Exception, match="expected shape"):
        to_rgb(np.zeros((0, 7, 3), np.uint8))


def test_rotation_angles_signs():
    # head turned toward the camera's left (subject's right): yaw > 0, like the gaze convention
    p, y, r = rotation_to_angles(_rot("y", 20))
    assert y == pytest.approx(np.radians(20)) and abs(p) < 1e-9 and abs(r) < 1e-9
    p, y, r = rotation_to_angles(_rot("x", -15))  # chin up (forward vector tilts toward -y, up)
    assert p == pytest.approx(np.radians(15))
    p, y, r = rotation_to_angles(_rot("z", 10))  # clockwise in the image (x axis toward +y)
    assert r == pytest.approx(np.radians(10)) and abs(y) < 1e-9


def test_pnp_recovers_a_synthetic_pose():
    """Project the canonical model with a known pose (synthetic), solve it back."""
    m = load_canonical_face(str(DEFAULT_MODEL_PATH))
    cam = default_camera(1280, 720)
    R = _rot("y", 12) @ _rot("x", -8) @ _rot("z", 5)
    t = np.array([40.0, -30.0, 600.0])
    q = (m.points_mm @ R.T + t) @ cam.K.T
    px = np.concatenate([q[:, :2] / q[:, 2:], np.zeros((468, 1))], 1)
    R2, t2 = pose_from_landmarks(px, cam, m)
    np.testing.assert_allclose(R2, R, atol=1e-4)
    np.testing.assert_allclose(t2, t, atol=0.05)


def test_normalisation_and_region_homography():
    K = default_camera(1280, 720).K
    c = np.array([30.0, -20.0, 550.0])
    head = _rot("z", 20) @ _rot("y", 10)
    Rn = normalising_rotation(c, head)
    np.testing.assert_allclose(Rn @ Rn.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(Rn) == pytest.approx(1.0)
    np.testing.assert_allclose(Rn[2], c / np.linalg.norm(c))
    assert Rn[0] @ head[:, 0] > 0.9  # x_n follows the head's x axis
    for side in ("left", "right"):
        H = region_to_frame(K, Rn, c, side)
        centre = K @ c
        np.testing.assert_allclose(frame_to_region(H, (centre[:2] / centre[2])[None]), [[0, 0]], atol=1e-9)
        # the region's corners are REGION_MM apart in the plane through c: back-project and measure
        corners = np.array([[1, 1], [-1, 1], [-1, -1]], float)
        q = np.concatenate([corners, np.ones((3, 1))], 1) @ H.T
        rays = np.linalg.solve(K, q.T).T  # (3, 3) directions; scale them onto the plane through c normal to z_n
        pts = rays * ((c @ Rn[2]) / (rays @ Rn[2]))[:, None]
        assert np.linalg.norm(pts[0] - pts[1]) == pytest.approx(REGION_MM[1])
        assert np.linalg.norm(pts[1] - pts[2]) == pytest.approx(REGION_MM[0])
    # the right eye is mirrored: u runs the other way along x_n
    Hl, Hr = region_to_frame(K, Rn, c, "left"), region_to_frame(K, Rn, c, "right")
    p = np.array([[0.5, 0.2]])
    np.testing.assert_allclose(frame_to_region(Hr, frame_to_region(np.linalg.inv(Hl), p)), [[-0.5, 0.2]], atol=1e-9)
    with pytest.raises(InputValueError, match="side"):
        region_to_frame(K, Rn, c, "middle")


def test_normalised_gaze_back_to_camera():
    c = np.array([0.0, 0.0, 600.0])
    Rn = normalising_rotation(c, _rot("z", 30))
    g_cam = np.array([0.2, -0.1, -0.97])
    g_cam /= np.linalg.norm(g_cam)
    g_left = Rn @ g_cam
    np.testing.assert_allclose(normalised_to_camera(g_left, Rn, "left"), g_cam, atol=1e-12)
    g_right_patch = g_left * [-1, 1, 1]  # what a network sees on the mirrored patch
    np.testing.assert_allclose(normalised_to_camera(g_right_patch, Rn, "right"), g_cam, atol=1e-12)


def test_blink_hysteresis_and_openness():
    assert openness_from_ear(0.0) == 0.0 and openness_from_ear(1.0) == 1.0
    h = BlinkHysteresis(0.25, 0.45)
    seq = [1.0, 0.3, 0.2, 0.3, 0.44, 0.46, 0.3, 0.24]
    assert [h.update(o) for o in seq] == [False, False, True, True, True, False, False, True]
    with pytest.raises(InputValueError):
        BlinkHysteresis(0.5, 0.4)


def test_tracker_keeps_ids_and_primary():
    assert iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10]]))[0, 0] == pytest.approx(1)
    assert dedupe(np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]])).tolist() == [0, 2]
    tr = FaceTracker(max_missing=2)
    user = np.array([300.0, 150, 400, 280])
    ids, primary = tr.update(user[None], (480, 640))
    assert primary == 0
    uid = int(ids[0])
    # a larger passer-by walks in beside the user: the primary stays the user
    for k in range(5):
        passer = np.array([20.0 + 10 * k, 50, 260 + 10 * k, 400])
        ids, primary = tr.update(np.stack([passer, user + k]), (480, 640))
        assert int(ids[primary]) == uid and int(ids[0]) != uid
    # a track missing for up to max_missing frames stays live (its blink state is kept by the front-end)
    tr2 = FaceTracker(max_missing=2)
    (tid,), _ = tr2.update(user[None], (480, 640))
    tr2.update(np.zeros((0, 4)), (480, 640))
    tr2.update(np.zeros((0, 4)), (480, 640))
    assert tr2.live_ids() == [int(tid)]
    tr2.update(np.zeros((0, 4)), (480, 640))
    assert tr2.live_ids() == []
    # the user leaves for longer than max_missing frames: the passer-by becomes primary
    for _ in range(4):
        ids, primary = tr.update(passer[None], (480, 640))
    assert primary == 0 and tr.primary_id == int(ids[0]) != uid
    ids, primary = tr.update(np.zeros((0, 4)), (480, 640))
    assert len(ids) == 0 and primary is None
    with pytest.raises(ShapeError, match=r"\(N, 4\)"):
        tr.update(np.zeros((3, 3)), (480, 640))


def test_camera_files(tmp_path):
    cam = default_camera(640, 480)
    assert cam.is_default and cam.K[0, 0] == 640 and cam.for_size(1280, 720).K[0, 2] == pytest.approx(639.5)
    calib = type(cam)(np.array([[800.0, 0, 320], [0, 800, 240], [0, 0, 1]]), np.array([0.1, -0.2, 0, 0, 0]), (640, 480))
    save_camera(calib, tmp_path / "cam.json")
    back = load_camera(tmp_path / "cam.json")
    np.testing.assert_allclose(back.K, calib.K)
    np.testing.assert_allclose(back.for_size(1280, 960).K[0], [1600, 0, 640.5])  # pixel centres at integers
    with pytest.raises(InputValueError, match="aspect ratio"):
        back.for_size(1280, 720)
    import cv2

    fs = cv2.FileStorage(str(tmp_path / "cam.yml"), cv2.FILE_STORAGE_WRITE)
    fs.write("image_width", 640)
    fs.write("image_height", 480)
    fs.write("camera_matrix", calib.K)
    fs.write("distortion_coefficients", calib.dist.reshape(1, 5))
    fs.release()
    yml = load_camera(tmp_path / "cam.yml")
    np.testing.assert_allclose(yml.K, calib.K)
    np.testing.assert_allclose(yml.dist, calib.dist)
    (tmp_path / "bad.json").write_text(json.dumps({"camera_matrix": [[1, 2], [3, 4]], "image_size": [640, 480]}))
    with pytest.raises(MediaError, match="3x3"):
        load_camera(tmp_path / "bad.json")
    with pytest.raises(MediaError, match="not found"):
        load_camera(tmp_path / "none.json")


def test_head_pose_dataclass():
    hp = head_pose(_rot("y", 20), np.array([0, 0, 500.0]))
    assert hp.yaw_deg == pytest.approx(20) and hp.translation_mm.shape == (3,)


def test_landmarker_states_and_bad_frames():
    from gazezoom.errors import ShapeError, StateError, UnknownNameError

    with pytest.raises(UnknownNameError, match="mediapipe"):
        create_landmarker("dlib")
    with pytest.raises(InputValueError, match="mode"):
        create_landmarker("mediapipe", mode="live")
    lm = create_landmarker("mediapipe", mode="image")
    with pytest.raises(ShapeError, match="uint8 RGB"):
        lm.detect(np.zeros((8, 8), np.uint8))
    assert lm.detect(np.zeros((64, 64, 3), np.uint8)) == []
    lm.close()
    with pytest.raises(StateError, match="closed"):
        lm.detect(np.zeros((64, 64, 3), np.uint8))


def test_to_rgb_reuses_a_buffer_but_never_the_callers_frame():
    bgr = np.random.default_rng(0).integers(0, 255, (6, 9, 3), dtype=np.uint8)
    buf = np.empty((6, 9, 3), np.uint8)
    out = to_rgb(bgr, out=buf)
    assert out is buf and np.array_equal(out, bgr[:, :, ::-1])
    assert to_rgb(bgr, out=np.empty((5, 9, 3), np.uint8)).shape == (6, 9, 3)  # wrong size: a fresh array


def test_frontend_does_not_write_into_input_frames():
    from gazezoom.face.frontend import FrontEnd

    rgb = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    keep = rgb.copy()
    with FrontEnd(mode="image", color="rgb") as fe:
        fe.process(rgb)
        fe.process(np.zeros((40, 60), np.uint8))  # gray → RGB conversion must not land in the previous frame
        fe.process(np.zeros((40, 60, 4), np.uint8))
    assert np.array_equal(rgb, keep)


def test_aperture_over_iris_on_constructed_landmarks():
    """Widest lid gap over the iris diameter; an iris with no size is NaN, not a division error."""
    from gazezoom.face.eyes import EYE_LANDMARKS, aperture_over_iris

    for side, ids in EYE_LANDMARKS.items():
        lm = np.zeros((478, 3))
        c = ids["iris"]
        lm[c] = (100, 50, 0)
        lm[c + 1 : c + 5, :2] = [(105, 50), (100, 45), (95, 50), (100, 55)]  # rim: diameter 10
        for (up, lo), gap in zip(ids["lids"], (4.0, 6.0, 5.0)):
            lm[up, :2] = (100, 50 - gap / 2)
            lm[lo, :2] = (100, 50 + gap / 2)
        assert aperture_over_iris(lm, side) == pytest.approx(0.6)
        lm[c + 1 : c + 5] = lm[c]
        assert np.isnan(aperture_over_iris(lm, side))
