"""``gazezoom bench pipeline``: offline throughput of ``gazezoom process`` vs the landmarker alone, in one run.

For a real video at its own size and re-encoded at 1280×720 (OpenCV mp4v in a temporary folder), on the same frames:

- **landmarker alone**: MediaPipe (our backend's ``detect``, VIDEO mode) on frames decoded and converted to RGB
  beforehand — the most the landmarker achieves; measured before and after the full run, the two averaged;
- **process**: the very loop of ``gazezoom process`` (with ``--mirror``: ``process --mirror``) (:func:`gazezoom.commands.process.process_job`: decode, Pipeline —
  front-end, the gaze stage (default fusion: sampler + pupil network + eyeball model) — row, CSV write with a flush per row), per-stage medians:
  ``decode``, ``landmarks`` (the backend's detect), ``frontend`` (the rest of the front-end), ``sampler`` (the
  saliency sampler's ``forward_regions``), ``gaze`` (predictor call without the sampler), ``write``.

frames/s are frames over the wall time of the frame loop (model loading excluded for both; each starts with a
fresh landmarker, so its first, slower call counts in both). The process loop runs twice: with the landmarker one
frame ahead in a thread (``overlap``, ``gazezoom process``'s default on two or more cores) and all in one thread
(``serial``, ``--no-overlap``).
CPU time per frame (all threads of the process; MediaPipe runs its inference on threads of its own) is printed too:
on a machine busy with other work, wall-clock ratios swing with the load while the CPU ratio stays put, and with
every core busy throughput follows CPU time. The aim of the
issue is process ≥ 80 % of the landmarker alone. Without trained weights an untrained model of the same variant is
used (timing does not depend on the weight values; the output says so).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ...cliargs import add_threads_arg
from ...fileio import WEIGHTS_DIR
from .frontend import DEFAULT_VIDEO

__all__ = ["add_arguments", "run"]


def _size(text: str):
    from ...cliargs import parse_size
    from ...errors import InputValueError

    if text == "native":
        return None
    try:
        return parse_size(text)
    except InputValueError as err:
        raise argparse.ArgumentTypeError(f"{err} (or 'native')") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="a real video (default ../shared/media/single_face.mp4)")
    parser.add_argument("--sizes", type=_size, nargs="+", default=[None, (1280, 720)], metavar="SIZE",
                        help="'native' and/or WxH (default: native 1280x720)")
    parser.add_argument("--frames", type=int, default=0, help="use the first N frames (default: all)")
    parser.add_argument("--gaze", default=None, metavar="STAGE", help="gaze stage to run (default: what the weights "
                        "hold; with no --weights the default stage, fusion, as gazezoom process runs it)")
    parser.add_argument("--weights", type=Path, default=None, help="gaze weights file (default: the stage's shipped "
                        "file in weights/, e.g. pupil_sampler_P.safetensors for fusion; an untrained sampler model "
                        "when there is none)")
    parser.add_argument("--backend", default=None, help="gaze inference backend: torch, onnx or auto (default: the "
                        "model package's choice)")
    parser.add_argument("--variant", default="sampler", help="variant for an untrained model (default: sampler)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the three loops; medians reported (default 3)")
    parser.add_argument("--mirror", action="store_true", help="run the process loops with mirror averaging "
                        "(gazezoom process --mirror: a second landmarker pass on each flipped frame; per-stage "
                        "'mirror' is its time)")
    add_threads_arg(parser, default=1, help="torch threads (default 1, as gazezoom process; 0 = torch's choice)")


def _frames(path: Path, limit: int) -> tuple[list[np.ndarray], float]:
    from ...io.readers import VideoReader

    with VideoReader(path) as r:
        frames = []
        for f in r.frames(stop_after=limit - 1 if limit > 0 else None):
            frames.append(f.image)
        return frames, r.info.fps


def _landmarker_alone(frames: list[np.ndarray], fps: float) -> tuple[float, float, float]:
    """(frames/s, median ms, process CPU ms per frame) of the backend's detect on pre-decoded RGB frames, VIDEO mode."""
    import cv2

    from ...face.landmarker import create_landmarker

    rgbs = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames]
    lm = create_landmarker("mediapipe", mode="video")
    try:
        times = []  # a fresh landmarker, every frame timed, as in the process loop
        c0 = time.process_time()
        for i, rgb in enumerate(rgbs):
            t0 = time.perf_counter()
            lm.detect(rgb, int(round(i * 1e3 / (fps or 30.0))))
            times.append((time.perf_counter() - t0) * 1e3)
        cpu = (time.process_time() - c0) * 1e3 / len(times)
    finally:
        lm.close()
    return len(times) / (sum(times) / 1e3), statistics.median(times), cpu


def _weights(args, tmp: Path) -> tuple[str, Path, str]:
    """``(stage, weights file, what it is)``: the stage ``--gaze`` names (default: what ``--weights`` holds, or the
    default stage) with its file; a stage without weights gets the weights folder (not read)."""
    from ...models.stages import resolve_stage, stage_weights_file

    if args.weights is not None:
        return resolve_stage(args.gaze, args.weights), args.weights, "given"
    stage = resolve_stage(args.gaze, WEIGHTS_DIR)
    shipped = stage_weights_file(stage, WEIGHTS_DIR, args.variant)
    if shipped is None:
        return stage, WEIGHTS_DIR, "none needed"
    if shipped.is_file():
        return stage, shipped, "shipped"
    import torch

    from ...models import build_model, save_weights

    torch.manual_seed(0)
    st, _ = save_weights(build_model(args.variant), tmp / "gaze_untrained")
    return "network", st, "UNTRAINED network (speed only; no trained weights in weights/)"


def _timed(fn, sink: list):
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            sink.append((time.perf_counter() - t0) * 1e3)

    wrapper.timed = True
    return wrapper


def run(args: argparse.Namespace) -> int:
    import cv2
    import torch

    from ...io.annotate import create_video_writer
    from ...io.readers import Job
    from ..process import LoopStats, Settings, process_job

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="gazezoom-bench-") as tmp:
        tmp = Path(tmp)
        stage, wfile, wkind = _weights(args, tmp)
        settings = Settings(weights=str(wfile), variant=args.variant, backend=args.backend, model_identity="bench",
                            overwrite=True, gaze=stage, mirror=args.mirror)
        print(f"video {args.video}; gaze stage {stage}, weights {Path(wfile).name} ({wkind}); torch threads "
              f"{torch.get_num_threads()}" + ("; mirror averaging (process --mirror)" if args.mirror else ""))
        print(f"{'size':>10} {'frames':>6} {'landmarker':>11} {'process':>9} {'ratio':>6}  {'mode':<8} per-stage medians (ms)")
        decoded, fps = _frames(args.video, args.frames)
        for size in args.sizes:
            frames, video = decoded, args.video
            resize = size is not None and frames[0].shape[1::-1] != tuple(size)
            if resize or args.frames > 0:  # the process loop reads exactly the frames the landmarker gets
                if resize:
                    frames = [cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames]
                size = frames[0].shape[1::-1]
                video = tmp / f"{size[0]}x{size[1]}.mp4"
                w = create_video_writer(video, fps, size, "mp4v")  # MediaError if OpenCV cannot write it
                for f in frames:
                    w.write(f)
                w.close()
            h, wdt = frames[0].shape[:2]
            # rounds of (landmarker alone, overlap, serial) interleaved: load changes hit all three alike
            lm_runs, runs, backends = [], {True: [], False: []}, set()
            for _ in range(args.rounds):
                lm_runs.append(_landmarker_alone(frames, fps))
                for overlap in (True, False):
                    stats = LoopStats()
                    sampler_ms: list = []

                    def hook(pipeline, sampler_ms=sampler_ms):
                        pred = getattr(pipeline.gaze, "predictor", None)
                        pred = getattr(pred, "predictor", pred)  # a fusion / pupil stage wraps a GazePredictor
                        backends.add(getattr(pred, "backend", "torch"))
                        # time the sampler inside the gaze call (an instance attribute shadows the method); with
                        # ONNX Runtime the sampler is inside the session and "gaze" includes it
                        for owner in (getattr(pred, "_runner", None), pred):
                            front = getattr(getattr(owner, "model", None), "front", None)
                            sampler = getattr(front, "sampler", None)
                            if sampler is not None and not hasattr(sampler.forward_regions, "timed"):
                                sampler.forward_regions = _timed(sampler.forward_regions, sampler_ms)

                    job = Job("bench", "video", (str(video),))
                    out = process_job(job, tmp / "bench.csv", dataclasses.replace(settings, overlap=overlap),
                                      instrument=stats,
                                      on_pipeline=hook)
                    if out.status != "complete":
                        print(f"process failed on {video}: {out.message}")
                        return out.exit_code or 1
                    runs[overlap].append((stats, sampler_ms, out))
            lm_fps = statistics.median(r[0] for r in lm_runs)
            lm_cpu = statistics.median(r[2] for r in lm_runs)
            med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
            for overlap in (True, False):
                fps_runs = [len(st.pipeline_ms) / st.loop_s for st, _, _ in runs[overlap]]
                proc_fps = statistics.median(fps_runs)
                pt = [p for st, _, _ in runs[overlap] for p in st.pipeline_ms]
                sampler = med([x for _, sm, _ in runs[overlap] for x in sm])
                gaze = med([p["gaze"] for p in pt if "gaze" in p])
                parts = {
                    "decode": med([x for st, _, _ in runs[overlap] for x in st.decode_ms]),
                    "landmarks": med([p["landmarks"] for p in pt]),
                    "frontend": med([p["frontend"] - p.get("landmarks_wait", p["landmarks"]) for p in pt]),
                    "sampler": sampler,
                    "gaze": gaze - sampler if sampler == sampler else gaze,
                    "write": med([x for st, _, _ in runs[overlap] for x in st.write_ms]),
                } | ({"mirror": med([p["mirror"] for p in pt if "mirror" in p])} if args.mirror else {})
                text = " ".join(f"{k} {v:.2f}" if v == v else f"{k} n/a" for k, v in parts.items())
                if sampler != sampler:  # NaN: no separate sampler timing, say why instead of printing "nan"
                    text += " (sampler: not timed apart, it runs inside the gaze call with ONNX Runtime or had no face)"
                mode = "overlap" if overlap else "serial"
                n = len(runs[overlap][0][0].pipeline_ms)
                print(f"{wdt:>5}x{h:<4} {n:>6} {lm_fps:>7.1f}/s {proc_fps:>7.1f}/s {100 * proc_fps / lm_fps:>5.0f}%  {mode:<8} {text}")
                cpu = statistics.median(st.loop_cpu_s * 1e3 / len(st.pipeline_ms) for st, _, _ in runs[overlap])
                print(f"{'':>18} rounds: process {', '.join(f'{v:.1f}' for v in fps_runs)} frames/s; landmarker alone "
                      f"{', '.join(f'{r[0]:.1f}' for r in lm_runs)} frames/s; CPU per frame (all threads): process "
                      f"{cpu:.1f} ms, landmarker alone {lm_cpu:.1f} ms ({100 * lm_cpu / cpu:.0f}%)")
            out = runs[True][0][2]
            print(f"{'':>18} landmarker alone median {med([r[1] for r in lm_runs]):.2f} ms/frame; faces in {out.faces}/{n} "
                  f"frames; gaze backend {', '.join(sorted(backends))}")
    return 0
