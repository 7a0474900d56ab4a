"""ONNX export of sampler + gaze network, and the ONNX Runtime backend of the predictor (against torch)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gazezoom.errors import InputValueError, ModelFileError, UnknownNameError, WeightsMismatchError
from gazezoom.views import grid_px, to_bgr_u8

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

VARIANTS = ("sampler@P", "uniform@P")


def _model(variant: str):
    """A small untrained model with non-trivial BatchNorm statistics and saliency (SYNTHETIC weights)."""
    from gazezoom.models import ModelConfig, build_model

    torch.manual_seed(0)
    m = build_model(ModelConfig(variant=variant, patch=(12, 20), region_size=(48, 80), low_size=(12, 20)))
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
    if hasattr(m.front, "sampler"):
        torch.nn.init.normal_(m.front.sampler.saliency_net.out.weight, std=0.5)
    return m.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from gazezoom.cli import main
    from gazezoom.models import save_weights

    d = tmp_path_factory.mktemp("weights")
    for v in VARIANTS:
        save_weights(_model(v), d / f"gaze_{v.replace('@', '_')}")
    assert main(["export", "--weights", str(d)]) == 0
    return d


def test_export_writes_verified_onnx_beside_the_weights(exported):
    import onnx

    for v in VARIANTS:
        path = exported / f"gaze_{v.replace('@', '_')}.onnx"
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
        ins = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
        # what the graph reads through the regions, read by the runner with OpenCV (region_views): the saliency's
        # low-resolution view for the sampler (which then reads its zoomed patch from the crop), the whole region
        # for the others (which then need neither the crop nor the maps)
        want = ({"crop": [1, 3, "height", "width"], "region_to_frame": ["regions", 3, 3], "low": ["regions", 3, 12, 20]}
                if v == "sampler@P" else {"region": ["regions", 3, 48, 80]})
        assert ins == want
        outs = [o.name for o in model.graph.output]
        assert outs == (["pitchyaw", "patch", "grid", "saliency"] if v == "sampler@P" else ["pitchyaw", "patch", "grid"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_onnx_runtime_matches_torch_on_other_shapes(exported, variant):
    """Crop sizes and eye counts unlike the traced example (the crop size must not be frozen into the graph)."""
    from gazezoom.commands.export import example_inputs
    from gazezoom.models import load_weights
    from gazezoom.models.onnx_backend import OnnxRegionGaze, RegionGazeGraph

    slug = variant.replace("@", "_")
    sess = OnnxRegionGaze(exported / f"gaze_{slug}.onnx", threads=1)
    graph = RegionGazeGraph(load_weights(exported / f"gaze_{slug}.safetensors"))
    for n, hw in ((1, (50, 70)), (2, (140, 420)), (4, (211, 97))):
        crop, H = example_inputs(n, hw, seed=n)
        with torch.no_grad():
            ref = graph(crop, H)
        got = sess(crop, H)
        assert len(got) == len(ref)
        np.testing.assert_allclose(got[0].numpy(), ref[0].numpy(), atol=1e-5)  # gaze, radians
        np.testing.assert_allclose(got[1].numpy(), ref[1].numpy(), atol=5e-4)  # patch pixels
        np.testing.assert_allclose(got[2].numpy(), ref[2].numpy(), atol=1e-5)  # grid


def test_predictor_backends_agree(exported):
    from gazezoom.models import GazePredictor
    from gazezoom.models.onnx_backend import DEFAULT_BACKEND

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    H = np.array([[[40.0, 2.0, 260.0], [1.0, 24.0, 170.0], [0.0, 0.0, 1.0]],
                  [[-40.0, 2.0, 380.0], [-1.0, 24.0, 172.0], [0.0, 0.0, 1.0]]])  # left eye, mirrored right eye
    for v in VARIANTS:
        t = GazePredictor.from_weights(exported, variant=v, backend="torch")
        o = GazePredictor.from_weights(exported, variant=v, backend="onnx")
        a = GazePredictor.from_weights(exported, variant=v, backend="auto")
        assert (t.backend, o.backend, a.backend) == ("torch", "onnx", "onnx")
        assert GazePredictor.from_weights(exported, variant=v).backend == ("onnx" if DEFAULT_BACKEND in ("auto", "onnx") else "torch")
        rt, ro = t.predict_regions(frame, H), o.predict_regions(frame, H)
        np.testing.assert_allclose(ro.pitchyaw, rt.pitchyaw, atol=1e-5)
        assert np.abs(to_bgr_u8(ro.patch).astype(int) - to_bgr_u8(rt.patch).astype(int)).max() <= 1
        for i in range(len(H)):  # the grids in frame pixels, as the app draws them
            np.testing.assert_allclose(grid_px(H[i], ro.sample(i)), grid_px(H[i], rt.sample(i)), atol=1e-3)
        if v == "sampler@P":
            np.testing.assert_allclose(ro.saliency, rt.saliency, atol=1e-6)


def test_auto_falls_back_to_torch_and_errors_are_typed(exported, tmp_path):
    from gazezoom.cli import main
    from gazezoom.models import GazePredictor, save_weights

    save_weights(_model("uniform@P"), tmp_path / "gaze_uniform_P")  # no .onnx beside it
    assert GazePredictor.from_weights(tmp_path, variant="uniform@P", backend="auto").backend == "torch"
    with pytest.raises(ModelFileError, match="gazezoom export"):
        GazePredictor.from_weights(tmp_path, variant="uniform@P", backend="onnx")
    with pytest.raises(UnknownNameError, match="choose one of: onnx, torch"):
        GazePredictor.from_weights(tmp_path, variant="uniform@P", backend="tensorrt")
    (tmp_path / "gaze_uniform_P.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a loadable ONNX model"):
        GazePredictor.from_weights(tmp_path, variant="uniform@P", backend="onnx")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", "--weights", str(empty)]) == ModelFileError.exit_code
    assert main(["export", "--weights", str(exported), "--opset", "13"]) == InputValueError.exit_code  # bad option


def test_a_stale_export_is_refused_after_retraining(exported, tmp_path):
    """The export records the hash of its safetensors; retrained weights beside an old .onnx are an error."""
    import shutil

    from gazezoom.models import GazePredictor, save_weights

    for f in exported.glob("gaze_uniform_P.*"):
        shutil.copy(f, tmp_path)
    assert GazePredictor.from_weights(tmp_path, variant="uniform@P", backend="onnx").backend == "onnx"
    retrained = _model("uniform@P")
    with torch.no_grad():
        retrained.task.head[-1].bias.add_(0.1)
    save_weights(retrained, tmp_path / "gaze_uniform_P")
    for backend in ("onnx", "auto"):
        with pytest.raises(WeightsMismatchError, match="exported from other weights"):
            GazePredictor.from_weights(tmp_path, variant="uniform@P", backend=backend)
    assert GazePredictor.from_weights(tmp_path, variant="uniform@P", backend="torch").backend == "torch"


def test_verify_rejects_a_graph_of_other_weights(exported, tmp_path):
    from gazezoom.commands.export import verify_onnx

    other = _model("uniform@P")
    with torch.no_grad():
        other.task.head[-1].bias.add_(0.1)  # 0.1 rad off
    with pytest.raises(WeightsMismatchError, match="disagrees with torch"):
        verify_onnx(other, exported / "gaze_uniform_P.onnx")


@pytest.mark.slow
def test_bench_inference_runs(media_dir, capsys):
    from gazezoom.cli import main

    assert main(["bench", "inference", "--untrained", "--variants", "uniform@P", "--repeat", "10", "--threads", "1",
                 "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    names = [k for k in rep["median_ms"] if k.startswith("uniform@P network")]
    assert len(names) == 3 and all(rep["median_ms"][k] > 0 for k in names)
    assert max(rep["agreement"].values()) < 1e-4


@pytest.mark.parametrize("variant", ["sampler@P", "sampler_crop@P"])
def test_supersampled_sampler_exports(tmp_path, variant):
    """The sampler reading a 2P patch and area-pooling it to P (ModelConfig.supersample) exports and verifies too;
    so does the sampler on the central crop (its homography composed with the crop's scaling inside the graph)."""
    from gazezoom.commands.export import export_onnx, verify_onnx
    from gazezoom.models import ModelConfig, build_model, variant_slug

    torch.manual_seed(1)
    m = build_model(ModelConfig(variant=variant, patch=(12, 20), region_size=(48, 80), low_size=(12, 20),
                                supersample=2)).eval()
    torch.nn.init.normal_(m.front.sampler.saliency_net.out.weight, std=0.5)
    diffs = verify_onnx(m, export_onnx(m, tmp_path / f"gaze_{variant_slug(variant)}.onnx"))
    assert diffs["pitchyaw"] < 1e-5 and diffs["patch"] < 5e-4


def test_an_export_traced_with_other_settings_is_refused(exported, tmp_path):
    """Editing the sidecar's model settings (e.g. infer_supersample) after `gazezoom export` changes what the torch
    path computes but not the graph: the ONNX backend refuses the export until it is re-exported."""
    import json
    import shutil

    from gazezoom.cli import main
    from gazezoom.models import GazePredictor

    for f in exported.glob("gaze_sampler_P.*"):
        shutil.copy(f, tmp_path)
    assert GazePredictor.from_weights(tmp_path, variant="sampler@P", backend="onnx").backend == "onnx"
    side = tmp_path / "gaze_sampler_P.json"
    d = json.loads(side.read_text())
    d["config"]["infer_supersample"] = 2
    side.write_text(json.dumps(d))
    with pytest.raises(WeightsMismatchError, match="infer_supersample: 0 there, 2 in gaze_sampler_P.json"):
        GazePredictor.from_weights(tmp_path, variant="sampler@P", backend="onnx")
    assert main(["export", "--weights", str(tmp_path), "--variants", "sampler@P"]) == 0
    assert GazePredictor.from_weights(tmp_path, variant="sampler@P", backend="onnx").backend == "onnx"


@pytest.mark.parametrize("variant", ["sampler@P", "sampler_crop@P", "uniform@P"])
def test_region_views_read_what_the_graph_reads(variant):
    """OpenCV's read equals the grid_sample read of the graph (bilinear, align_corners, zero outside the crop, k×k
    mean): the saliency's view for the sampler, the whole region for the others — mirrored regions, perspective,
    and regions reaching past the crop's border."""
    import torch.nn.functional as F

    from gazezoom.commands.export import example_inputs
    from gazezoom.models import ModelConfig, build_model
    from gazezoom.models.onnx_backend import RegionGazeGraph, region_views, view_spec
    from gazezoom.sampler import sample_regions

    model = build_model(ModelConfig(variant=variant, patch=(12, 20), region_size=(48, 80), low_size=(12, 20))).eval()
    spec = view_spec(model)
    zooms = variant.startswith("sampler")
    assert (spec["input"], spec["read"], spec["pool"]) == (("low", [24, 40], 2) if zooms else ("region", [48, 80], 1))
    size = (12, 20) if zooms else (48, 80)
    graph = RegionGazeGraph(model)
    for n, hw, seed in ((2, (140, 420), 0), (3, (61, 97), 1)):
        crop, H = example_inputs(n, hw, seed)
        H[0, :2, 2] = 0.0  # the first region is centred on the crop's top-left corner: three quarters outside
        maps, read, k = model.front.view_maps(H) if zooms else (H, (48, 80), 1)
        want = F.avg_pool2d(sample_regions(crop, maps, read), k)
        got = region_views(crop, H, spec)
        assert got.shape == want.shape == (n, 3, *size)
        assert float(want[0].min()) == 0.0  # the border case is really exercised (zeros read outside)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-5 if zooms else 1e-4)  # random-noise crops
        # and the graph given that view gives what it gives when it reads the view itself
        with torch.no_grad():
            a, b = graph(crop, H), graph(crop, H, got)
        np.testing.assert_allclose(b[0].numpy(), a[0].numpy(), atol=1e-4)
        np.testing.assert_allclose(b[1].numpy(), a[1].numpy(), atol=1e-4)


def test_forward_regions_refuses_a_view_of_the_wrong_shape():
    from gazezoom.commands.export import example_inputs
    from gazezoom.errors import ShapeError
    from gazezoom.models import ModelConfig, build_model

    model = build_model(ModelConfig(variant="sampler@P", patch=(12, 20), region_size=(48, 80), low_size=(12, 20)))
    crop, H = example_inputs(2)
    with pytest.raises(ShapeError, match="low"):
        model.front.forward_regions(crop, H, low=torch.zeros(2, 3, 24, 40))


def test_an_export_without_the_low_view_input_still_runs(tmp_path):
    """Graphs exported before the view moved to OpenCV read it inside; the runner feeds them as before. A graph
    that takes the view but does not say how to read it is refused."""
    import onnx

    from gazezoom.commands.export import example_inputs
    from gazezoom.models.onnx_backend import OnnxRegionGaze, RegionGazeGraph

    graph = RegionGazeGraph(_model("sampler@P"))
    crop, H = example_inputs()
    old = tmp_path / "old.onnx"
    with torch.no_grad():
        torch.onnx.export(graph, (crop, H), str(old), input_names=["crop", "region_to_frame"],
                          output_names=list(graph.output_names), opset_version=17, dynamo=False)
    sess = OnnxRegionGaze(old, threads=1)
    assert sess.view is None
    with torch.no_grad():
        ref = graph(crop, H)
    np.testing.assert_allclose(sess(crop, H)[0].numpy(), ref[0].numpy(), atol=1e-5)

    from gazezoom.models.onnx_backend import region_views, view_spec

    new = tmp_path / "new.onnx"
    with torch.no_grad():
        torch.onnx.export(graph, (crop, H, region_views(crop, H, view_spec(graph.model))), str(new),
                          input_names=["crop", "region_to_frame", "low"], output_names=list(graph.output_names),
                          opset_version=17, dynamo=False)
    with pytest.raises(ModelFileError, match="view of the regions"):
        OnnxRegionGaze(new, threads=1)
    # metadata that cannot be read is refused the same way, with what to do
    from gazezoom.models.onnx_backend import VIEW_KEY

    proto = onnx.load(str(new))
    entry = proto.metadata_props.add()
    entry.key, entry.value = VIEW_KEY, "{not json"
    onnx.save(proto, str(new))
    with pytest.raises(ModelFileError, match="re-run `gazezoom export`"):
        OnnxRegionGaze(new, threads=1)
