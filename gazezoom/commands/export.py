"""``gazezoom export``: write each trained variant's sampler + gaze network as one ONNX graph beside its weights.

``weights/gaze_<slug>.onnx`` takes the frame crop around the eyes ``crop (1, 3, h, w)`` (RGB, [0, 1]) and the
regions' homographies ``region_to_frame (N, 3, 3)`` (region → crop pixels; crop size and N are dynamic) and what
the graph reads through them before its network — ``low (N, 3, h, w)``, the saliency's low-resolution view, for the
sampler, ``region (N, 3, H, W)`` for the others — which the runner reads with OpenCV
(:func:`gazezoom.models.onnx_backend.region_views`; how, in the graph's metadata), and returns
``pitchyaw (N, 2)``, ``patch``, ``grid`` and, for the sampler, ``saliency`` — the same function the torch predictor
runs (:class:`gazezoom.models.onnx_backend.RegionGazeGraph`, BatchNorm folded). Every export is checked against
torch on inputs of another crop size and eye count than the ones traced; a mismatch is an error.

    gazezoom export --weights weights            # every variant found there
    gazezoom export --weights weights --variants sampler@P --opset 17
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import InputValueError, ModelFileError, WeightsMismatchError
from ..fileio import WEIGHTS_DIR

__all__ = ["example_inputs", "export_onnx", "verify_onnx", "add_arguments", "run"]

#: Largest accepted |ONNX − torch| (float32) for gaze (radians) and for patch pixels ([0, 1]).
TOLERANCE = {"pitchyaw": 1e-4, "patch": 1e-3, "grid": 1e-4, "saliency": 1e-5}


def example_inputs(n_eyes: int = 2, crop_hw=(140, 420), seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A random crop ``(1, 3, h, w)`` and ``n_eyes`` eye regions inside it ``(n_eyes, 3, 3)``, odd ones mirrored
    (right eyes), with a little perspective — inputs shaped like the predictor's."""
    g = torch.Generator().manual_seed(seed)
    h, w = crop_hw
    crop = torch.rand(1, 3, h, w, generator=g)
    Hs = []
    for i in range(n_eyes):
        cx = w * (i + 0.5) / n_eyes + float(torch.randn((), generator=g)) * 3
        cy = h / 2 + float(torch.randn((), generator=g)) * 3
        sx, sy = 0.35 * w / n_eyes, 0.3 * h
        H = np.array([[sx * (-1 if i % 2 else 1), 0.05 * sx, cx], [0.02 * sy, sy, cy], [1e-3, -2e-3, 1.0]])
        Hs.append(H)
    return crop, torch.tensor(np.stack(Hs), dtype=torch.float32)


def _graph(model: torch.nn.Module) -> torch.nn.Module:
    """The predictor's inference graph of ``model`` on the CPU: a BatchNorm-folded copy (``model`` is left as it is)."""
    import copy

    from ..models.nets import fold_batchnorm
    from ..models.onnx_backend import RegionGazeGraph

    return RegionGazeGraph(fold_batchnorm(copy.deepcopy(model).cpu().eval()))


def export_onnx(model: torch.nn.Module, path: str | Path, *, opset: int = 17, weights_sha256: str | None = None) -> Path:
    """Export ``model`` (a GazeNet, eval) as ONNX at ``path`` (TorchScript exporter, ``dynamo=False``).

    ``weights_sha256``: hash of the safetensors file the model came from, stored in the graph's metadata
    (:data:`~gazezoom.models.onnx_backend.WEIGHTS_SHA_KEY`) together with the model settings the graph was traced
    with (:data:`~gazezoom.models.onnx_backend.CONFIG_KEY`), so a stale export is refused at load time."""
    import json

    import onnx

    from ..models.onnx_backend import CONFIG_KEY, VIEW_KEY, WEIGHTS_SHA_KEY, region_views, view_spec

    graph = _graph(model)
    crop, H = example_inputs()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {"crop": {2: "height", 3: "width"}, "region_to_frame": {0: "regions"}}
    axes |= {k: {0: "regions"} for k in graph.output_names}
    # what the graph reads through the regions before its network is an input: the runner reads it with OpenCV
    spec = view_spec(graph.model)
    inputs, names = (crop, H, region_views(crop, H, spec)), ["crop", "region_to_frame", spec["input"]]
    axes[spec["input"]] = {0: "regions"}
    tmp = path.with_suffix(".onnx.tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(graph, inputs, str(tmp), input_names=names,
                          output_names=list(graph.output_names), dynamic_axes=axes, opset_version=opset, dynamo=False)
    meta = {VIEW_KEY: json.dumps(spec)}
    if weights_sha256:
        meta |= {WEIGHTS_SHA_KEY: weights_sha256, CONFIG_KEY: model.config.to_json()}
    proto = onnx.load(str(tmp))
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(tmp))
    tmp.replace(path)
    return path


def verify_onnx(model: torch.nn.Module, path: str | Path, *, threads: int = 1) -> dict:
    """Largest |ONNX Runtime − torch| per output on inputs unlike the traced ones (3 eyes — 4 for a binocular model —,
    another crop size);
    raises :class:`WeightsMismatchError` above :data:`TOLERANCE`."""
    from ..models.onnx_backend import OnnxRegionGaze

    graph = _graph(model)
    sess = OnnxRegionGaze(path, threads=threads)
    diffs = {}
    cases = ((2, (140, 420), 1), (3, (97, 333), 2), (1, (60, 90), 3))
    if getattr(model.config, "binocular", False):  # reads the eyes of a face in pairs: even numbers of eyes
        cases = ((2, (140, 420), 1), (4, (97, 333), 2), (2, (60, 90), 3))
    for n, hw, seed in cases:
        crop, H = example_inputs(n, hw, seed)
        with torch.no_grad():
            ref = graph(crop, H)
        got = sess(crop, H)
        for name, a, b in zip(graph.output_names, ref, got):
            if tuple(a.shape) != tuple(b.shape):
                raise WeightsMismatchError(f"{path}: output {name} has shape {tuple(b.shape)}, torch gives {tuple(a.shape)}")
            diffs[name] = max(diffs.get(name, 0.0), float((a - b).abs().max()))
    bad = {k: v for k, v in diffs.items() if v > TOLERANCE[k]}
    if bad:
        raise WeightsMismatchError(f"{path} disagrees with torch: {bad} (tolerances {TOLERANCE}); do not ship it")
    return diffs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[1]
    p.add_argument("--weights", default=str(WEIGHTS_DIR), help="folder with gaze_<variant>.safetensors + .json (default "
                   "weights); the .onnx files are written beside them")
    p.add_argument("--variants", nargs="+", default=None, help="variants to export (default: every one found)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17; GridSample needs >= 16)")
    p.add_argument("--out", default=None, help="write the .onnx files here instead of beside the weights")


def run(args: argparse.Namespace) -> int:
    from ..fileio import file_sha256, writable_dir
    from ..models.checkpoint import load_weights
    from ..models.stages import stage_weights_file
    from ..models.variants import VARIANTS, resolve_variant, variant_slug

    folder = Path(args.weights)
    names = [resolve_variant(v) for v in args.variants] if args.variants else list(VARIANTS)
    # every weights file of those variants: the gaze networks (gaze_<slug>) and the pupil locators (pupil_<slug>)
    files = [f for v in names for f in (stage_weights_file(s, folder, v) for s in ("network", "pupil")) if f.is_file()]
    missing = [v for v in names if not any(f.name.endswith(f"_{variant_slug(v)}.safetensors") for f in files)]
    if not files or (args.variants and missing):
        raise ModelFileError(f"no gaze weights for {', '.join(missing) or 'any variant'} in {folder}; train them with "
                             f"`gazezoom train --out {folder}` or pass --weights DIR")
    if args.opset < 16:
        raise InputValueError(f"--opset {args.opset} has no GridSample; use 16 or later")
    out_dir = writable_dir(args.out or folder, "ONNX output folder",
                           "pass --out with a folder you can write to" if args.out else
                           "the weights folder is read-only: pass --out with a folder you can write to")
    for f in files:
        model = load_weights(f)
        out = out_dir / f.with_suffix(".onnx").name
        export_onnx(model, out, opset=args.opset, weights_sha256=file_sha256(f))
        diffs = verify_onnx(model, out)
        worst = ", ".join(f"{k} {d:.1e}" for k, d in diffs.items())
        print(f"{f.stem}: {out} ({out.stat().st_size / 1e6:.2f} MB), max |onnx - torch|: {worst}", file=sys.stderr)
    return 0
