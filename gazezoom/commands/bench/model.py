"""``gazezoom bench model``: gaze inference for two eyes + fusion against the landmarker, on real frames, one run.

``--stages`` also times whole gaze stages (``fusion``, the shipped default: the sampler's pupil locator plus the
eyeball model; ``geometric``).

Runs the front-end (MediaPipe landmarker in image mode) on a real 1280x720 frame of ``../shared/media`` to get the
two eye regions, then times, in the same process: the landmarker call, and ``GazePredictor.predict`` (both eyes
batched + fusion) for each variant, with and without the display extras (uint8 patches, grid). Ratios are the
numbers to quote; timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from ...cliargs import add_threads_arg
from ...fileio import WEIGHTS_DIR
from . import print_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[0]
    p.add_argument("--weights", default=str(WEIGHTS_DIR), help="folder with gaze_<variant> weights (default weights)")
    p.add_argument("--variants", nargs="+", default=["sampler@P", "uniform@P"], help="variants to time")
    p.add_argument("--stages", nargs="*", default=["fusion", "geometric"], help="gaze stages (gazezoom.models.stages) "
                   "to time as well, whole (default: fusion, the shipped default, and geometric); the learned ones "
                   "read --weights with each backend")
    p.add_argument("--media", default=None, help="image or video to take the frame from "
                   "(default ../shared/media/single_face.mp4, first frame)")
    p.add_argument("--size", default="1280x720", help="frame size WxH the frame is resized to (default 1280x720)")
    p.add_argument("--repeat", type=int, default=50, help="timed calls per measurement (median)")
    add_threads_arg(p, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--backends", nargs="+", default=["torch", "auto"],
                   help="inference backends to time: torch, onnx (needs `gazezoom export`), auto (default: torch auto)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _frame(path: Path, size: tuple[int, int]):
    """The first frame of a video, or a still, as BGR uint8 resized to ``size = (W, H)`` (:class:`MediaError` if
    unreadable)."""
    import cv2

    from ...io.readers import VideoReader, media_kind, read_image

    if media_kind(path) == "image":
        frame = read_image(path)
    else:
        with VideoReader(path) as reader:
            frame = next(reader.frames(stop_after=0)).image
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def interleaved_times(fns: dict, *, rounds: int, per_round: int = 1, warmup: int = 3) -> dict[str, list[float]]:
    """Wall times (ms) of each callable, ``rounds`` rounds of ``per_round`` calls each, the callables alternating
    round by round (after ``warmup`` calls each), so a load change on a shared machine hits all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(max(1, rounds)):
        for k, fn in fns.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t0) * 1e3)
    return times


def run(args: argparse.Namespace) -> int:
    import torch

    from ...cliargs import parse_size
    from ...errors import NoFaceError
    from ...face.frontend import FrontEnd
    from ...face.landmarker import to_rgb
    from ...models import GazePredictor
    from .frontend import DEFAULT_VIDEO

    if args.threads:
        torch.set_num_threads(args.threads)
    media = Path(args.media) if args.media else DEFAULT_VIDEO
    w, h = parse_size(args.size)  # InputValueError naming the expected form
    frame = _frame(media, (w, h))
    predictors = {}
    for v in args.variants:
        for b in args.backends:
            p = GazePredictor.from_weights(args.weights, variant=v, backend=b)
            predictors.setdefault(f"{v} [{p.backend}]", p)  # "auto" may resolve to a backend already listed
    from ...models.stages import build_gaze_stage, stage_weights_file

    for st in args.stages:
        for b in (args.backends if stage_weights_file(st, args.weights) is not None else [None]):
            g = build_gaze_stage(st, weights=args.weights, backend=b)
            predictors.setdefault(f"stage {st}" + (f" [{g.backend}]" if b else ""), g)
    r = args.repeat
    rgb = to_rgb(frame)
    with FrontEnd(mode="image") as fe:
        face, _, _ = fe.process(frame)
        if face is None:
            raise NoFaceError(f"no face found in {media}; pass --media with a frontal face")
        # Interleaved: every round times the landmarker and each predictor back to back, so a load change on a
        # shared machine hits all of them alike; the ratio is the median of the per-round ratios.
        calls = {"landmarker": lambda: fe.landmarker.detect(rgb)}
        for v, p in predictors.items():
            calls[f"{v} two eyes+fusion"] = lambda p=p: p.predict(frame, face, display=False)
            calls[f"{v} with display"] = lambda p=p: p.predict(frame, face, display=True)
        times = interleaved_times(calls, rounds=r)
    res = {f"{k}_ms": statistics.median(v) for k, v in times.items()}
    ratios = {
        f"{v} / landmarker": statistics.median(
            a / b for a, b in zip(times[f"{v} two eyes+fusion"], times["landmarker"])
        )
        for v in predictors
    }
    eye_w = [float(abs(e.corners_px[1, 0] - e.corners_px[0, 0])) for e in face.eyes]
    info = {"frame": [h, w], "media": media.name, "threads": torch.get_num_threads(), "eye_width_px": eye_w}
    print_report(args.json, f"model benchmark: {media.name} at {w}x{h}, eyes {eye_w[0]:.0f}/{eye_w[1]:.0f} px wide, "
                 f"{info['threads']} threads, medians", info, res, ratios, ratio_note="  (aim < 0.25)")
    return 0
