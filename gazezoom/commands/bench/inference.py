"""``gazezoom bench inference``: two-eye gaze inference, torch eager vs torch jit.freeze vs ONNX Runtime, one run.

The front-end finds the two eye regions on a real 1280x720 frame of ``../shared/media``; the predictor's crop and
homographies are then fed to each backend of the same network (sampler + gaze net, BatchNorm folded): the torch
module, its ``torch.jit.trace`` + ``freeze``, and an ONNX Runtime session on the graph ``gazezoom export`` writes.
Rounds alternate between backends so drift on a shared machine hits them alike; medians and ratios to torch eager
are reported, and the end-to-end ``GazePredictor.predict`` (crop + network + fusion) with each predictor backend.
Without trained weights (``--untrained``) a freshly initialised model is timed: same ops, same cost.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import warnings
from pathlib import Path

from ...cliargs import add_threads_arg
from ...fileio import WEIGHTS_DIR
from . import print_report

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[0]
    p.add_argument("--weights", default=str(WEIGHTS_DIR), help="folder with gaze_<variant> weights (+ .onnx from "
                   "`gazezoom export`; exported into a temporary folder when missing)")
    p.add_argument("--variants", nargs="+", default=["sampler@P", "uniform@P"], help="variants to time")
    p.add_argument("--untrained", action="store_true", help="time freshly initialised models (no weights needed)")
    p.add_argument("--media", default=None, help="image or video for the frame (default ../shared/media/single_face.mp4)")
    add_threads_arg(p, default=2, help="CPU threads for torch and ONNX Runtime alike (default 2)")
    p.add_argument("--repeat", type=int, default=200, help="timed calls per backend (median)")
    p.add_argument("--device", default="cpu", help="torch device for the eager/jit rows (cuda adds GPU rows)")
    p.add_argument("--eyes", choices=("frontend", "fixed"), default="frontend", help="eye regions from the MediaPipe "
                   "front-end on the frame (default), or two fixed regions of a face 60 cm from a 1000 px camera "
                   "(no MediaPipe needed; same sizes)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _interleaved(fns: dict, repeat: int) -> dict:
    """Median ms of each callable, measured in alternating rounds of 10 calls (after 10 warm-up calls each)."""
    from .model import interleaved_times

    times = interleaved_times(fns, rounds=repeat // 10, per_round=10, warmup=10)
    return {k: statistics.median(v) for k, v in times.items()}


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ...errors import ModelFileError, NoFaceError
    from ...face.frontend import FrontEnd
    from ...models import GazePredictor, build_model, load_weights, weights_path
    from ...models.onnx_backend import OnnxRegionGaze, RegionGazeGraph, onnx_path
    from ..export import export_onnx
    from .frontend import DEFAULT_VIDEO
    from .model import _frame

    torch.set_num_threads(args.threads)
    media = Path(args.media) if args.media else DEFAULT_VIDEO
    if args.eyes == "fixed" and not media.is_file():  # no media at hand: pixel values do not change the cost
        frame, media = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8), Path("noise")
    else:
        frame = _frame(media, (1280, 720))
    if args.eyes == "frontend":
        with FrontEnd(mode="image") as fe:
            face, _, _ = fe.process(frame)
        if face is None:
            raise NoFaceError(f"no face found in {media}; pass --media with a frontal face")
        regions = np.stack([np.asarray(e.region_to_frame, float) for e in face.eyes])
    else:
        regions = _fixed_regions()
    tmp_dir = tempfile.TemporaryDirectory(prefix="gazezoom-bench-")  # removed when run() returns (it was left behind)
    tmp = Path(tmp_dir.name)
    res, info, checks = {}, {"threads": args.threads, "media": media.name, "frame": [720, 1280], "eyes": args.eyes,
                             "weights": "untrained (timing only)" if args.untrained else args.weights}, {}
    for v in args.variants:
        if args.untrained:
            torch.manual_seed(0)
            model, wpath = build_model(v).eval(), weights_path(tmp, v)
        else:
            wpath = weights_path(args.weights, v)
            if not wpath.is_file():
                raise ModelFileError(f"no weights {wpath}; train them, pass --weights DIR, or use --untrained")
            model = load_weights(wpath, variant=v)
        if not onnx_path(wpath).is_file():  # not exported yet: export into the temporary folder
            wpath = weights_path(tmp, v)
            export_onnx(model, onnx_path(wpath))
        onnx_file = onnx_path(wpath)
        pred_t = GazePredictor(model, backend="torch")
        pred_o = GazePredictor(model, backend="onnx", weights=wpath)
        # the predictor's own crop and homographies for these two eyes
        _, crop, Hc = pred_t.network_inputs(frame, regions)
        eager = RegionGazeGraph(pred_t.model)
        with torch.inference_mode():
            ref = eager(crop, Hc)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shape checks; jit.freeze's deprecation
            frozen = torch.jit.freeze(torch.jit.trace(RegionGazeGraph(pred_t.model), (crop, Hc), check_trace=False).eval())
        ort = OnnxRegionGaze(onnx_file, threads=args.threads)

        def t_eager():
            with torch.inference_mode():
                return eager(crop, Hc)

        def t_frozen():
            with torch.inference_mode():
                return frozen(crop, Hc)

        fns = {"torch eager": t_eager, "torch jit.freeze": t_frozen, "onnxruntime": lambda: ort(crop, Hc)}
        for name, fn in fns.items():
            checks[f"{v} {name} max |dgaze| rad"] = float((fn()[0].float().cpu() - ref[0].float().cpu()).abs().max())
        if args.device.startswith("cuda") and torch.cuda.is_available():
            gm = RegionGazeGraph(copy.deepcopy(pred_t.model)).to(args.device)  # the CPU rows keep theirs
            gc, gH = crop.to(args.device), Hc.to(args.device)

            def t_cuda(amp=False):
                with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                    out = gm(gc, gH)
                torch.cuda.synchronize()
                return out

            fns[f"torch eager {args.device}"] = t_cuda
            fns[f"torch eager {args.device} fp16 autocast"] = lambda: t_cuda(True)
            info["gpu"] = torch.cuda.get_device_name()
        ms = _interleaved(fns, args.repeat)
        for k, val in ms.items():
            res[f"{v} network, {k} ms"] = val
        e2e = _interleaved({"torch": lambda: pred_t.predict_regions(frame, regions, keep_samples=False),
                            "onnxruntime": lambda: pred_o.predict_regions(frame, regions, keep_samples=False)}, args.repeat)
        for k, val in e2e.items():
            res[f"{v} predict_regions() two eyes, {k} ms"] = val
    ratios = {}
    for v in args.variants:
        base = res[f"{v} network, torch eager ms"]
        for k in [k for k in res if k.startswith(f"{v} network")]:
            ratios[k.replace(" ms", "") + " / torch eager"] = res[k] / base
    print_report(args.json, f"inference benchmark: two eyes of {media.name} at 1280x720, {args.threads} threads, "
                 f"medians ({info['weights']}{', GPU ' + info['gpu'] if 'gpu' in info else ''})", info, res, ratios,
                 extra={"agreement": checks}, unit="")
    if args.json:
        return 0
    worst = max(checks.values())
    print(f"  largest gaze difference between backends: {worst:.1e} rad")
    return 0


def _fixed_regions():
    """Two eye regions ``(2, 3, 3)`` of a frontal face 600 mm from a 1000 px camera at the 1280x720 frame's centre."""
    import numpy as np

    from ...face.eyes import region_to_frame

    K = np.array([[1000.0, 0.0, 639.5], [0.0, 1000.0, 359.5], [0.0, 0.0, 1.0]])
    return np.stack([region_to_frame(K, np.eye(3), np.array([x, -20.0, 600.0]), side)
                     for x, side in ((32.0, "left"), (-32.0, "right"))])
