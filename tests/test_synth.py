"""Tests of the synthetic eye renderer (gazezoom.synth). Small renders (48x80) keep the file well under 30 s."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from gazezoom.errors import InputValueError
from gazezoom.synth import BATCH_KEYS, KAPPA_MEAN, BatchIndexError, EyeRenderer, RenderParams, SyntheticEyeDataset
from gazezoom.synth.camera import frame_scale, jpeg
from gazezoom.synth.params import SPLITS, sample_params

SIZE = (48, 80)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def renderer():
    return EyeRenderer(out_size=SIZE)


@pytest.fixture(scope="module")
def clean():
    return EyeRenderer(out_size=SIZE, camera_effects=False)


def _posed(clean: EyeRenderer, gazes: list[tuple[float, float]]) -> RenderParams:
    """One subject (open eye, frontal head, bright lashes/iris so only the pupil is dark) at several gazes."""
    p = clean.sample_params(1, seed=3)[[0] * len(gazes)]
    n = len(gazes)
    return dataclasses.replace(
        p,
        gaze=torch.tensor(gazes, dtype=torch.float32),
        head=torch.zeros(n, 2),
        closure=torch.zeros(n),
        pupil_frac=torch.full((n,), 0.45),
        lid_upper=p.lid_upper.clone().index_fill_(1, torch.tensor([0]), 0.5),
        hair_color=torch.full((n, 3), 0.8),
        iris_colors=torch.full((n, 3, 3), 0.5),
        glasses=torch.zeros(n, 6),
        eye_width_px=torch.full((n,), 200.0),
    )


def _pupil_centroid(image: torch.Tensor) -> torch.Tensor:
    """(n, 3, H, W) → (n, 2) column/row centroid of the darkest pixels (the pupil in _posed scenes)."""
    lum = image.mean(1)  # (n, H, W)
    lo, med = lum.amin((1, 2), keepdim=True), lum.median(-1).values.median(-1).values.view(-1, 1, 1)
    dark = (lum < lo + 0.2 * (med - lo)).float()
    assert bool((dark.sum((1, 2)) > 3).all()), "pupil not visible"
    rows = torch.arange(lum.shape[1]).view(1, -1, 1).float()
    cols = torch.arange(lum.shape[2]).view(1, 1, -1).float()
    return torch.stack([(dark * cols).sum((1, 2)), (dark * rows).sum((1, 2))], -1) / dark.sum((1, 2)).unsqueeze(-1)


def test_render_shapes_dtypes_range(renderer):
    params = renderer.sample_params(5, seed=0)
    assert isinstance(params, RenderParams) and len(params) == 5
    batch = renderer.render(params)
    assert set(batch) == set(BATCH_KEYS)
    assert batch["image"].shape == (5, 3, *SIZE) and batch["image"].dtype == torch.float32
    for key in BATCH_KEYS:
        assert batch[key].shape[0] == 5 and torch.isfinite(batch[key]).all(), key
    assert batch["gaze"].shape == batch["head"].shape == batch["kappa"].shape == batch["optical_gaze"].shape == (5, 2)
    assert batch["eye_width_px"].shape == batch["openness"].shape == (5,)
    img = batch["image"]
    assert img.min() >= 0 and img.max() <= 1 and img.std() > 0.02  # not blank


def test_any_size_and_float64():
    r = EyeRenderer(out_size=(36, 60), dtype=torch.float64, chunk=2)
    b = r.render(r.sample_params(3, seed=1))
    assert b["image"].shape == (3, 3, 36, 60) and b["image"].dtype == torch.float64


def test_parameter_ranges():
    p = sample_params(2000, seed=0)
    pitch, yaw = np.degrees(p.gaze[:, 0].numpy()), np.degrees(p.gaze[:, 1].numpy())
    assert -30.001 <= pitch.min() and pitch.max() <= 25.001 and -35.001 <= yaw.min() and yaw.max() <= 35.001
    head_deg = np.degrees(p.head.numpy())
    assert abs(np.abs(head_deg[:, 1]).max() - 15) < 0.5 and abs(np.abs(head_deg[:, 0]).max() - 10) < 0.5
    w = p.eye_width_px.numpy()
    assert 15 <= w.min() < 17 and 185 < w.max() <= 200
    assert abs(np.median(np.log(w)) - np.log(np.sqrt(15 * 200))) < 0.1  # log-uniform
    assert 0.01 < (p.closure > 0.75).float().mean() < 0.06  # ~3 % blinks


def test_determinism_by_seed(renderer):
    a = renderer.render(renderer.sample_params(4, seed=7))
    b = renderer.render(renderer.sample_params(4, seed=7))
    c = renderer.render(renderer.sample_params(4, seed=8))
    for key in BATCH_KEYS:
        assert torch.equal(a[key], b[key]), key
    assert not torch.allclose(a["image"], c["image"])
    assert not torch.allclose(a["gaze"], c["gaze"])


def test_train_and_test_draws_are_disjoint():
    tr, te = sample_params(1500, seed=0, split="train"), sample_params(1500, seed=0, split="test")
    assert not torch.allclose(tr.iris_tex[:10], te.iris_tex[:10])
    assert not torch.allclose(tr.gaze[:10], te.gaze[:10])
    for field in ("iris_tone", "skin_tone", "light_temp"):
        band_tr = set(((getattr(tr, field) * 16).floor().long() % 4 == 3).tolist())
        band_te = set(((getattr(te, field) * 16).floor().long() % 4 == 3).tolist())
        assert band_tr == {False} and band_te == {True}, field
    az_tr = ((tr.light_azimuth / math.radians(70) + 1) / 2 * 16).floor().long() % 4
    az_te = ((te.light_azimuth / math.radians(70) + 1) / 2 * 16).floor().long() % 4
    assert not (az_tr == 3).any() and (az_te == 3).all()
    # both splits still span the whole range
    for p in (tr, te):
        assert p.iris_tone.min() < 0.3 and p.iris_tone.max() > 0.7


def test_label_is_optical_axis_plus_mean_kappa(renderer):
    p = dataclasses.replace(renderer.sample_params(6, seed=2), head=torch.zeros(6, 2))
    b = renderer.render(p)
    # with a frontal head, the head frame is the normalised camera frame and the offset is additive
    torch.testing.assert_close(b["gaze"] - b["optical_gaze"], torch.tensor(KAPPA_MEAN).expand(6, 2), atol=1e-5, rtol=0)
    torch.testing.assert_close(b["visual_gaze"] - b["optical_gaze"], p.kappa, atol=1e-5, rtol=0)


def test_pupil_moves_with_yaw_and_pitch(clean):
    # yaw < 0: the eye looks to the camera's right = the subject's left = image right (g_x > 0)
    yaw = 0.45
    p = _posed(clean, [(0.0, -yaw), (0.0, yaw), (0.3, 0.0), (-0.3, 0.0)])
    b = clean.render(p)
    c = _pupil_centroid(b["image"])
    px_per_u = (SIZE[1] - 1) / 2
    assert c[0, 0] - c[1, 0] > 0.2 * px_per_u  # looking to the subject's left moves the pupil right
    assert c[2, 1] < c[3, 1] - 2  # pitch > 0 (up) moves the pupil up (smaller row)
    # the returned pupil position agrees with the image (within 2 px)
    uv_px = (b["pupil_uv"] + 1) * torch.tensor([(SIZE[1] - 1) / 2, (SIZE[0] - 1) / 2])
    assert (uv_px - c).abs().max() < 2.5
    # the gaze arrow (g_x, g_y) and the pupil displacement point the same way
    g = torch.stack([-torch.cos(p.gaze[:, 0]) * torch.sin(p.gaze[:, 1]), -torch.sin(p.gaze[:, 0])], -1)
    assert (g[0, 0] - g[1, 0]) > 0 and (g[2, 1] - g[3, 1]) < 0


def test_cornea_refraction_magnifies_the_pupil(clean, monkeypatch):
    import gazezoom.synth.scene as scene

    p = _posed(clean, [(0.0, 0.0)])
    dark = lambda: (clean.render(p)["image"].mean(1) < 0.2).float().sum()  # noqa: E731
    refracted = dark()
    monkeypatch.setattr(scene, "CORNEA_INDEX", 1.0)  # no refraction: the iris plane seen as it is
    plain = dark()
    # a 7.8 mm cornea over a ~3 mm deep anterior chamber magnifies the pupil by ~1.1-1.2 (area ~1.2-1.45)
    assert 1.1 < float(refracted / plain) < 1.6


def test_head_rotation_moves_the_eye_region(clean):
    p = _posed(clean, [(0.0, 0.0), (0.0, 0.0)])
    head = torch.tensor([[0.0, 0.0], [0.0, 0.25]])  # second head turned to the subject's right (yaw > 0)
    b = clean.render(dataclasses.replace(p, head=head, gaze=head.clone()))
    assert not torch.allclose(b["image"][0], b["image"][1], atol=0.05)


def test_blinks_close_the_lid(clean):
    p = _posed(clean, [(0.0, 0.0), (0.0, 0.0)])
    b = clean.render(dataclasses.replace(p, closure=torch.tensor([0.0, 1.0])))
    assert b["openness"][0] > 0.6 and b["openness"][1] < 0.15
    lum = b["image"].mean(1)
    dark = (lum < 0.2).float().sum((1, 2))
    assert dark[0] > 5 and dark[1] == 0  # the pupil disappears behind the closed lid


def _hf_energy(img: torch.Tensor) -> torch.Tensor:
    """(n, 3, H, W) → (n,) mean absolute Laplacian of the grey image."""
    g = img.mean(1, keepdim=True)
    k = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    return torch.nn.functional.conv2d(g, k).abs().mean((1, 2, 3))


def test_small_eyes_lose_high_frequencies():
    r = EyeRenderer(out_size=(96, 160))
    p = r.sample_params(3, seed=4)
    widths = torch.tensor([200.0, 60.0, 15.0])
    p = dataclasses.replace(p[[0, 0, 0]], eye_width_px=widths, defocus=torch.zeros(3), motion=torch.zeros(3, 2),
                            noise=torch.full((3, 2), 1e-4), jpeg_quality=torch.full((3,), 95.0))
    e = _hf_energy(r.render(p)["image"])
    assert e[0] > 1.5 * e[1] > 1.5 * 1.5 * e[2]
    assert torch.allclose(frame_scale(p, 160), torch.tensor([1.0, 60 * 50 / p.eye_width_mm[0].item() / 160, 15 * 50 / p.eye_width_mm[0].item() / 160]))


def test_render_is_per_sample_without_camera_effects(clean):
    p = clean.sample_params(5, seed=5)
    whole = clean.render(p)["image"]
    part = clean.render(p[1:3])["image"]
    torch.testing.assert_close(part, whole[1:3], atol=1e-5, rtol=0)


def test_jpeg_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    torch.manual_seed(0)
    grey = torch.nn.functional.interpolate(torch.rand(1, 1, 4, 6), size=(32, 48), mode="bilinear").expand(1, 3, 32, 48)
    u8 = (grey[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    x = torch.from_numpy(u8).permute(2, 0, 1)[None].float() / 255
    for q in (20, 50, 90):
        ours = jpeg(x, torch.tensor([float(q)]))
        ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, q])
        ref = torch.from_numpy(cv2.imdecode(buf, cv2.IMREAD_COLOR)).permute(2, 0, 1)[None].float() / 255
        err_ours, err_ref = (ours - x).abs().mean(), (ref - x).abs().mean()
        assert abs(err_ours - err_ref) < 0.25 * err_ref + 1e-3, (q, err_ours, err_ref)


def test_dataset_batches(tmp_path):
    ds = SyntheticEyeDataset(n=10, seed=1, split="test", batch_size=4, out_size=SIZE)
    assert len(ds) == 3
    b1, b1_again, last = ds[1], ds[1], ds[-1]
    assert torch.equal(b1["image"], b1_again["image"]) and b1["image"].shape == (4, 3, *SIZE)
    assert last["image"].shape[0] == 2 and last["gaze"].shape == (2, 2)
    assert not torch.equal(ds[0]["gaze"], b1["gaze"])
    other = SyntheticEyeDataset(n=10, seed=1, split="train", batch_size=4, out_size=SIZE)
    assert not torch.equal(other[1]["gaze"], b1["gaze"])
    loader = torch.utils.data.DataLoader(ds, batch_size=None, shuffle=True, num_workers=0)
    seen = sum(batch["image"].shape[0] for batch in loader)
    assert seen == 10
    with pytest.raises(BatchIndexError, match="out of range"):
        ds[3]
    assert isinstance(BatchIndexError("x"), IndexError)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sample_params(4, split="val"), "split must be one of"),
        (lambda: sample_params(0), "positive int"),
        (lambda: sample_params(2, seed=1.5), "seed must be an int"),
        (lambda: EyeRenderer(out_size=(4, 80)), "out_size"),
        (lambda: EyeRenderer(out_size="96x160"), "out_size"),
        (lambda: EyeRenderer(dtype=torch.int32), "dtype"),
        (lambda: EyeRenderer(threads=0), "threads"),
        (lambda: EyeRenderer(out_size=SIZE).render({"gaze": torch.zeros(1, 2)}), "RenderParams"),
        (lambda: SyntheticEyeDataset(n=0), "positive int"),
        (lambda: SyntheticEyeDataset(n=4, split="dev"), "split must be one of"),
    ],
)
def test_bad_input_raises_typed_errors(call, match):
    with pytest.raises(InputValueError, match=match):
        call()


def test_render_restores_torch_threads():
    torch.set_num_threads(2)
    r = EyeRenderer(out_size=(16, 24), threads=1)
    r.render(r.sample_params(1, seed=0))
    assert torch.get_num_threads() == 2


def test_splits_constant():
    assert SPLITS == ("train", "test")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_render_matches_cpu():
    cpu = EyeRenderer(out_size=SIZE, camera_effects=False)
    gpu = EyeRenderer(out_size=SIZE, camera_effects=False, device="cuda")
    p = cpu.sample_params(4, seed=0)
    a, b = cpu.render(p)["image"], gpu.render(p)["image"].cpu()
    assert (a - b).abs().mean() < 2e-3
    full = EyeRenderer(out_size=SIZE, device="cuda").render(p)
    assert full["image"].device.type == "cuda" and torch.isfinite(full["image"]).all()


def test_wide_lid_profile_changes_the_lids_alone_and_closes_them():
    """``lids="wide"`` draws the same scenes with more lid cover (real faces' apertures, docs/zoom.md): only the lid
    parameters differ, and rendered eyes are measurably less open. It is a registered data source too."""
    from gazezoom.models.data import DATASETS

    a, b = sample_params(64, seed=3), sample_params(64, seed=3, lids="wide")
    differ = [f.name for f in dataclasses.fields(a) if not torch.equal(getattr(a, f.name), getattr(b, f.name))]
    assert differ == ["lid_upper", "lid_lower"]
    r = EyeRenderer((24, 40))
    o_default = r.render(a)["openness"]
    o_wide = r.render(b)["openness"]
    assert bool((o_wide <= o_default + 1e-6).all())  # more cover, never a wider opening
    assert float(o_default.median() - o_wide.median()) > 0.08  # measured 0.13 on 400 eyes at 96x160
    ds = DATASETS.get("synthetic_wide_lids")(8, 0, "test", 8, (24, 40), "cpu")
    assert ds.lids == "wide" and ds[0]["image"].shape == (8, 3, 24, 40)
    with pytest.raises(InputValueError, match="lids"):
        sample_params(2, lids="closed")


def test_free_lid_profile_unties_the_lids_from_the_iris():
    """``lids="free"``: "squint"'s scenes with each lid's follow gain drawn from 0 to 1 (not ~1 and ~1/3) — only
    those two gains differ; with a gain of 0 a lid stays put when the eye looks up or down."""
    from gazezoom.models.data import DATASETS
    from gazezoom.synth.scene import LID_T, N_LIMBUS, eye_landmarks_uv

    a, b = sample_params(256, seed=4, lids="squint"), sample_params(256, seed=4, lids="free")
    torch.testing.assert_close(a.lid_upper[:, [0, 2, 3, 4]], b.lid_upper[:, [0, 2, 3, 4]])
    torch.testing.assert_close(a.lid_lower[:, [0, 2, 3]], b.lid_lower[:, [0, 2, 3]])
    ku, kl = b.lid_upper[:, 1], b.lid_lower[:, 1]
    assert float(ku.min()) < 0.1 and float(ku.max()) > 0.9 and float(kl.max()) > 0.9
    still = dataclasses.replace(b[:1], lid_upper=b.lid_upper[:1] * torch.tensor([1.0, 0.0, 1, 1, 1]),
                                head=torch.zeros(1, 2))
    mid = 1 + N_LIMBUS + len(LID_T) // 2  # the upper lid's middle point
    ups = [float(eye_landmarks_uv(dataclasses.replace(still, gaze=torch.tensor([[p, 0.0]])))[0, mid, 1])
           for p in (-0.3, 0.3)]
    assert abs(ups[0] - ups[1]) < 0.02  # a gain-0 upper lid does not follow a 34-degree change of pitch
    assert DATASETS.get("synthetic_free_lids")(8, 0, "test", 8, (24, 40), "cpu").lids == "free"


def test_dark_light_profile_darkens_irises_after_the_catchlights():
    """``lights="dark"``: "catchlights"' scenes with most irises darkened (a gain drawn last), nothing else changed."""
    from gazezoom.models.data import DATASETS

    a, b = sample_params(64, seed=6, lights="catchlights"), sample_params(64, seed=6, lights="dark")
    differ = [f.name for f in dataclasses.fields(a) if not torch.equal(getattr(a, f.name), getattr(b, f.name))]
    assert differ == ["iris_colors"]
    ratio = (b.iris_colors / a.iris_colors)[:, 0, 0]
    assert 0.5 < float((ratio < 0.999).float().mean()) < 0.9 and float(ratio.min()) >= 0.06 - 1e-6
    torch.testing.assert_close(b.iris_colors, a.iris_colors * ratio.view(-1, 1, 1))  # one gain per iris
    assert DATASETS.get("synthetic_dark_iris")(8, 0, "test", 8, (24, 40), "cpu").lights == "dark"


def test_small_head_profile_scales_the_head_residual_alone():
    """``head="small"`` draws the same scenes with the head residual scaled into ±5° (the front-end's measured
    head-pose spread, docs/zoom.md): only ``head`` differs, by the ratio of the ranges. A registered data source."""
    from gazezoom.models.data import DATASETS
    from gazezoom.synth.params import HEAD_PROFILES

    a, b = sample_params(64, seed=3), sample_params(64, seed=3, head="small")
    differ = [f.name for f in dataclasses.fields(a) if not torch.equal(getattr(a, f.name), getattr(b, f.name))]
    assert differ == ["head"]
    ratio = torch.tensor(HEAD_PROFILES["small"]) / torch.tensor(HEAD_PROFILES["default"])
    torch.testing.assert_close(b.head, a.head * ratio)
    assert float(b.head.abs().max()) <= math.radians(5.0) + 1e-6
    ds = DATASETS.get("synthetic_small_head")(8, 0, "test", 8, (24, 40), "cpu")
    assert ds.head == "small" and ds[0]["image"].shape == (8, 3, 24, 40)
    with pytest.raises(InputValueError, match="head"):
        sample_params(2, head="none")


def test_catchlights_profile_adds_corneal_reflections_alone():
    """``lights="catchlights"`` draws the same scenes plus area-light reflections (drawn last: nothing else moves);
    rendered, they brighten the eye and leave the labels alone. "default" has none, so earlier renders are kept.
    The mirrored partner eye of ``eval --binocular`` mirrors their yaw. A registered data source."""
    from gazezoom.models.data import DATASETS
    from gazezoom.synth.params import N_CATCHLIGHTS
    from gazezoom.synth.params import partner_params as partner_eyes

    a, b = sample_params(32, seed=5), sample_params(32, seed=5, lights="catchlights")
    differ = [f.name for f in dataclasses.fields(a) if not torch.equal(getattr(a, f.name), getattr(b, f.name))]
    assert differ == ["catchlights"]
    assert a.catchlights.shape == b.catchlights.shape == (32, N_CATCHLIGHTS, 5) and not a.catchlights.any()
    on = b.catchlights[..., 0] > 0
    assert 0.3 < float(on.float().mean()) < 0.8  # each light present with p = 0.55
    r = EyeRenderer(out_size=(48, 80))
    ra, rb = r.render(a), r.render(b)
    torch.testing.assert_close(ra["gaze"], rb["gaze"])
    torch.testing.assert_close(ra["pupil_uv"], rb["pupil_uv"])
    lum_a, lum_b = ra["image"].mean(1), rb["image"].mean(1)
    lit = on.any(1)
    gain = (lum_b - lum_a).flatten(1).amax(1)
    assert float(gain[lit].median()) > 0.1 and float(gain[~lit].abs().max()) < 1e-6  # unlit eyes render as before
    torch.testing.assert_close(partner_eyes(b).catchlights[..., 2], -b.catchlights[..., 2])
    ds = DATASETS.get("synthetic_catchlights")(8, 0, "test", 8, (24, 40), "cpu")
    assert ds.lights == "catchlights" and ds.lids == "squint" and ds[0]["image"].shape == (8, 3, 24, 40)
    with pytest.raises(InputValueError, match="lights"):
        sample_params(2, lights="flash")


def test_clutter_profile_adds_shading_blobs_to_the_catchlights():
    """``lights="clutter"``: the catchlights profile's draws plus shading blobs (drawn after them: nothing earlier
    moves); "default" and "catchlights" have none (gain 1). Rendered, the blobs change the image, not the labels."""
    from gazezoom.models.data import DATASETS
    from gazezoom.synth.params import N_SHADES

    a, b = sample_params(32, seed=6, lights="catchlights"), sample_params(32, seed=6, lights="clutter")
    differ = [f.name for f in dataclasses.fields(a) if not torch.equal(getattr(a, f.name), getattr(b, f.name))]
    assert differ == ["shades"]
    assert b.shades.shape == (32, N_SHADES, 5) and torch.all(a.shades[..., 0] == 1)
    on = b.shades[..., 0] != 1
    assert 0.5 < float(on.float().mean()) < 0.9 and float(b.shades[..., 0].min()) >= 0.25
    r = EyeRenderer(out_size=(48, 80))
    ra, rb = r.render(a), r.render(b)
    torch.testing.assert_close(ra["pupil_uv"], rb["pupil_uv"])
    assert float((ra["image"] - rb["image"]).abs().amax()) > 0.05
    ds = DATASETS.get("synthetic_clutter")(8, 0, "test", 8, (24, 40), "cpu")
    assert ds.lights == "clutter" and ds[0]["image"].shape == (8, 3, 24, 40)


def test_wet_profile_adds_the_lower_lid_margin_to_the_clutter():
    """``lights="wet"``: the clutter profile's draws plus the lower lid's visible margin and tear film (drawn after
    them); no other profile has one (width 0). Rendered, it changes the image along the lower lid, not the labels."""
    from gazezoom.models.data import DATASETS

    a, b = sample_params(32, seed=7, lights="clutter"), sample_params(32, seed=7, lights="wet")
    differ = [f.name for f in dataclasses.fields(a) if not torch.equal(getattr(a, f.name), getattr(b, f.name))]
    assert differ == ["lower_margin"]
    assert not a.lower_margin.any() and b.lower_margin.shape == (32, 4)
    on = b.lower_margin[:, 0] > 0
    assert 0.6 < float(on.float().mean()) <= 1.0 and float(b.lower_margin[on, 0].min()) >= 0.4
    r = EyeRenderer(out_size=(48, 80))
    ra, rb = r.render(a), r.render(b)
    torch.testing.assert_close(ra["pupil_uv"], rb["pupil_uv"])
    diff = (ra["image"] - rb["image"]).abs().amax(dim=(1, 2, 3))
    assert float(diff[on].median()) > 0.01 and float(diff[~on].max()) < 1e-6 if (~on).any() else True
    ds = DATASETS.get("synthetic_wet")(8, 0, "test", 8, (24, 40), "cpu")
    assert ds.lights == "wet" and ds[0]["image"].shape == (8, 3, 24, 40)


def test_zero_width_edges_render_no_nan():
    """A smoothstep with equal edges (the lid band's, off in every profile but "real") is a step, not 0 / 0 = NaN
    where the pixel sits exactly on the edge: that rendered one NaN pixel in eye 7 of batch 10 of the squint training
    set (seed 0), which the camera's blur spread over the whole image."""
    from gazezoom.models.data import DATASETS
    from gazezoom.synth.renderer import EyeRenderer
    from gazezoom.synth.scene import _smoothstep

    x = torch.tensor([-1.0, 0.0, 1.0])
    assert _smoothstep(0.0, 0.0, x).tolist() == [0.0, 0.0, 1.0]
    assert _smoothstep(torch.zeros(1), torch.zeros(1), x).tolist() == [0.0, 0.0, 1.0]
    assert torch.allclose(_smoothstep(0.0, 2.0, torch.tensor([1.0])), torch.tensor([0.5]))
    ds = DATASETS.get("synthetic_squint")(16384, 0, "train", 256, (96, 160), "cpu")
    params = ds.batch_params(10)[torch.tensor([7])]
    assert float(params.lid_band[0, 0]) == 0.0
    out = EyeRenderer((96, 160)).render(params)
    assert torch.isfinite(out["image"]).all()
