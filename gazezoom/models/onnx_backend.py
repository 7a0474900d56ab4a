"""Inference backends for the two-eye path: the same graph in torch or in ONNX Runtime.

The per-frame gaze path is one function of a frame crop and the eye regions' homographies:
``crop (1, 3, h, w)`` RGB [0, 1] and ``region_to_frame (N, 3, 3)`` (region → crop pixels) →
``pitchyaw (N, 2)``, ``patch (N, 3, ph, pw)``, ``grid (N, ph, pw, 2)`` and, for the sampler, ``saliency (N, 1, g, g)``.
:class:`RegionGazeGraph` is that function as an ``nn.Module`` (what ``gazezoom export`` writes to ONNX, sampler and
gaze network in one graph, crop size and N dynamic); :data:`BACKENDS` maps a backend name to a runner with that
signature:

* ``"torch"``: the module itself (BatchNorm folded when the caller passes a folded copy);
* ``"onnx"``: an ONNX Runtime session on ``gaze_<variant>.onnx`` shipped beside the weights.

Which one a predictor uses is the explicit setting :data:`DEFAULT_BACKEND` (see docs/training_at_scale.md for the
measurement behind it); ``"auto"`` takes ONNX Runtime when it is installed and the ``.onnx`` file is present,
torch otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import InputValueError, ModelFileError, ShapeError, WeightsMismatchError
from ..registry import Registry
from ..sampler import sample_regions

__all__ = [
    "RegionGazeGraph",
    "OnnxRegionGaze",
    "BACKENDS",
    "DEFAULT_BACKEND",
    "onnx_path",
    "make_runner",
    "region_views",
    "view_spec",
    "resolve_backend",
]

#: The backend a :class:`~gazezoom.models.GazePredictor` uses unless told otherwise. ``"auto"``: ONNX Runtime where
#: it is installed and the exported ``.onnx`` lies beside the weights (faster on the CPUs we measured), else torch.
DEFAULT_BACKEND = "auto"

OUTPUTS_SAMPLER = ("pitchyaw", "patch", "grid", "saliency")
OUTPUTS_PLAIN = ("pitchyaw", "patch", "grid")


class RegionGazeGraph(nn.Module):
    """The two-eye inference path of a :class:`~gazezoom.models.GazeNet` as one module.

    ``forward(crop (1, 3, h, w), region_to_frame (N, 3, 3))`` → ``(pitchyaw, patch, grid[, saliency])``. For the
    sampler the zoomed patch is read straight from the full-resolution crop (``forward_regions``); the other variants
    read the ``region_size`` region, as in training, and resample it.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.eval()
        self.zooms = hasattr(model.front, "sampler")
        self.eval()  # an inference graph: torch.onnx.export restores the mode it found, and train() would reach model

    @property
    def output_names(self) -> tuple[str, ...]:
        return OUTPUTS_SAMPLER if self.zooms else OUTPUTS_PLAIN

    def forward(self, crop: torch.Tensor, region_to_frame: torch.Tensor, view: torch.Tensor | None = None):
        """``view``: what the graph reads through the regions before its network, when the caller has read it
        (:func:`region_views`) — the sampler's low-resolution view, or the whole region for the other variants;
        None: read here with ``grid_sample``."""
        m = self.model
        if torch.jit.is_tracing():
            region_to_frame = _traceable_crop_size(crop, region_to_frame)
        if self.zooms:
            patch, grid, saliency = m.front.forward_regions(crop, region_to_frame, low=view)  # model helper: supersampling
            return m.head(patch, grid), patch, grid, saliency
        region = sample_regions(crop, region_to_frame, m.config.region_size) if view is None else view  # (N, 3, H, W)
        o = m(region)
        return o.pitchyaw, o.patch, o.grid


def _traceable_crop_size(crop: torch.Tensor, region_to_frame: torch.Tensor) -> torch.Tensor:
    """Make an exported graph valid for every crop size.

    ``region_grid`` turns pixels into ``grid_sample`` units with the crop size as Python numbers, which a trace
    freezes at the example's ``(h0, w0)``. Rescaling the homography's x and y rows by ``(w0 - 1) / (w - 1)`` and
    ``(h0 - 1) / (h - 1)``, with ``(h, w)`` read from the crop as a traced shape tensor, cancels that: the product
    is ``2 / (w - 1)`` for whatever crop runs. On the example itself both factors are 1.
    """
    from torch.onnx.operators import shape_as_tensor

    h0, w0 = int(crop.shape[2]), int(crop.shape[3])  # int(): frozen by the trace, exactly like region_grid's
    hw = shape_as_tensor(crop)[2:].to(region_to_frame.dtype)  # (2,) traced: the run-time (h, w)
    one = torch.ones_like(hw[:1])
    rows = torch.cat([(w0 - 1) / (hw[1:] - 1), (h0 - 1) / (hw[:1] - 1), one])  # (3,)
    return region_to_frame * rows.view(1, 3, 1)


def view_spec(model: nn.Module) -> dict:
    """What a model's two-eye graph reads through the regions before its network, as JSON-able settings for
    :func:`region_views` — ``{"input": graph input name, "pre": 3×3 region → region map, "read": [h, w], "pool": k}``:
    for the sampler its low-resolution view (``"low"``, :meth:`~gazezoom.models.variants._Zoom.view_maps`), for the
    other variants the whole region at ``region_size`` (``"region"``)."""
    front = getattr(model, "front", None)
    if hasattr(front, "view_maps"):
        pre, read, pool = front.view_maps(torch.eye(3, dtype=torch.float64)[None])
        return {"input": "low", "pre": pre[0].tolist(), "read": list(read), "pool": int(pool)}
    return {"input": "region", "pre": np.eye(3).tolist(), "read": list(model.config.region_size), "pool": 1}


def region_views(crop: torch.Tensor, region_to_frame: torch.Tensor, spec: dict) -> torch.Tensor:
    """What the two-eye graph reads of ``N`` regions before its network (:func:`view_spec`), read with OpenCV:
    ``crop (1, 3, h, w)`` float32 and ``region_to_frame (N, 3, 3)`` (region → crop pixels) →
    ``(N, 3, read_h / pool, read_w / pool)`` float32.

    The same read as :func:`gazezoom.sampler.sample_regions` (+ the sampler's ``avg_pool2d``) makes with
    ``grid_sample`` — bilinear at a ``read`` grid spanning the region corner to corner, ``align_corners``, zero outside
    the crop, then a ``pool × pool`` mean: equal to float rounding (tests/test_export.py), and ~10× cheaper on the CPU,
    where ONNX Runtime's GridSample of the sampler's view was a quarter of the whole two-eye graph's time.
    """
    import cv2

    h, w = spec["read"]
    k = int(spec["pool"])
    # view pixel (x, y) → region units (align_corners: pixel 0 and w - 1 are the region's edges) → crop pixels
    A = np.array([[2.0 / max(w - 1, 1), 0.0, -1.0], [0.0, 2.0 / max(h - 1, 1), -1.0], [0.0, 0.0, 1.0]])
    maps = region_to_frame.detach().double().cpu().numpy() @ np.asarray(spec["pre"], np.float64) @ A
    src = np.ascontiguousarray(crop.detach()[0].permute(1, 2, 0).float().cpu().numpy())  # (h, w, 3)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = []
    for M in maps:
        v = cv2.warpPerspective(src, M, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        out.append(cv2.resize(v, (w // k, h // k), interpolation=cv2.INTER_AREA) if k > 1 else v)  # exact k×k mean
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)


#: ONNX metadata key holding how the graph's ``low`` / ``region`` input is read (:func:`view_spec`); absent: no such
#: input (an export made before the reads moved to OpenCV).
VIEW_KEY = "gazezoom_region_view"
#: ONNX metadata key holding the SHA-256 of the safetensors file an export was made from.
WEIGHTS_SHA_KEY = "gazezoom_weights_sha256"
#: ONNX metadata key holding the model settings (``ModelConfig.to_json()``) the graph was traced with: the sidecar
#: can change them without touching the tensors (e.g. ``infer_supersample``), and the graph bakes them in.
CONFIG_KEY = "gazezoom_model_config"


def onnx_path(weights: str | Path) -> Path:
    """``gaze_<slug>.onnx`` beside ``gaze_<slug>.safetensors`` (or the stem)."""
    p = Path(weights)
    return (p.with_suffix("") if p.suffix in (".safetensors", ".json", ".onnx") else p).with_suffix(".onnx")


class OnnxRegionGaze:
    """ONNX Runtime session on an exported :class:`RegionGazeGraph`; called like it, returns torch tensors (CPU).

    ``threads``: intra-op threads (0 = ONNX Runtime's choice).
    """

    def __init__(self, path: str | Path, *, threads: int = 0, providers: list[str] | None = None,
                 weights: str | Path | None = None):
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise InputValueError(
                "the ONNX backend needs onnxruntime; `pip install onnxruntime` (or gazezoom[onnx]) or use backend 'torch'"
            ) from err
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"ONNX model {self.path} not found; write it with `gazezoom export --weights "
                                 f"{self.path.parent}` or use backend 'torch'")
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            so.intra_op_num_threads = int(threads)
            so.inter_op_num_threads = 1
        # ORT's pool spin-waits after each run by default, stealing the cores torch needs for the rest of the frame
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(self.path), so, providers=providers or ["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types for corrupt files
            raise ModelFileError(f"{self.path} is not a loadable ONNX model ({err}); re-run `gazezoom export`") from err
        self.output_names = tuple(o.name for o in self.session.get_outputs())
        # graphs exported since the reads moved to OpenCV take what they read through the regions as an input
        # ("low": the sampler's view, "region": the others'; region_views); older exports read it inside
        self.view = None
        self.input_names = tuple(i.name for i in self.session.get_inputs())
        if set(self.input_names) & {"low", "region"}:
            meta = self.session.get_modelmeta().custom_metadata_map
            if VIEW_KEY not in meta:
                raise ModelFileError(f"{self.path} takes a view of the regions but does not say how to read it "
                                     f"({VIEW_KEY}); re-run `gazezoom export`")
            try:
                self.view = json.loads(meta[VIEW_KEY])
                if not ({"input", "pre", "read", "pool"} <= set(self.view) and self.view["input"] in self.input_names):
                    raise ValueError(f"needs input, pre, read and pool naming one of its inputs, got {self.view}")
            except ValueError as err:  # json.JSONDecodeError is a ValueError
                raise ModelFileError(f"{self.path}: its {VIEW_KEY} metadata is unreadable ({err}); re-run "
                                     "`gazezoom export`") from err
        if weights is not None and Path(weights).suffix == ".safetensors" and Path(weights).is_file():
            self._check_matches(Path(weights))

    def _check_matches(self, weights: Path) -> None:
        """Refuse an export made from other weights (e.g. the weights were retrained after `gazezoom export`) or
        with other settings (the sidecar's model config was edited after it)."""
        from ..fileio import file_sha256
        from .checkpoint import read_sidecar
        from .variants import ModelConfig

        meta = self.session.get_modelmeta().custom_metadata_map
        stored = meta.get(WEIGHTS_SHA_KEY)
        actual = file_sha256(weights)
        fix = f"re-run `gazezoom export --weights {weights.parent}` or use backend 'torch'"
        if stored != actual:
            why = "records no weights hash" if stored is None else f"was exported from other weights ({stored[:12]})"
            raise WeightsMismatchError(f"{self.path} {why}, not from {weights.name} ({actual[:12]}); {fix}")
        sidecar = weights.with_suffix(".json")
        if sidecar.is_file():
            want = ModelConfig.from_dict(read_sidecar(sidecar)["config"]).to_dict()
            traced = meta.get(CONFIG_KEY)
            have = None if traced is None else ModelConfig.from_dict(json.loads(traced)).to_dict()
            if have != want:
                diff = ("records no model settings" if have is None else "was traced with other model settings (" +
                        ", ".join(f"{k}: {have[k]!r} there, {want[k]!r} in {sidecar.name}"
                                  for k in sorted(want) if have.get(k) != want[k]) + ")")
                raise WeightsMismatchError(f"{self.path} {diff}; {fix}")

    def __call__(self, crop: torch.Tensor, region_to_frame: torch.Tensor):
        if crop.ndim != 4 or crop.shape[:2] != (1, 3):
            raise ShapeError("crop", "(1, 3, h, w)", crop.shape)
        feeds = {}
        # a graph fed the region itself reads neither the crop nor the maps: the exporter drops unused inputs
        if "crop" in self.input_names:
            feeds["crop"] = np.ascontiguousarray(crop.detach().cpu().numpy(), dtype=np.float32)
        if "region_to_frame" in self.input_names:
            feeds["region_to_frame"] = np.ascontiguousarray(region_to_frame.detach().cpu().numpy(), dtype=np.float32)
        if self.view is not None:
            feeds[self.view["input"]] = np.ascontiguousarray(region_views(crop, region_to_frame, self.view).numpy(),
                                                             dtype=np.float32)
        return tuple(torch.from_numpy(a) for a in self.session.run(list(self.output_names), feeds))


#: backend name → ``(model, weights_path | None, threads) -> runner(crop, region_to_frame)``
BACKENDS: Registry[Callable] = Registry("inference backend")
BACKENDS.register("torch", lambda model, weights, threads: RegionGazeGraph(model))
BACKENDS.register("onnx", lambda model, weights, threads: OnnxRegionGaze(onnx_path(weights), threads=threads,
                                                                          weights=weights))


def resolve_backend(name: str | None, weights: str | Path | None) -> str:
    """``None`` → :data:`DEFAULT_BACKEND`; ``"auto"`` → ``"onnx"`` when onnxruntime imports and the exported file is
    beside ``weights``, else ``"torch"``; other names are checked against :data:`BACKENDS`."""
    name = DEFAULT_BACKEND if name is None else name
    if name != "auto":
        BACKENDS.get(name)
        return name
    if weights is None or not onnx_path(weights).is_file():
        return "torch"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch"
    return "onnx"


#: ONNX Runtime intra-op threads of the app's runner: the two-eye graph takes ~1 ms, and a second thread made it
#: slower, not faster (2-core CPU, interleaved with the landmarker: 1.12 ms with 1 thread, 1.25 ms with ORT's
#: default), while taking the core the landmarker needs when the two overlap (``process --overlap``).
ONNX_THREADS = 1


def make_runner(model: nn.Module, weights: str | Path | None = None, backend: str | None = None,
                threads: int = ONNX_THREADS):
    """A runner ``(crop, region_to_frame) -> (pitchyaw, patch, grid[, saliency])`` for ``backend`` (``threads``:
    ONNX Runtime's intra-op threads, 0 = its own choice; torch's are set globally)."""
    return BACKENDS.get(resolve_backend(backend, weights))(model, weights, threads)
