"""Front-end on real faces (../shared/media and scikit-image's astronaut): detection over videos, stable ids,
blinks, eye regions, left/right, head pose, mirroring, odd inputs. One landmarker per module where possible."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import read_frames

from gazezoom.errors import InputValueError, ShapeError
from gazezoom.face.eyes import frame_to_region
from gazezoom.face.headpose import pose_from_transform
from gazezoom.pipeline import Pipeline

FRONTAL = ["obama.jpg", "obama2.jpg", "obama3.jpg", "single_face.jpg"]


def _video_faces(frames, **kw):
    with Pipeline(mode="video", **kw) as pipe:
        return [pipe.process(f) for f in frames]


@pytest.fixture(scope="module")
def stills():
    with Pipeline(mode="image") as pipe:
        yield pipe


@pytest.fixture(scope="module")
def single_face_results(media_dir):
    return _video_faces(read_frames(media_dir / "single_face.mp4"))


def _angle_deg(a, b):
    return np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def _rot_angle_deg(R1, R2):
    return np.degrees(np.arccos(np.clip((np.trace(R1.T @ R2) - 1) / 2, -1, 1)))


def test_single_face_video_every_frame_stable_id(single_face_results):
    res = single_face_results
    assert len(res) == 72
    assert all(r.face is not None for r in res)
    assert len({r.face.track_id for r in res}) == 1
    assert all(len(r.others) == 0 for r in res)
    assert [r.index for r in res] == list(range(72))
    assert all(r.timings_ms["landmarks"] > 0 and r.timings_ms["total"] >= r.timings_ms["frontend"] for r in res)


def test_blink_in_single_face_video(single_face_results):
    """The man blinks once, around frames 26-28 (eye aspect ratio 0.06, see ../shared/media): hysteresis makes it
    one contiguous run, and no other frame is a blink."""
    blink = np.array([r.face.blink for r in single_face_results])
    frames = np.flatnonzero(blink)
    assert 2 <= len(frames) <= 5, frames
    assert frames.min() >= 24 and frames.max() <= 30 and np.all(np.diff(frames) == 1)
    open_ = [min(e.openness for e in r.face.eyes) for i, r in enumerate(single_face_results) if abs(i - 27) > 5]
    assert min(open_) > 0.5


def test_head_pose_pnp_agrees_with_mediapipe_matrix(single_face_results):
    for r in single_face_results:
        K = np.array([[640.0, 0, 319.5], [0, 640, 179.5], [0, 0, 1]])  # the default camera for 640x360
        R2, t2 = pose_from_transform(r.face.transform, K, r.frame_size)
        assert _rot_angle_deg(r.face.head.rotation, R2) < 5.0
        assert abs(r.face.head.translation_mm[2] - t2[2]) < 0.1 * t2[2]
        assert 300 < r.face.head.translation_mm[2] < 1200  # a webcam user, in mm


def test_no_face_video(media_dir):
    res = _video_faces(read_frames(media_dir / "no_face.mp4"))
    assert len(res) > 50 and all(r.face is None and r.others == () for r in res)


@pytest.mark.parametrize("name,first_face,expect_before", [("face_noface.mov", 72, True), ("noface_face.mov", 96, False)])
def test_face_leaves_or_enters_once(media_dir, name, first_face, expect_before):
    """The scene cuts at one frame (72 resp. 96); the face state changes exactly once, within 2 frames of it.
    (noface_face.mov ends with one all-black frame: black frames have no face and are left out of the count.)"""
    frames = read_frames(media_dir / name)
    black = np.array([f.mean() < 1 for f in frames])
    has = np.array([r.face is not None for r in _video_faces(frames)])
    assert not has[black].any()
    has = has[~black]
    changes = np.flatnonzero(np.diff(has.astype(int)))
    assert len(changes) == 1, changes
    assert abs(changes[0] + 1 - first_face) <= 2
    assert has[0] == expect_before


@pytest.mark.parametrize("name", FRONTAL + ["astronaut.png", "obama_partial_face.jpg"])
def test_eye_regions_on_stills(stills, media_dir, name):
    img = cv2.imread(str(media_dir / name))
    r = stills.process(img)
    face = r.face
    assert face is not None, name
    left, right = face.eyes
    assert (left.side, right.side) == ("left", "right")
    # not swapped: in an unmirrored photo the subject's left eye is on the image's right
    assert left.iris_px[0] > right.iris_px[0]
    for eye in face.eyes:
        uv = frame_to_region(eye.region_to_frame, np.vstack([eye.iris_px, eye.corners_px]))
        assert np.all(np.abs(uv[0]) < 0.5), (name, eye.side, uv)  # the iris is well inside its region
        # nasal (inner) corner on the patch's left for both eyes (right eye mirrored), outer on the right
        assert -0.9 < uv[1, 0] < -0.2 and 0.2 < uv[2, 0] < 0.9, (name, eye.side, uv)
        assert np.all(np.abs(uv[1:, 1]) < 0.3)
        assert np.allclose(eye.R_norm @ eye.R_norm.T, np.eye(3), atol=1e-9)


@pytest.mark.parametrize("name", FRONTAL)
def test_frontal_photos_face_the_camera(stills, media_dir, name):
    """Faces looking toward the camera: the head's forward direction is within 22° of the ray to the camera."""
    face = stills.process(cv2.imread(str(media_dir / name))).face
    fwd = -face.head.rotation[:, 2]
    assert _angle_deg(fwd, -face.head.translation_mm) < 22.0
    assert abs(face.head.roll_deg) < 10


@pytest.mark.parametrize("name", ["obama.jpg", "obama2.jpg", "single_face.jpg"])
def test_mirroring_mirrors_yaw_and_roll(stills, media_dir, name):
    img = cv2.imread(str(media_dir / name))
    a = stills.process(img).face.head
    b = stills.process(np.ascontiguousarray(img[:, ::-1])).face.head
    assert abs(a.yaw_deg + b.yaw_deg) < 3.0 and abs(a.roll_deg + b.roll_deg) < 2.0 and abs(a.pitch_deg - b.pitch_deg) < 3.0
    if abs(a.yaw_deg) > 5:
        assert np.sign(a.yaw_deg) != np.sign(b.yaw_deg)


def test_normalised_patches_look_like_eyes(stills, media_dir):
    """The darkest blob of each normalised patch (pupil/iris) is near the iris landmark's place in the patch,
    and the sampler reads the same pixels as OpenCV's warp through the same homography."""
    from gazezoom.commands.inspect import eye_patches

    img = cv2.imread(str(media_dir / "obama.jpg"))
    face = stills.process(img).face
    h, w = 36, 60
    patches = eye_patches(img, face, (h, w))
    for eye, patch in zip(face.eyes, patches):
        A = np.array([[2 / (w - 1), 0, -1], [0, 2 / (h - 1), -1], [0, 0, 1]])  # patch px → region (align_corners)
        ref = cv2.warpPerspective(img, eye.region_to_frame @ A, (w, h), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
        assert np.abs(ref.astype(int) - patch.astype(int)).mean() < 2.0
        gray = cv2.GaussianBlur(cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32), (7, 7), 0)
        y, x = np.unravel_index(np.argmin(gray), gray.shape)
        u, v = frame_to_region(eye.region_to_frame, eye.iris_px[None])[0]
        ix, iy = (u + 1) * (w - 1) / 2, (v + 1) * (h - 1) / 2
        assert np.hypot(x - ix, y - iy) < 6, (eye.side, (x, y), (ix, iy))


def test_input_formats_agree(stills, media_dir):
    img = cv2.imread(str(media_dir / "single_face.jpg"))
    ref = stills.process(img).face.landmarks_px[:, :2]
    variants = {
        "gray": cv2.cvtColor(img, cv2.COLOR_BGR2GRAY),
        "bgra": cv2.cvtColor(img, cv2.COLOR_BGR2BGRA),
    }
    for name, frame in variants.items():
        face = stills.process(frame).face
        assert face is not None, name
        assert np.median(np.linalg.norm(face.landmarks_px[:, :2] - ref, axis=1)) < 3.0, name
    with Pipeline(mode="image", color="rgb") as rgb_pipe:
        face = rgb_pipe.process(np.ascontiguousarray(img[:, :, ::-1])).face
    assert np.median(np.linalg.norm(face.landmarks_px[:, :2] - ref, axis=1)) < 0.5


def test_astronaut_from_skimage_rgb():
    """No shared/ needed: scikit-image's astronaut (RGB, eyes ≈ 18 px)."""
    from skimage import data

    with Pipeline(mode="image", color="rgb") as pipe:
        r = pipe.process(data.astronaut())
    assert r.face is not None and r.frame_size == (512, 512)
    assert r.face.eyes[0].iris_px[0] > r.face.eyes[1].iris_px[0]


def test_odd_sizes_portrait_4k_tiny_border_and_empty(stills, media_dir):
    img = cv2.imread(str(media_dir / "single_face.jpg"))
    odd = cv2.resize(img, (641, 479))
    r = stills.process(odd)
    assert r.face is not None and r.frame_size == (479, 641)
    portrait = np.ascontiguousarray(cv2.resize(img, (480, 854)))
    assert stills.process(portrait).face is not None
    big = cv2.resize(img, (3840, 2160))
    r = stills.process(big)
    assert r.face is not None and r.face.bbox[2] > 1000  # pixels of the 4K frame, not of a downscaled copy
    tiny = cv2.resize(img, (48, 47))  # face too small to find or barely found: never a crash
    r = stills.process(tiny)
    assert r.face is None or r.face.landmarks_px.shape == (478, 3)
    cut = np.ascontiguousarray(img[:, : img.shape[1] // 2 + 20])  # face cut by the right border
    r = stills.process(cut)
    assert r.face is None or np.isfinite(r.face.head.translation_mm).all()
    assert stills.process(np.zeros((1, 1, 3), np.uint8)).face is None
    assert stills.process(np.zeros((480, 640, 3), np.uint8)).face is None
    with pytest.raises(InputValueError, match="uint8"):
        stills.process(img.astype(np.float32))
    with pytest.raises(ShapeError):
        stills.process(np.zeros((4, 4, 4, 3), np.uint8))


def test_several_faces_primary_stays(media_dir):
    """Synthetic scene from real photos: the user in the middle, then a larger passer-by at the side."""
    user = cv2.resize(cv2.imread(str(media_dir / "single_face.jpg")), (450, 442))  # face ≈ 144 px wide
    passer = cv2.resize(cv2.imread(str(media_dir / "obama2.jpg"))[200:750], (400, 351))  # face ≈ 182 px wide
    canvas = np.full((720, 1280, 3), 90, np.uint8)
    canvas[139:581, 415:865] = user
    scene2 = canvas.copy()
    scene2[20:371, 10:410] = passer
    with Pipeline(mode="video") as pipe:
        first = [pipe.process(canvas) for _ in range(3)]
        later = [pipe.process(scene2) for _ in range(6)]
    uid = first[0].face.track_id
    assert all(r.face.track_id == uid for r in first + later)
    assert all(abs((r.face.bbox[0] + r.face.bbox[2]) / 2 - 640) < 100 for r in later)  # still the central user
    assert any(len(r.others) == 1 and r.others[0].track_id != uid for r in later)
    with Pipeline(mode="video") as pipe:  # both present from the start: the central user wins over the larger side face
        r = pipe.process(scene2)
    assert abs((r.face.bbox[0] + r.face.bbox[2]) / 2 - 640) < 100 and len(r.others) == 1


@pytest.mark.parametrize("name", ["obama.jpg", "obama3.jpg", "astronaut.png"])
def test_mirrored_right_patch_matches_the_left_patch(stills, media_dir, name):
    """Right-eye patches are mirrored to look like left eyes: the left patch correlates better with the right patch
    as delivered than with it flipped back (nasal corners on the same side). Near-frontal photos only: with a
    turned head the two eyes' shading differs more than their shape."""
    from gazezoom.commands.inspect import eye_patches

    img = cv2.imread(str(media_dir / name))
    left, right = (cv2.cvtColor(p, cv2.COLOR_BGR2GRAY).astype(float) for p in eye_patches(img, stills.process(img).face, (36, 60)))

    def ncc(a, b):
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    assert ncc(left, right) > ncc(left, right[:, ::-1]) + 0.1


def test_tiles_find_the_small_faces_of_a_group_photo(media_dir):
    """multi_face.jpg: the whole frame gives MediaPipe's short-range detector no face; a 2x2 window search finds the
    five people (checked by eye in the inspect picture), each once; a one-face portrait stays one face."""
    from gazezoom.face.frontend import FrontEnd

    img = cv2.imread(str(media_dir / "multi_face.jpg"))
    with FrontEnd(mode="image") as fe:
        face, others, _ = fe.process(img)
        assert face is None and not others
    with FrontEnd(mode="image", tiles=2) as fe:
        face, others, _ = fe.process(img)
        faces = [face, *others]
        assert face is not None and len(faces) == 5
        noses = np.array([f.landmarks_px[1, :2] for f in faces])
        gaps = np.linalg.norm(noses[:, None] - noses[None], axis=-1) + np.eye(5) * 1e9
        assert gaps.min() > 60  # five different people, no face counted twice
        assert all(f.head.translation_mm[2] > 800 for f in faces)  # small faces: far from the camera (1.5-1.9 m)
        face, others, _ = fe.process(cv2.imread(str(media_dir / "obama.jpg")))
        assert face is not None and not others


def test_tiles_are_for_stills_only():
    from gazezoom.face.frontend import FrontEnd

    with pytest.raises(InputValueError, match="stills"):
        FrontEnd(mode="video", tiles=2)
    with pytest.raises(InputValueError, match="tiles must be"):
        FrontEnd(mode="image", tiles=9)
