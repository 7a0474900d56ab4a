"""The saliency sampler against the paper's math (Recasens et al. 2018, §3) and the conventions in
docs/architecture.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gazezoom.errors import InputValueError, ShapeError
from gazezoom.sampler import (
    SaliencySampler,
    attraction,
    boxes_to_regions,
    frame_to_patch,
    patch_to_frame,
    quads_to_regions,
    random_degrade,
    saliency_grid,
    sample_regions,
    uniform_grid,
    warp,
)

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _rand_saliency(b=3, g=31, seed=0, peaky=1.0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, g * g, generator=gen, dtype=torch.float64) * peaky
    return torch.softmax(logits, 1).view(b, 1, g, g).to(dtype)


def _blob(g=31, cy=15.0, cx=15.0, sigma=2.0, amp=100.0, dtype=torch.float64):
    y, x = torch.meshgrid(torch.arange(g, dtype=dtype), torch.arange(g, dtype=dtype), indexing="ij")
    return (1.0 + amp * torch.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))).view(1, 1, g, g)


def reference_grid(saliency: np.ndarray, fwhm=13.0) -> np.ndarray:
    """Loop-based grid (g, g, 2) straight from the issue's formula (replicate padding), float64."""
    g = saliency.shape[0]
    p = g - 1
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    n = 3 * g - 2
    padded = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            padded[i, j] = saliency[min(max(i - p, 0), g - 1), min(max(j - p, 0), g - 1)]
    out = np.empty((g, g, 2))
    for i in range(g):
        for j in range(g):
            num_x = num_y = den = 0.0
            for a in range(2 * p + 1):
                for b in range(2 * p + 1):
                    k = math.exp(-((a - p) ** 2 + (b - p) ** 2) / (2 * sigma**2))
                    w = padded[i + a, j + b] * k
                    den += w
                    num_x += w * (j + b - p) / p
                    num_y += w * (i + a - p) / p
            out[i, j] = [np.clip(2 * num_x / den - 1, -1, 1), np.clip(2 * num_y / den - 1, -1, 1)]
    return out


# --- properties of the math ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", ["replicate", "reflect"])
def test_uniform_saliency_gives_identity_grid(dtype, mode):
    g = 31
    grid = saliency_grid(torch.ones(2, 1, g, g, dtype=dtype), (g, g), padding_mode=mode)
    lin = torch.linspace(-1, 1, g, dtype=dtype)
    torch.testing.assert_close(grid[..., 0], lin.view(1, 1, g).expand(2, g, g), atol=1e-5, rtol=0)
    torch.testing.assert_close(grid[..., 1], lin.view(1, g, 1).expand(2, g, g), atol=1e-5, rtol=0)


@pytest.mark.parametrize("peaky", [0.5, 3.0, 8.0])
@pytest.mark.parametrize("mode", ["replicate", "reflect"])
def test_grid_inside_range_and_monotone(peaky, mode):
    sal = _rand_saliency(4, peaky=peaky)
    for out in [(31, 31), (36, 60), (24, 40), (48, 80)]:
        grid = saliency_grid(sal, out, padding_mode=mode)
        assert grid.shape == (4, *out, 2)
        assert float(grid.abs().max()) <= 1.0
        # x never decreases along a row, y never along a column (the warp does not fold).
        assert float(grid[..., 0].diff(dim=2).min()) >= -1e-6
        assert float(grid[..., 1].diff(dim=1).min()) >= -1e-6


def test_scale_invariance():
    sal = _rand_saliency(2, peaky=2.0, dtype=torch.float64)
    a = saliency_grid(sal, (36, 60))
    for c in [1e-3, 7.0, 1e4]:
        torch.testing.assert_close(saliency_grid(sal * c, (36, 60)), a, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cy,cx", [(15.0, 15.0), (12.0, 19.0), (18.0, 10.0)])
def test_blob_centre_maps_to_itself_and_is_magnified(cy, cx):
    g = 31
    grid = saliency_grid(_blob(g, cy, cx), (g, g))[0]  # (g, g, 2)
    centre = grid[int(cy), int(cx)]
    expected = torch.tensor([2 * cx / (g - 1) - 1, 2 * cy / (g - 1) - 1], dtype=grid.dtype)
    assert float((centre - expected).abs().max()) < 0.03, (centre, expected)
    # Magnified: around the blob one output cell covers much less of the input than the uniform 2/(g-1).
    step_x = float(grid[int(cy), int(cx) + 1, 0] - grid[int(cy), int(cx) - 1, 0]) / 2
    step_y = float(grid[int(cy) + 1, int(cx), 1] - grid[int(cy) - 1, int(cx), 1]) / 2
    uniform = 2 / (g - 1)
    assert step_x < 0.6 * uniform and step_y < 0.6 * uniform


def test_reflect_padding_stops_the_implicit_crop():
    """FOVEA's anti-crop: a strong central blob pulls the replicate-padded border inwards (an implicit crop);
    reflect padding keeps the grid reaching the image edges."""
    sal = _blob(31, 15, 15, sigma=2.0, amp=400.0)
    rep = saliency_grid(sal, (31, 31), padding_mode="replicate")[0]
    ref = saliency_grid(sal, (31, 31), padding_mode="reflect")[0]
    assert float(rep[15, 0, 0]) > -0.8  # cropped: the left edge is never seen
    assert float(ref[15, 0, 0]) < float(rep[15, 0, 0]) - 0.1


# --- reference implementations ------------------------------------------------------------------------------


def test_matches_loop_reference():
    g = 9
    sal = _rand_saliency(2, g=g, peaky=2.0, dtype=torch.float64)
    fast = saliency_grid(sal, (g, g), fwhm=4.0)
    for b in range(2):
        ref = reference_grid(sal[b, 0].numpy(), fwhm=4.0)
        np.testing.assert_allclose(fast[b].numpy(), ref, atol=1e-12)


@pytest.mark.slow
def test_matches_loop_reference_paper_size():
    sal = _rand_saliency(1, g=31, peaky=2.0, dtype=torch.float64)
    fast = saliency_grid(sal, (31, 31))
    np.testing.assert_allclose(fast[0].numpy(), reference_grid(sal[0, 0].numpy()), atol=1e-12)


@pytest.mark.parametrize("mode", ["replicate", "reflect"])
def test_separable_equals_dense(mode):
    for peaky in [0.5, 3.0, 6.0]:
        s64 = _rand_saliency(4, peaky=peaky, dtype=torch.float64, seed=int(peaky * 10))
        a = attraction(s64, padding_mode=mode, separable=True)
        b = attraction(s64, padding_mode=mode, separable=False)
        assert float((a - b).abs().max()) <= 1e-12
        # float32: the separable path stays within 1e-6 of the exact (float64 dense) answer.
        a32 = attraction(s64.float(), padding_mode=mode, separable=True)
        assert float((a32.double() - b).abs().max()) <= 1e-6


def test_gradcheck_grid_and_warp():
    sal = _rand_saliency(1, g=7, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: saliency_grid(s, (5, 9), fwhm=3.0), (sal,))
    assert torch.autograd.gradcheck(lambda s: saliency_grid(s, (5, 9), fwhm=3.0, separable=False), (sal,))
    img = torch.rand(1, 2, 6, 8, dtype=torch.float64, requires_grad=True)
    grid = (torch.rand(1, 4, 5, 2, dtype=torch.float64) * 1.6 - 0.8).requires_grad_(True)
    assert torch.autograd.gradcheck(warp, (img, grid))


def test_warp_align_corners_true_identity():
    img = torch.rand(2, 3, 20, 30, dtype=torch.float64)
    out = warp(img, uniform_grid((20, 30), 2, dtype=torch.float64))
    torch.testing.assert_close(out, img, atol=1e-12, rtol=0)


# --- the module -----------------------------------------------------------------------------------------------


def test_module_equals_functions():
    torch.manual_seed(0)
    s = SaliencySampler(out_size=(24, 40), low_size=(18, 30)).eval()
    torch.nn.init.normal_(s.saliency_net[-1].weight, std=0.5)
    img = torch.rand(2, 3, 96, 160)
    out = s(img)
    low = torch.nn.functional.adaptive_avg_pool2d(img, (18, 30))
    logits = torch.nn.functional.interpolate(s.saliency_net(low), size=(31, 31), mode="bilinear", align_corners=False)
    sal = torch.softmax(logits.flatten(1), 1).view(2, 1, 31, 31)
    grid = saliency_grid(sal, (24, 40))
    torch.testing.assert_close(out.saliency, sal)
    torch.testing.assert_close(out.grid, grid)
    torch.testing.assert_close(out.patch, warp(img, grid))
    assert float(out.saliency.detach().sum((1, 2, 3)).sub(1).abs().max()) < 1e-5


def test_untrained_module_samples_uniformly_and_gets_gradients():
    s = SaliencySampler(out_size=(31, 31), low_size=(16, 16))
    img = torch.rand(2, 3, 64, 64, requires_grad=True)
    out = s(img)
    lin = torch.linspace(-1, 1, 31)
    torch.testing.assert_close(out.grid[0, 0, :, 0], lin, atol=1e-5, rtol=0)
    out.patch.square().mean().backward()
    assert img.grad is not None and float(img.grad.abs().sum()) > 0
    last = s.saliency_net[-1]
    assert last.weight.grad is not None and float(last.weight.grad.abs().sum()) > 0


def test_training_degradation_only_in_training_mode():
    torch.manual_seed(0)
    s = SaliencySampler(out_size=(24, 40), low_size=(12, 20), degrade=1.0)
    img = torch.rand(1, 3, 48, 80)
    with torch.no_grad():
        s.eval()
        clean = s(img).patch
        s.train()
        degraded = s(img).patch
    assert not torch.allclose(clean, degraded)
    d = random_degrade(clean, min_factor=2, max_factor=2)
    # Degraded patches lose high frequencies: smaller neighbour differences.
    assert float(d.diff(dim=-1).abs().mean()) < float(clean.diff(dim=-1).abs().mean())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_deterministic(dtype):
    s = SaliencySampler(out_size=(24, 40), low_size=(12, 20)).to(dtype).eval()
    torch.nn.init.normal_(s.saliency_net[-1].weight, std=0.5)
    img = torch.rand(2, 3, 48, 80, dtype=dtype)
    a, b = s(img), s(img)
    assert torch.equal(a.patch, b.patch) and torch.equal(a.grid, b.grid)
    assert a.patch.dtype == dtype


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    sal = _rand_saliency(3, peaky=3.0)
    cpu = saliency_grid(sal, (36, 60))
    gpu = saliency_grid(sal.cuda(), (36, 60)).cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-5, rtol=0)


# --- regions of a full-resolution frame -----------------------------------------------------------------------


def test_region_sampling_equals_exact_crop():
    frame = torch.rand(2, 3, 72, 128, dtype=torch.float64)
    boxes = torch.tensor([[10.0, 5.0, 49.0, 28.0], [70.0, 30.0, 109.0, 53.0], [0.0, 0.0, 39.0, 23.0]], dtype=torch.float64)
    regions = boxes_to_regions(boxes)
    patches = sample_regions(frame, regions, (24, 40), batch_index=torch.tensor([0, 1, 1]))
    torch.testing.assert_close(patches[0], frame[0, :, 5:29, 10:50], atol=1e-10, rtol=0)
    torch.testing.assert_close(patches[1], frame[1, :, 30:54, 70:110], atol=1e-10, rtol=0)
    torch.testing.assert_close(patches[2], frame[1, :, 0:24, 0:40], atol=1e-10, rtol=0)
    one = sample_regions(frame[:1], regions[[0, 2]], (24, 40))  # one frame, no batch_index: every region reads it
    torch.testing.assert_close(one[0], frame[0, :, 5:29, 10:50], atol=1e-10, rtol=0)
    torch.testing.assert_close(one[1], frame[0, :, 0:24, 0:40], atol=1e-10, rtol=0)
    zeros = torch.zeros(2, dtype=torch.long)
    torch.testing.assert_close(sample_regions(frame[:1], regions[[0, 2]], (24, 40), batch_index=zeros), one)


def test_quad_regions_equal_boxes_and_rotate():
    boxes = torch.tensor([[10.0, 5.0, 49.0, 28.0]], dtype=torch.float64)
    quad = torch.tensor([[[10.0, 5.0], [49.0, 5.0], [49.0, 28.0], [10.0, 28.0]]], dtype=torch.float64)
    torch.testing.assert_close(quads_to_regions(quad), boxes_to_regions(boxes), atol=1e-9, rtol=0)
    # A quad turned by 90° (its TL corner at the crop's bottom-left) reads the crop turned clockwise.
    frame = torch.rand(1, 1, 40, 40, dtype=torch.float64)
    rot = torch.tensor([[[5.0, 24.0], [5.0, 5.0], [24.0, 5.0], [24.0, 24.0]]], dtype=torch.float64)
    patch = sample_regions(frame, quads_to_regions(rot), (20, 20))
    torch.testing.assert_close(patch[0, 0], torch.rot90(frame[0, 0, 5:25, 5:25], -1), atol=1e-9, rtol=0)


def test_forward_regions_reads_full_resolution_frame():
    """With flat saliency the region path equals a plain crop-and-resize of the full-resolution frame."""
    s = SaliencySampler(out_size=(31, 31), low_size=(16, 16)).double().eval()
    frame = torch.rand(1, 3, 100, 150, dtype=torch.float64)
    regions = boxes_to_regions(torch.tensor([[20.0, 10.0, 80.0, 70.0], [60.0, 20.0, 120.0, 80.0]], dtype=torch.float64))
    out = s.forward_regions(frame, regions)
    ref = sample_regions(frame, regions, (31, 31))
    torch.testing.assert_close(out.patch, ref, atol=1e-5, rtol=0)
    # With a non-flat saliency the patch is the frame sampled at the composed grid.
    torch.nn.init.normal_(s.saliency_net[-1].weight, std=1.0)
    out = s.forward_regions(frame, regions)
    ref = sample_regions(frame, regions, (31, 31), grid=out.grid)
    torch.testing.assert_close(out.patch, ref)


def test_point_mapping_round_trip():
    sal = _rand_saliency(2, peaky=2.0, dtype=torch.float64)
    grid = saliency_grid(sal, (36, 60), padding_mode="reflect")
    quads = torch.tensor(
        [[[100.0, 50.0], [220.0, 60.0], [215.0, 130.0], [95.0, 120.0]], [[400.0, 300.0], [520.0, 290.0], [525.0, 362.0], [405.0, 370.0]]],
        dtype=torch.float64,
    )
    regions = quads_to_regions(quads)
    gen = torch.Generator().manual_seed(1)
    pts = torch.rand(2, 50, 2, generator=gen, dtype=torch.float64) * torch.tensor([57.0, 33.0], dtype=torch.float64) + 1.5
    frame_pts = patch_to_frame(pts, grid, regions)
    back = frame_to_patch(frame_pts, grid, regions)
    assert not bool(torch.isnan(back).any())
    torch.testing.assert_close(back, pts, atol=1e-3, rtol=0)
    # A frame point far outside the region is not in the patch.
    far = frame_to_patch(torch.tensor([[[0.0, 0.0]], [[0.0, 0.0]]], dtype=torch.float64), grid, regions)
    assert bool(torch.isnan(far).all())


def test_patch_to_frame_with_uniform_grid_is_the_box():
    regions = boxes_to_regions(torch.tensor([[10.0, 20.0, 49.0, 43.0]]))
    grid = uniform_grid((24, 40), 1)
    pts = torch.tensor([[[0.0, 0.0], [39.0, 23.0], [19.5, 11.5]]])
    torch.testing.assert_close(patch_to_frame(pts, grid, regions), torch.tensor([[[10.0, 20.0], [49.0, 43.0], [29.5, 31.5]]]))


# --- export ----------------------------------------------------------------------------------------------------


def test_onnx_export_matches(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    s = SaliencySampler(out_size=(24, 40), low_size=(12, 20)).eval()
    torch.nn.init.normal_(s.saliency_net[-1].weight, std=0.5)
    img = torch.rand(2, 3, 48, 80)
    path = tmp_path / "sampler.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(s, (img,), str(path), input_names=["image"], output_names=["patch", "grid", "saliency"],
                          opset_version=17, dynamo=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    patch, grid, sal = sess.run(None, {"image": img.numpy()})
    ref = s(img)
    np.testing.assert_allclose(sal, ref.saliency.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(grid, ref.grid.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(patch, ref.patch.detach().numpy(), atol=1e-4)


# --- bad input -------------------------------------------------------------------------------------------------


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(ShapeError, match=r"\(B, 1, g, g\)"):
        saliency_grid(torch.ones(31, 31), (24, 40))
    with pytest.raises(ShapeError, match=r"\(B, 1, g, g\)"):
        saliency_grid(torch.ones(1, 2, 31, 31), (24, 40))
    with pytest.raises(InputValueError, match="non-negative"):
        saliency_grid(-torch.ones(1, 1, 31, 31), (24, 40))
    with pytest.raises(InputValueError, match="NaN"):
        saliency_grid(torch.full((1, 1, 31, 31), float("nan")), (24, 40))
    with pytest.raises(InputValueError, match="padding_mode"):
        saliency_grid(torch.ones(1, 1, 31, 31), (24, 40), padding_mode="circular")
    with pytest.raises(InputValueError, match="out_size"):
        saliency_grid(torch.ones(1, 1, 31, 31), (0, 40))
    with pytest.raises(ShapeError, match=r"\(B, C, H, W\)"):
        warp(torch.ones(3, 10, 10), torch.zeros(1, 4, 4, 2))
    with pytest.raises(InputValueError, match="empty region"):
        boxes_to_regions(torch.tensor([[10.0, 10.0, 5.0, 20.0]]))
    with pytest.raises(InputValueError, match="empty region"):
        quads_to_regions(torch.tensor([[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]]))
    with pytest.raises(InputValueError, match="no regions"):
        sample_regions(torch.rand(1, 3, 20, 20), torch.zeros(0, 3, 3), (4, 4))
    with pytest.raises(ShapeError, match=r"\(N, 3, 3\)"):
        sample_regions(torch.rand(1, 3, 20, 20), torch.eye(3), (4, 4))
    with pytest.raises(ShapeError, match="batch_index"):
        sample_regions(torch.rand(2, 3, 20, 20), torch.eye(3).expand(3, 3, 3), (4, 4))
    with pytest.raises(InputValueError, match="must be 0 for a single frame"):
        sample_regions(torch.rand(1, 3, 20, 20), torch.eye(3).expand(2, 3, 3), (4, 4), batch_index=torch.tensor([0, 1]))
    with pytest.raises(InputValueError, match="out of range for 2 frames"):
        sample_regions(torch.rand(2, 3, 20, 20), torch.eye(3).expand(3, 3, 3), (4, 4), batch_index=torch.tensor([0, 1, 2]))
    with pytest.raises(InputValueError, match="grid_size"):
        SaliencySampler(grid_size=1)
    with pytest.raises(InputValueError, match="region_oversample"):
        SaliencySampler(region_oversample=0)


def test_cached_kernels_built_in_inference_mode_serve_training():
    sal = _rand_saliency(1, g=13, peaky=1.0)
    with torch.inference_mode():
        saliency_grid(sal, (8, 8), fwhm=5.5)
    s = sal.clone().requires_grad_(True)
    saliency_grid(s, (8, 8), fwhm=5.5).sum().backward()
    assert s.grad is not None


def test_grid_magnification_of_a_saliency_zoom():
    """A saliency peak magnifies the grid around it (> 1) and squeezes the rest (< 1); a flat saliency is ~1."""
    from gazezoom.sampler import grid_magnification, magnification_at, saliency_grid

    g = 31
    flat = torch.full((1, 1, g, g), 1.0 / (g * g))
    peak = flat.clone()
    peak[0, 0, 20, 10] += 0.2  # row 20 (y > 0), column 10 (x < 0)
    peak /= peak.sum()
    out = (36, 60)
    m_flat = grid_magnification(saliency_grid(flat, out, fwhm=13.0))
    assert 0.85 < float(m_flat.median()) < 1.15
    grid = saliency_grid(peak, out, fwhm=13.0)
    centre = torch.tensor([[2 * 10 / (g - 1) - 1, 2 * 20 / (g - 1) - 1]])  # the peak cell in region units
    far = torch.tensor([[0.9, -0.9]])
    assert float(magnification_at(grid, centre)) > 1.5 > 1.0 > float(magnification_at(grid, far))
    with pytest.raises(ShapeError):
        magnification_at(grid, centre[0])
