"""Gaze stages without (geometric) and with a learned landmark (pupil): the eyeball model's conventions on renders
with exact labels, real faces through MediaPipe, and pupil-model training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gazezoom.commands.train import TrainConfig, train_variant
from gazezoom.errors import UnknownNameError, WeightsMismatchError
from gazezoom.face.frontend import FrontEnd
from gazezoom.geometry import angular_error_deg, vector_to_pitchyaw
from gazezoom.io.readers import read_image
from gazezoom.models import read_sidecar
from gazezoom.models.checkpoint import save_weights
from gazezoom.models.geometric import PupilGaze, render_pupil_gaze
from gazezoom.models.predictor import GazePredictor
from gazezoom.models.stages import GAZE_STAGES, build_gaze_stage, stage_identity
from gazezoom.models.variants import ModelConfig, build_model
from gazezoom.synth import EyeRenderer
from gazezoom.synth.scene import pupil_uv


def test_eyeball_model_reads_true_pupils_of_renders_as_their_gaze():
    """The renderer's exact pupil positions through the eyeball model give back the label gaze up to the spread of
    the rendered anatomy (eyeball position, kappa): no sign or axis error, no bias."""
    p = EyeRenderer((32, 48)).sample_params(256, seed=3, split="test")
    py = render_pupil_gaze(pupil_uv(p).numpy(), p.head.numpy())
    label = p.gaze.double().numpy()
    err = angular_error_deg(py, label)
    bias = np.degrees((py - label).mean(0))
    assert np.median(err) < 7.0, np.median(err)
    assert np.all(np.abs(bias) < 1.5), bias
    # gaze moves with the pupil: up/down and left/right are not swapped or flipped
    assert np.corrcoef(py[:, 0], label[:, 0])[0, 1] > 0.9 and np.corrcoef(py[:, 1], label[:, 1])[0, 1] > 0.95


@pytest.fixture(scope="module")
def portrait_faces(media_dir):
    """obama.jpg (looks into the camera) and its mirror image, with their faces."""
    img = read_image(media_dir / "obama.jpg")
    mirror = np.ascontiguousarray(img[:, ::-1])
    with FrontEnd(mode="image") as fe:
        return [(f, fe.process(f)[0]) for f in (img, mirror)]


def test_eyeball_reliability_falls_towards_the_silhouette():
    """cos² β: 1 for an iris seen straight on, falling as the eye turns towards its silhouette from the camera's view,
    0 for a ray that misses the sphere; the fused gaze weights the eyes by it (times openness)."""
    from gazezoom.models.geometric import IRIS_SPHERE_MM, eyeball_fit
    from gazezoom.models.predictor import fuse_eyes

    R, mid = np.eye(3), np.array([0.0, 0.0, 600.0])
    E = mid + np.array([0.0, -1.0, 9.75])  # EYEBALL_OFFSET_MM, head = camera axes
    rel = []
    for turn in (0.0, 30.0, 60.0, 80.0):
        a = np.radians(turn)
        iris = E + IRIS_SPHERE_MM * np.array([np.sin(a), 0.0, -np.cos(a)])  # the iris on the sphere, turned aside
        rel.append(eyeball_fit(iris, mid, R, "left")[1])
    assert rel[0] > 0.99 and rel[0] > rel[1] > rel[2] > rel[3] >= 0.0
    np.testing.assert_allclose(rel[1], np.cos(np.radians(30.0)) ** 2, atol=0.02)  # camera ~straight ahead
    miss = eyeball_fit(E + np.array([2 * IRIS_SPHERE_MM, 0.0, 0.0]), mid, R, "left")[1]
    assert miss == 0.0
    # the less reliable eye counts less: the fused vector sits nearer the reliable one
    a, b = np.array([0.0, 0.0, -1.0]), np.array([np.sin(0.5), 0.0, -np.cos(0.5)])
    even = fuse_eyes(np.stack([a, b]), np.ones(2))
    weighted = fuse_eyes(np.stack([a, b]), np.ones(2), np.array([1.0, 0.25]))
    assert weighted @ a > even @ a


def test_an_eye_no_eyeball_can_show_has_no_weight_and_two_give_no_gaze():
    """An eye whose iris ray misses the eyeball (reliability exactly 0) weighs 0 in the fused gaze — not the 0.05
    floor of a closed or barely readable eye — and a face with no readable eye, or whose fused gaze points away from
    the camera (no pupil is visible then), raises UnreadableEyesError: the pipeline shows such a face without gaze."""
    from types import SimpleNamespace as NS

    from gazezoom.errors import NoFaceError, UnreadableEyesError
    from gazezoom.models.predictor import fuse_eyes, fused_result

    a, b = np.array([0.0, 0.0, -1.0]), np.array([np.sin(0.5), 0.0, -np.cos(0.5)])
    np.testing.assert_allclose(fuse_eyes(np.stack([a, b]), np.ones(2), np.array([1.0, 0.0])), a, atol=1e-12)
    assert fuse_eyes(np.stack([a, b]), np.ones(2), np.array([1.0, 1e-4])) @ b > np.cos(0.5) + 1e-3  # floor 0.05
    with pytest.raises(UnreadableEyesError, match="sunglasses"):
        fuse_eyes(np.stack([a, b]), np.ones(2), np.zeros(2))
    assert issubclass(UnreadableEyesError, NoFaceError)
    eyes = [NS(openness=1.0, center_mm=np.array([x, 0.0, 600.0])) for x in (30.0, -30.0)]
    toward = [NS(vector_cam=v) for v in (a, a)]
    assert fused_result(eyes, toward).vector_cam @ a > 0.999
    away = np.array([0.0, np.sin(0.2), np.cos(0.2)])  # +z: away from a camera 600 mm in front of the eyes
    with pytest.raises(UnreadableEyesError, match="away from the camera"):
        fused_result(eyes, [NS(vector_cam=away), NS(vector_cam=away)])


def test_stages_read_the_iris_circle_centre_not_the_centre_point(portrait_faces):
    """MediaPipe's iris centre, for every stage, is the centre of its four rim points (face.eyes.iris_centre_px):
    moving its separate centre point changes nothing; moving the rim moves the gaze and the face's iris_px."""
    import dataclasses

    from gazezoom.face.eyes import EYE_LANDMARKS, iris_centre_px

    (img, face), _ = portrait_faces
    for e in face.eyes:
        np.testing.assert_allclose(e.iris_px, iris_centre_px(face.landmarks_px, e.side))
    L = np.array(face.landmarks_px, float, copy=True)
    i = EYE_LANDMARKS["left"]["iris"]
    stages = [build_gaze_stage("geometric"), build_gaze_stage("fusion")]
    base = [s.predict(img, face, display=False).eyes[0].vector_cam for s in stages]
    L[i, 1] += 3.0  # the centre point alone, 3 px down
    moved = dataclasses.replace(face, landmarks_px=L.copy())
    for s, b in zip(stages, base):
        np.testing.assert_allclose(s.predict(img, moved, display=False).eyes[0].vector_cam, b, atol=1e-12)
    L[i + 1 : i + 5, 1] += 3.0  # the rim, 3 px down: the eye looks lower
    moved = dataclasses.replace(face, landmarks_px=L)
    for s, b in zip(stages, base):
        pitch_before = np.degrees(vector_to_pitchyaw(b))[0]
        pitch_after = np.degrees(vector_to_pitchyaw(s.predict(img, moved, display=False).eyes[0].vector_cam))[0]
        assert pitch_after < pitch_before - 1.0, (s.name, pitch_before, pitch_after)


def test_geometric_stage_on_a_real_portrait(portrait_faces):
    (img, face), (mimg, mface) = portrait_faces
    stage = build_gaze_stage("geometric")
    g, gm = stage.predict(img, face), stage.predict(mimg, mface)
    to_cam = -g.origin_mm / np.linalg.norm(g.origin_mm)
    assert angular_error_deg(g.vector_cam, to_cam) < 15.0  # he looks into the camera
    (pl, yl), (pr, yr) = (np.degrees(vector_to_pitchyaw(e.vector_cam)) for e in g.eyes)
    assert abs(pl - pr) < 3.0  # the two eyes read alike
    assert abs(np.degrees(g.pitchyaw[1] + gm.pitchyaw[1])) < 4.0  # a mirrored face mirrors the yaw
    assert [e.side for e in g.eyes] == ["left", "right"] and g.eyes[0].sample is None


def test_stage_registry_names_and_identities():
    assert {"network", "geometric", "pupil"} <= set(GAZE_STAGES.names())
    assert stage_identity("geometric").startswith("gaze_geometric@")
    with pytest.raises(UnknownNameError, match="geometric"):
        build_gaze_stage("nope")


def _tiny_model(tmp_path, output):
    torch.manual_seed(0)
    cfg = ModelConfig(variant="sampler@P", patch=(8, 12), region_size=(32, 48), low_size=(8, 12), grid_size=11,
                      fwhm=5.0, output=output)
    w, _ = save_weights(build_model(cfg), tmp_path / f"{output}_sampler_P", step=0)
    return w


def test_pupil_stage_maps_the_predicted_pupil_back_into_the_frame(tmp_path, portrait_faces):
    (img, face), _ = portrait_faces
    stage = build_gaze_stage("pupil", weights=_tiny_model(tmp_path, "pupil"), backend="torch")
    g = stage.predict(img, face)
    assert np.all(np.isfinite(g.vector_cam)) and abs(np.linalg.norm(g.vector_cam) - 1) < 1e-9
    assert g.eyes[0].sample is not None and g.eyes[0].sample.patch.shape[:2] == (8, 12)  # the zoomed patch it read
    with pytest.raises(WeightsMismatchError, match="--output pupil"):
        PupilGaze(GazePredictor.from_weights(_tiny_model(tmp_path, "gaze"), backend="torch"))
    # the other way round: a pupil locator's (u, v) is no (pitch, yaw) for the direct-network stage
    with pytest.raises(WeightsMismatchError, match="--gaze fusion"):
        build_gaze_stage("network", weights=_tiny_model(tmp_path, "pupil"), backend="torch").predict(img, face)


@pytest.mark.slow
def test_training_a_pupil_model_writes_pupil_weights_and_scores_them_as_gaze(tmp_path):
    torch.set_num_threads(1)
    cfg = TrainConfig(steps=30, batch_size=16, lr=3e-3, dataset="synthetic", val_n=32, eval_every=30, log_every=10)
    small = dict(patch=(8, 12), region_size=(32, 48), low_size=(8, 12), grid_size=11, fwhm=5.0, output="pupil")
    r = train_variant("sampler@P", cfg, small, tmp_path, progress=False)
    side = read_sidecar(tmp_path / "pupil_sampler_P.json")
    assert side["config"]["output"] == "pupil" and r["weights"].endswith("pupil_sampler_P.safetensors")
    assert 0 < side["heldout"]["pupil_mm"] < 10 and 0 < side["heldout"]["mean_deg"] < 60
    assert not (tmp_path / "gaze_sampler_P.safetensors").exists()


def test_fusion_weights_interpolate_between_mediapipe_and_the_learned_pupil(tmp_path, portrait_faces):
    """learned_weight (0, 0) is exactly the geometric stage; (1, 1) the pupil stage; the shipped fusion weights give
    its own reading, the vertical one MediaPipe's."""
    from gazezoom.models.stages import FUSION_LEARNED_WEIGHT

    (img, face), _ = portrait_faces
    pred = GazePredictor.from_weights(_tiny_model(tmp_path, "pupil"), backend="torch")
    geo = build_gaze_stage("geometric").predict(img, face)
    none = PupilGaze(pred, (0.0, 0.0)).predict(img, face)
    full = PupilGaze(pred, (1.0, 1.0)).predict(img, face)
    fused = PupilGaze(pred, FUSION_LEARNED_WEIGHT).predict(img, face)
    for a, b in zip(none.eyes, geo.eyes):
        np.testing.assert_allclose(a.vector_cam, b.vector_cam, atol=1e-9)
    assert FUSION_LEARNED_WEIGHT[1] == 0.0 < FUSION_LEARNED_WEIGHT[0] < 1.0
    assert angular_error_deg(fused.vector_cam, full.vector_cam) > 1e-3
    with pytest.raises(Exception, match="learned_weight"):
        PupilGaze(pred, (1.5, 0.0))


def test_profile_of_another_stage_names_the_stage_to_use(tmp_path):
    from gazezoom.calibration.profile import _stage_hint

    assert "--gaze network" in _stage_hint("gaze_sampler_P@37fd212b512a")
    assert "--gaze fusion" in _stage_hint("gaze_fusion@v1:pupil_sampler_P@6bd3c9f79f86")
    assert "--gaze geometric" in _stage_hint("gaze_geometric@v1")
    # the same stage at a newer version: no stage to switch to, the profile must be refitted
    hint = _stage_hint("gaze_fusion@v1:pupil_sampler_P@6bd3c9f79f86", "gaze_fusion@v2:pupil_sampler_P@6bd3c9f79f86")
    assert "v1 → v2" in hint and "--gaze" not in hint
    assert "--gaze geometric" in _stage_hint("gaze_geometric@v1", "gaze_fusion@v2:pupil_sampler_P@6bd3c9f79f86")


def test_pair_term_ignores_a_learned_bias_both_eyes_share(tmp_path, portrait_faces):
    """pair_weight > 0 (experimental, docs/zoom.md): the two eyes' vertical mean stays the fusion's, their difference
    is partly the learned locator's — so a vertical offset of the learned reading common to both eyes (what the
    locator reads wrong on real eyes) changes nothing, while one eye's own offset moves the two eyes apart."""
    import dataclasses

    (img, face), _ = portrait_faces
    pred = GazePredictor.from_weights(_tiny_model(tmp_path, "pupil"), backend="torch")

    class Shifted:  # the same network, its vertical reading offset by dv (per eye)
        def __init__(self, dv):
            self.model, self.variant, self.backend, self.dv = pred.model, pred.variant, pred.backend, np.asarray(dv)

        def predict_regions(self, frame, regions, keep_samples=True):
            r = pred.predict_regions(frame, regions, keep_samples=keep_samples)
            return dataclasses.replace(r, pitchyaw=r.pitchyaw + np.stack([np.zeros(2), self.dv], 1))

    def pitches(stage):
        return np.array([np.degrees(vector_to_pitchyaw(e.vector_cam))[0] for e in stage.predict(img, face).eyes])

    base = pitches(PupilGaze(Shifted([0.0, 0.0]), (0.5, 0.0), pair_weight=0.5))
    np.testing.assert_allclose(pitches(PupilGaze(Shifted([0.1, 0.1]), (0.5, 0.0), pair_weight=0.5)), base, atol=1e-9)
    apart = pitches(PupilGaze(Shifted([0.1, 0.0]), (0.5, 0.0), pair_weight=0.5))
    assert abs(abs(apart[0] - apart[1]) - abs(base[0] - base[1])) > 0.5  # degrees
    fusion = pitches(PupilGaze(Shifted([0.1, 0.0]), (0.5, 0.0)))  # without the pair term: MediaPipe's vertical
    np.testing.assert_allclose(fusion, pitches(PupilGaze(Shifted([0.0, 0.0]), (0.5, 0.0))), atol=1e-9)
    with pytest.raises(Exception, match="pair_weight"):
        PupilGaze(pred, (0.5, 0.0), pair_weight=2.0)


def test_landmark_model_feeds_the_pupil_stages_with_its_pupil(tmp_path, portrait_faces):
    """A landmark locator (train --output landmarks, 15 points) runs in the pupil and fusion stages: they read its
    first landmark, the pupil centre — the same gaze as a pupil model whose two outputs are those values."""
    (img, face), _ = portrait_faces
    from gazezoom.models import load_weights

    path = _tiny_model(tmp_path, "landmarks")
    lm = GazePredictor.from_weights(path, backend="torch")
    assert lm.predict_regions(img, face.eyes, keep_samples=False).pitchyaw.shape == (2, 30)
    src = load_weights(path)
    pupil = build_model(dataclasses.replace(src.config, output="pupil"))
    pupil.load_state_dict({k: (v[:2] if k.startswith("task.head.3.") else v) for k, v in src.state_dict().items()})
    pp = GazePredictor(pupil, backend="torch")
    for weights in ((1.0, 1.0), (0.5, 0.0)):
        a, b = PupilGaze(lm, weights).predict(img, face), PupilGaze(pp, weights).predict(img, face)
        np.testing.assert_allclose(a.vector_cam, b.vector_cam, atol=1e-6)


def test_with_common_pitch_sets_the_mean_and_keeps_each_eye_its_own():
    from gazezoom.geometry import pitchyaw_to_vector
    from gazezoom.models.geometric import with_common_pitch

    rng = np.random.default_rng(0)
    for _ in range(20):
        R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        R *= np.sign(np.linalg.det(R))  # a rotation
        head = np.radians(rng.uniform([-25, -30], [25, 30], size=(2, 2)))  # eye-in-head (pitch, yaw) of two eyes
        v = np.stack([R @ pitchyaw_to_vector(h) for h in head])
        target = np.radians(rng.uniform(-20, 20))
        out = np.stack([vector_to_pitchyaw(R.T @ x) for x in with_common_pitch(v, R, target)])
        np.testing.assert_allclose(out[:, 0].mean(), target, atol=1e-9)
        np.testing.assert_allclose(out[:, 0] - out[:, 0].mean(), head[:, 0] - head[:, 0].mean(), atol=1e-9)
        np.testing.assert_allclose(out[:, 1], head[:, 1], atol=1e-9)


def test_with_common_pitch_weighted_mean():
    """With the eyes' shares in the fused gaze, it is their *weighted* mean eye-in-head pitch that is set; an eye of
    weight 0 keeps the other eye exactly at the target."""
    from gazezoom.geometry import pitchyaw_to_vector
    from gazezoom.models.geometric import with_common_pitch

    rng = np.random.default_rng(1)
    for _ in range(20):
        R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        R *= np.sign(np.linalg.det(R))
        head = np.radians(rng.uniform([-25, -30], [25, 30], size=(2, 2)))
        v = np.stack([R @ pitchyaw_to_vector(h) for h in head])
        w, target = rng.uniform(0.05, 1.0, 2), np.radians(rng.uniform(-20, 20))
        out = np.stack([vector_to_pitchyaw(R.T @ x) for x in with_common_pitch(v, R, target, w)])
        np.testing.assert_allclose(np.average(out[:, 0], weights=w), target, atol=1e-9)
        np.testing.assert_allclose(out[:, 0] - head[:, 0], out[0, 0] - head[0, 0], atol=1e-9)  # one shift for both
        np.testing.assert_allclose(out[:, 1], head[:, 1], atol=1e-9)
        only_left = np.stack([vector_to_pitchyaw(R.T @ x) for x in with_common_pitch(v, R, target, [1.0, 0.0])])
        assert only_left[0, 0] == pytest.approx(target, abs=1e-9)


def test_fusion_an_eye_that_hardly_counts_moves_neither_the_common_vertical_nor_the_other_eye(portrait_faces):
    """A wink on a real face (obama.jpg, the right eye flagged closed: openness 0). What that eye's landmarks read
    barely moves the open eye or the fused gaze (gaze stage v4): its iris pushed 3 px down, as a closing lid does,
    moves the open eye 0.8 deg and the fused pitch 0.0 deg (with the plain two-eye mean, stage v3: 5.0 and 4.3 deg);
    its eyeLookDown raised by 0.5 moves the fused pitch 0.7 deg (v3: 4.7 deg, half the closed eye's blendshape)."""
    from gazezoom.face.eyes import EYE_LANDMARKS
    from gazezoom.models.geometric import BLENDSHAPE_PITCH_DEG

    (img, face), _ = portrait_faces
    shipped = build_gaze_stage("fusion")
    left, right = face.eyes
    assert (left.side, right.side) == ("left", "right")
    wink = dataclasses.replace(face, eyes=(left, dataclasses.replace(right, openness=0.0, blink=True)))
    P = np.array(wink.landmarks_px, float)
    i = EYE_LANDMARKS["right"]["iris"]
    P[i : i + 5, 1] += 3.0  # the closed eye's iris (centre and rim) 3 px lower
    iris_moved = dataclasses.replace(wink, landmarks_px=P)
    b = dict(wink.blendshapes, eyeLookDownRight=wink.blendshapes["eyeLookDownRight"] + 0.5)
    looks_down = dataclasses.replace(wink, blendshapes=b)
    R = np.asarray(face.head.rotation, float)

    def in_head(g):  # (3, 2) degrees: left eye, right eye, fused
        vs = [e.vector_cam for e in g.eyes] + [g.vector_cam]
        return np.degrees(np.stack([vector_to_pitchyaw(R.T @ np.asarray(v, float)) for v in vs]))

    a = in_head(shipped.predict(img, wink, display=False))
    d = in_head(shipped.predict(img, iris_moved, display=False)) - a
    assert d[1, 0] < -5.0  # the closed eye's own reading did move down
    assert abs(d[0, 0]) < 0.1 * abs(d[1, 0])  # the open eye: its weight share of it (~8 %), not half
    assert abs(d[2, 0]) < 0.05  # the fused vertical is the (weighted) blendshape reading, which did not change
    assert abs(d[0, 1]) < 1e-6  # nor does the open eye's yaw
    d = in_head(shipped.predict(img, looks_down, display=False)) - a
    plain_mean_shift = 0.5 / 2 * BLENDSHAPE_PITCH_DEG  # the two eyes' plain blendshape mean: 4.7 deg lower
    assert -0.2 * plain_mean_shift < d[2, 0] < 0.0  # fused: measured -0.7 deg
    assert d[0, 0] == pytest.approx(d[1, 0], abs=1e-6)  # one common shift, the eyes' difference kept


def test_fusion_reads_the_common_vertical_from_the_blendshapes(portrait_faces):
    """The shipped fusion: its two eyes' mean eye-in-head pitch, weighted by their shares in the fused gaze, is
    MediaPipe's blendshape reading (BLENDSHAPE_PITCH_DEG x eyeLookUp - eyeLookDown, the same weights), their
    difference and their yaw are the iris geometry's (the same stage without the blendshapes); a face without
    blendshapes falls back to that reading; more eyeLookDown reads lower."""
    from gazezoom.models.geometric import BLENDSHAPE_PITCH_DEG, blendshape_pitch
    from gazezoom.models.predictor import eye_weights

    (img, face), _ = portrait_faces
    shipped = build_gaze_stage("fusion")
    assert shipped.common_pitch == "blendshapes"
    plain = PupilGaze(shipped.predictor, shipped.learned_weight)  # the same reading without the blendshapes
    R = np.asarray(face.head.rotation, float)

    def in_head(g):
        return np.degrees(np.stack([vector_to_pitchyaw(R.T @ np.asarray(e.vector_cam)) for e in g.eyes]))

    g, p = in_head(shipped.predict(img, face, display=False)), in_head(plain.predict(img, face, display=False))
    b = face.blendshapes
    # each eye's share in the fused gaze: openness x the eyeball model's reliability (fuse_eyes)
    _, _, reliability, _ = plain.eye_readings(img, face, display=False)
    w = eye_weights(np.array([e.openness for e in face.eyes]), reliability)
    per_eye = np.array([b[f"eyeLookUp{s}"] - b[f"eyeLookDown{s}"] for s in ("Left", "Right")])
    v = np.average(per_eye, weights=w)
    assert g[:, 0] @ w / w.sum() == pytest.approx(BLENDSHAPE_PITCH_DEG * v, abs=1e-6)
    assert np.degrees(blendshape_pitch(b)) == pytest.approx(BLENDSHAPE_PITCH_DEG * per_eye.mean(), abs=1e-9)
    np.testing.assert_allclose(g[:, 0] - g[0, 0], p[:, 0] - p[0, 0], atol=1e-6)  # the difference is the iris's
    np.testing.assert_allclose(g[:, 1], p[:, 1], atol=1e-6)
    # on obama.jpg the iris geometry reads his eyes ~6 deg up in the head, the blendshapes ~1 deg down (he looks
    # into a camera below his eye line: docs/zoom.md)
    assert p[:, 0].mean() - g[:, 0].mean() > 3.0
    no_bs = dataclasses.replace(face, blendshapes={})
    for a, c in zip(shipped.predict(img, no_bs, display=False).eyes, plain.predict(img, face, display=False).eyes):
        np.testing.assert_allclose(a.vector_cam, c.vector_cam, atol=1e-12)
    down = dict(b, eyeLookDownLeft=b["eyeLookDownLeft"] + 0.3, eyeLookDownRight=b["eyeLookDownRight"] + 0.3)
    lower = in_head(shipped.predict(img, dataclasses.replace(face, blendshapes=down), display=False))
    assert g[:, 0].mean() - lower[:, 0].mean() == pytest.approx(0.3 * BLENDSHAPE_PITCH_DEG, abs=1e-6)
