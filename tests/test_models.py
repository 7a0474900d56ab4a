"""Gaze model variants, checkpoints and the predictor (small sizes so the file runs in seconds)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from gazezoom.errors import (
    InputValueError,
    ModelFileError,
    ShapeError,
    StateError,
    UnknownNameError,
    WeightsMismatchError,
)
from gazezoom.models import (
    VARIANTS,
    GazeNet,
    GazePredictor,
    ModelConfig,
    build_model,
    count_parameters,
    load_weights,
    read_sidecar,
    resolve_variant,
    save_weights,
    weights_path,
)
from gazezoom.models.predictor import fuse_eyes
from gazezoom.results import EyeGaze, EyeRegion, Face, GazeResult, HeadPose

SMALL = dict(patch=(8, 12), region_size=(32, 48), low_size=(8, 12), grid_size=11, fwhm=5.0)


def small(variant: str) -> GazeNet:
    torch.manual_seed(0)
    return GazeNet(ModelConfig(variant=variant, **SMALL))


@pytest.mark.parametrize("variant", VARIANTS.names())
def test_forward_backward_every_parameter_gets_a_gradient(variant):
    m = small(variant).train()
    x = torch.rand(3, 3, 32, 48)
    out = m(x, degrade=True, generator=torch.Generator().manual_seed(1))
    assert out.pitchyaw.shape == (3, 2)
    assert out.patch.shape[-2:] == m.config.input_size
    assert out.grid.shape == (3, *m.config.input_size, 2)
    assert (out.saliency is not None) == variant.startswith("sampler")
    out.pitchyaw.square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        if name.endswith("saliency_net.out.bias"):
            # the saliency is a softmax over the grid: adding a constant to every logit changes nothing, so this
            # gradient is zero in exact arithmetic (what float rounding leaves is below 1e-6 of the weights')
            assert float(p.grad.abs().sum()) <= 1e-6 * float(m.front.sampler.saliency_net.out.weight.grad.abs().sum()) + 1e-12
            continue
        assert p.grad.abs().sum() > 0, name


def test_default_sizes_and_parameter_budget():
    cfg = ModelConfig()
    assert cfg.patch == (24, 40) and cfg.region_size == (96, 160)
    sizes = {v: ModelConfig(variant=v).input_size for v in VARIANTS.names()}
    assert sizes == {"sampler@P": (24, 40), "uniform@P": (24, 40), "uniform@2P": (48, 80), "uniform@4P": (96, 160),
                     "center_crop@P": (24, 40), "sampler_crop@P": (24, 40)}
    # The same task network for every variant: identical parameter count apart from the saliency net.
    counts = {v: count_parameters(build_model(v).task) for v in VARIANTS.names()}
    assert len(set(counts.values())) == 1 and next(iter(counts.values())) < 1_000_000


def test_uniform_variant_is_area_downsampling_and_crop_is_central():
    x = torch.rand(2, 3, 32, 48)
    u = small("uniform@P")(x)
    torch.testing.assert_close(u.patch, torch.nn.functional.avg_pool2d(x, 4))
    assert u.grid[0, 0, 0].tolist() == [-1.0, -1.0] and u.grid[0, -1, -1].tolist() == [1.0, 1.0]
    c = small("center_crop@P")(x)
    torch.testing.assert_close(c.patch, torch.nn.functional.avg_pool2d(x[:, :, 8:24, 12:36], 2))
    assert c.grid.abs().max() == pytest.approx(0.5)


def test_untrained_sampler_starts_near_uniform():
    m = small("sampler@P").eval()
    out = m(torch.rand(2, 3, 32, 48))
    g = out.saliency.shape[-1]
    torch.testing.assert_close(out.saliency, torch.full_like(out.saliency, 1 / g**2), atol=2e-4, rtol=0)


def test_bad_input_and_names():
    m = small("uniform@P")
    with pytest.raises(ShapeError, match=r"eye region: expected shape \(B, 3, 32, 48\)"):
        m(torch.rand(1, 3, 30, 48))
    with pytest.raises(UnknownNameError, match="choose one of: center_crop@P, sampler@P"):
        resolve_variant("zoom@P")
    assert resolve_variant("sampler") == "sampler@P" and resolve_variant("uniform_4P") == "uniform@4P"


def test_checkpoint_round_trip(tmp_path):
    m = small("sampler@P").eval()
    st, js = save_weights(m, tmp_path / "gaze_sampler_P", step=7, training={"seed": 3}, heldout={"mean_deg": 1.5})
    side = read_sidecar(js)
    assert side["variant"] == "sampler@P" and side["step"] == 7 and side["heldout"]["mean_deg"] == 1.5
    assert side["config"]["patch"] == [8, 12] and side["input"]["mean"] == [0.5, 0.5, 0.5]
    assert side["sampler"]["grid_size"] == 11 and side["gazezoom_version"]
    m2 = load_weights(st)
    assert not m2.training and m2.config == m.config
    x = torch.rand(2, 3, 32, 48)
    torch.testing.assert_close(m2(x).pitchyaw, m(x).pitchyaw)
    assert weights_path(tmp_path, "sampler") == st


def test_checkpoint_mismatch_errors(tmp_path):
    st, js = save_weights(small("uniform@P"), tmp_path / "w")
    with pytest.raises(WeightsMismatchError, match="holds variant 'uniform@P', not 'sampler@P'"):
        load_weights(st, variant="sampler")
    with pytest.raises(WeightsMismatchError, match=r"patch: file has \(8, 12\), expected \(24, 40\)"):
        load_weights(st, expect={"patch": [24, 40]})
    side = json.loads(js.read_text())
    side["config"]["task_width"] = 8  # a sidecar that does not describe the tensors
    js.write_text(json.dumps(side))
    with pytest.raises(WeightsMismatchError, match="has shape"):
        load_weights(st)
    side["format_version"] = 99
    js.write_text(json.dumps(side))
    with pytest.raises(WeightsMismatchError, match="format_version 99"):
        load_weights(st)
    with pytest.raises(ModelFileError, match="not found"):
        load_weights(tmp_path / "nothing.safetensors")
    js.unlink()
    with pytest.raises(ModelFileError, match="sidecar .* not found"):
        load_weights(st)


# ------------------------------------------------------------------ predictor


def _box_region(x0, y0, x1, y1, mirror=False):
    """region (u, v) ∈ [-1, 1]² → the pixel box [x0, x1] × [y0, y1] (pixel centres)."""
    sx = (x1 - x0) / 2 * (-1 if mirror else 1)
    return np.array([[sx, 0, (x0 + x1) / 2], [0, (y1 - y0) / 2, (y0 + y1) / 2], [0, 0, 1.0]])


def _eye(side, H, R=np.eye(3), openness=1.0):
    return EyeRegion(side=side, region_to_frame=H, R_norm=R, center_mm=np.array([30.0 if side == "left" else -30.0, 0, 600]),
                     corners_px=np.zeros((2, 2)), iris_px=np.zeros(2), openness=openness, blink=False)


def _face(eyes):
    z = np.zeros(3)
    return Face(track_id=0, bbox=np.zeros(4), confidence=1.0, landmarks_px=np.zeros((478, 3)), blendshapes={},
                transform=np.eye(4), head=HeadPose(np.eye(3), z, 0.0, 0.0, 0.0), eyes=tuple(eyes), blink=False)


def test_predictor_needs_weights_first():
    with pytest.raises(StateError, match="from_weights"):
        GazePredictor().predict(np.zeros((10, 10, 3), np.uint8), None)


@pytest.mark.parametrize("variant", ["uniform@P", "sampler@P", "sampler_crop@P"])
def test_predict_regions_matches_the_model_on_the_region(variant):
    torch.manual_seed(0)
    m = small(variant).eval()
    if variant != "uniform@P":  # a saliency that is not flat, so the zoom is exercised
        torch.nn.init.normal_(m.front.sampler.saliency_net.out.weight, std=0.5)
    rng = np.random.default_rng(0)
    region = rng.integers(0, 256, (32, 48, 3), np.uint8)  # BGR
    frame = np.zeros((60, 100, 3), np.uint8)
    frame[10:42, 30:78] = region
    p = GazePredictor(m)
    r = p.predict_regions(frame, _box_region(30, 10, 77, 41)[None])
    x = torch.from_numpy(region[..., ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    want = m(x)
    # uniform: the region is read exactly; sampler: the low-res view is built slightly differently from frames.
    tol = 1e-4 if variant == "uniform@P" else 0.05
    np.testing.assert_allclose(r.pitchyaw[0], want.pitchyaw[0].detach().numpy(), atol=tol)
    assert r.patch.shape == (1, 8, 12, 3) and r.patch.dtype == np.float32 and r.grid.shape == (1, 8, 12, 2)
    assert (r.saliency is not None) == (variant != "uniform@P")
    # the predictor returns inference results; the pictures come from views (uint8 BGR, grid in frame pixels)
    from gazezoom.views import eye_views

    eye = _eye("left", _box_region(30, 10, 77, 41)[None][0])
    gaze = GazeResult(eyes=(EyeGaze("left", np.zeros(2), np.array([0.0, 0.0, -1.0]), r.sample(0)),),
                      vector_cam=np.array([0.0, 0.0, -1.0]), pitchyaw=np.zeros(2), origin_mm=np.zeros(3))
    (view,) = eye_views(frame, _face([eye]), gaze)
    assert view.patch.shape == view.uniform_patch.shape == (8, 12, 3) and view.patch.dtype == np.uint8
    np.testing.assert_array_equal(view.patch, np.clip(r.patch[0] * 255 + 0.5, 0, 255).astype(np.uint8)[..., ::-1])
    gx, gy = view.grid_px[..., 0], view.grid_px[..., 1]
    assert gx.min() >= 30 - 1e-6 and gx.max() <= 77 + 1e-6 and gy.min() >= 10 - 1e-6 and gy.max() <= 41 + 1e-6
    if variant == "sampler_crop@P":  # it reads the central half of the region only (crop 16x24 of 32x48 px)
        assert gx.min() >= 30 + 12 - 1 and gx.max() <= 77 - 12 + 1 and gy.min() >= 10 + 8 - 1 and gy.max() <= 41 - 8 + 1


def test_predict_unmirrors_the_right_eye_and_fuses():
    m = small("uniform@P").eval()
    rng = np.random.default_rng(1)
    eye = rng.integers(0, 256, (32, 48, 3), np.uint8)
    frame = np.zeros((40, 120, 3), np.uint8)
    frame[4:36, 2:50] = eye
    frame[4:36, 62:110] = eye[:, ::-1]  # the right eye is the mirror image of the left one
    left = _eye("left", _box_region(2, 4, 49, 35))
    right = _eye("right", _box_region(62, 4, 109, 35, mirror=True), openness=0.5)
    res = GazePredictor(m).predict(frame, _face([left, right]))
    pl, pr = res.eyes[0].pitchyaw_norm, res.eyes[1].pitchyaw_norm
    assert pl[0] == pytest.approx(pr[0], abs=1e-5) and pl[1] == pytest.approx(-pr[1], abs=1e-5)
    want = fuse_eyes(np.stack([res.eyes[0].vector_cam, res.eyes[1].vector_cam]), np.array([1.0, 0.5]))
    np.testing.assert_allclose(res.vector_cam, want)
    assert np.linalg.norm(res.vector_cam) == pytest.approx(1.0)
    np.testing.assert_allclose(res.origin_mm, [0, 0, 600])
    assert res.eyes[1].sample.patch.shape == (8, 12, 3)
    assert GazePredictor(m).predict(frame, _face([left, right]), display=False).eyes[0].sample is None


def test_predictor_from_weights_folder(tmp_path):
    save_weights(small("center_crop@P"), weights_path(tmp_path, "center_crop@P"))
    p = GazePredictor.from_weights(tmp_path, variant="center_crop")
    assert p.is_loaded and p.variant == "center_crop@P"
    assert GazePredictor().load(tmp_path, variant="center_crop").variant == "center_crop@P"
    with pytest.raises(ModelFileError, match="gazezoom train"):
        GazePredictor.from_weights(tmp_path, variant="sampler")


def test_supersampled_sampler_with_flat_saliency_is_close_to_area_downsampling():
    """k = region / P: the sampler reads 4P through its grid and area-pools; flat saliency ~ uniform@P."""
    cfg = dict(SMALL, supersample=4)
    z = GazeNet(ModelConfig(variant="sampler@P", **cfg)).eval()
    torch.nn.init.zeros_(z.front.sampler.saliency_net.out.weight)
    x = torch.rand(2, 3, 32, 48)
    out = z(x)
    assert out.patch.shape == (2, 3, 8, 12) and out.grid.shape == (2, 8, 12, 2)
    area = torch.nn.functional.avg_pool2d(x, 4)
    plain = small("sampler@P").eval()
    torch.nn.init.zeros_(plain.front.sampler.saliency_net.out.weight)
    # Much closer to the area average than point sampling is (the flat-saliency grid is near the identity).
    assert (out.patch - area).abs().mean() < 0.5 * (plain(x).patch - area).abs().mean()
    # The app path (regions of a frame) pools the same way.
    p, g, s = z.front.forward_regions(x[:1], torch.tensor([[[23.5, 0, 23.5], [0, 15.5, 15.5], [0, 0, 1.0]]]))
    assert p.shape == (1, 3, 8, 12) and g.shape == (1, 8, 12, 2) and s.shape[-1] == 11


def test_sampler_grid_stays_float32_under_autocast_on_both_paths():
    """Mixed precision (bfloat16 autocast, as in training and the GPU benchmark) must not move the grid: the training
    path and the app path (regions of a full frame) give the float32 numbers exactly."""
    from gazezoom.sampler import boxes_to_regions

    torch.manual_seed(0)
    z = small("sampler@P").eval()
    torch.nn.init.normal_(z.front.sampler.saliency_net.out.weight, std=0.5)  # non-flat saliency
    frame = torch.rand(1, 3, 120, 200)
    H = boxes_to_regions(torch.tensor([[20.0, 30.0, 90.0, 70.0], [110.0, 30.0, 180.0, 70.0]]))
    region = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        ref = (z.front(region), z.front.forward_regions(frame, H))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            amp = (z.front(region), z.front.forward_regions(frame, H))
    for r, a in zip(ref, amp):
        for x, y in zip(r, a):
            assert y.dtype == torch.float32
            torch.testing.assert_close(y, x, rtol=0, atol=0)


def test_network_inputs_are_the_crop_predict_regions_runs():
    """The crop covers the regions (with a margin) and the network on it gives predict_regions' gaze."""
    from gazezoom.models.onnx_backend import RegionGazeGraph

    torch.manual_seed(0)
    p = GazePredictor(small("sampler@P").eval())
    frame = np.random.default_rng(1).integers(0, 256, (90, 160, 3), np.uint8)
    H = np.stack([_box_region(30, 20, 77, 51), _box_region(90, 22, 137, 53, mirror=True)])
    Hf, crop, Hc = p.network_inputs(frame, H)
    assert np.array_equal(Hf, H) and crop.shape == (1, 3, 38, 112)  # rows 18..55, columns 28..139: corners -2/+2
    torch.testing.assert_close(crop[0, :, 2, 2], torch.from_numpy(frame[20, 30, ::-1].copy()).float() / 255)
    with torch.inference_mode():
        want = RegionGazeGraph(p.model)(crop, Hc)[0].double().numpy()
    np.testing.assert_allclose(p.predict_regions(frame, H, keep_samples=False).pitchyaw, want, atol=1e-6)


def test_infer_supersample_reads_the_same_grid_more_sparsely():
    """``infer_supersample`` changes only how densely the eval-mode / app path reads through the grid: the
    saliency is the same, the patch stays P, and with 0 (the default) eval mode reads exactly as training does."""
    torch.manual_seed(0)
    base = ModelConfig(variant="sampler@P", patch=(6, 10), region_size=(48, 80), low_size=(12, 20), supersample=8)
    a = build_model(base).eval()
    b = build_model(dataclasses.replace(base, infer_supersample=2)).eval()
    b.load_state_dict(a.state_dict())
    region = torch.rand(3, 3, 48, 80)
    with torch.no_grad():
        oa, ob = a(region), b(region)
        a.front.k_infer = 2  # the same model reading at k = 2 must equal b
        oc = a(region)
    assert ob.patch.shape == oa.patch.shape == (3, 3, 6, 10)
    assert torch.equal(oa.saliency, ob.saliency)
    assert not torch.allclose(oa.patch, ob.patch)  # 8x8 vs 2x2 area pooling of the same warp
    assert torch.allclose(oc.patch, ob.patch) and torch.allclose(oc.pitchyaw, ob.pitchyaw)
    b.train()
    assert b.front._k() == 8  # training keeps the trained k
    assert ModelConfig.from_dict(dataclasses.replace(base, infer_supersample=2).to_dict()).infer_supersample == 2
    with pytest.raises(InputValueError, match="infer_supersample"):
        ModelConfig(infer_supersample=-1)
