"""``gazezoom bench frontend``: the landmarker alone vs the whole front-end per frame, and the share that is ours.

Frames come from ``../shared/media/single_face.mp4`` (640×360, resized to each size asked for) and are fed in a
loop with increasing timestamps in VIDEO mode, as from a webcam. Three medians per size, all in one run:

- ``mediapipe``: MediaPipe's own call (image wrap + inference + its result objects), as timed inside the backend;
- ``landmarker``: our backend's ``detect`` on an RGB frame (MediaPipe + converting its result to numpy);
- ``frontend``: ``FrontEnd.process`` on the BGR frame (colour conversion, landmarker, tracking, head pose by PnP,
  openness/blinks, eye regions and normalisation, result dataclasses).

"ours" = frontend − mediapipe per frame (median); its share is taken against MediaPipe's time on the same frames
of the same run (the separate landmarker run only shows the numpy conversion cost). Aim: ours < 15 %.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

import numpy as np

from ...cliargs import add_threads_arg
from ...fileio import REPO_ROOT
from . import median_ms

__all__ = ["add_arguments", "run", "load_frames"]

DEFAULT_VIDEO = REPO_ROOT.parent / "shared" / "media" / "single_face.mp4"


def load_frames(path: Path, size: tuple[int, int], limit: int = 72) -> list[np.ndarray]:
    """Up to ``limit`` BGR frames of ``path`` resized to ``size = (W, H)``."""
    import cv2

    from ...errors import MediaError

    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < limit:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f if f.shape[1::-1] == size else cv2.resize(f, size, interpolation=cv2.INTER_LINEAR))
    cap.release()
    if not frames:
        raise MediaError(f"no frames read from {path}; pass --video with a readable video")
    return frames


def _size(text: str) -> tuple[int, int]:
    """``cliargs.parse_size`` (one WxH rule for every command) with argparse's error type."""
    from ...cliargs import argtype, parse_size

    return argtype(parse_size)(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=_size, nargs="+", default=[(640, 360), (1280, 720)], help="frame sizes WxH (default 640x360 1280x720)")
    parser.add_argument("--repeat", type=int, default=60, help="timed frames per measurement (default 60)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames first (default 10)")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="source video (default ../shared/media/single_face.mp4)")
    add_threads_arg(parser, default=None, help="OpenCV threads (MediaPipe uses its own)")


def run(args: argparse.Namespace) -> int:
    import cv2

    from ...errors import InputValueError
    from ...face.frontend import FrontEnd
    from ...face.landmarker import create_landmarker

    if args.repeat < 1 or args.warmup < 0:
        raise InputValueError(f"--repeat must be >= 1 and --warmup >= 0, got {args.repeat} and {args.warmup}")
    if args.threads:
        cv2.setNumThreads(args.threads)
    print(f"frames from {args.video}; medians over {args.repeat} frames after {args.warmup} warm-up, VIDEO mode")
    print(f"{'size':>10} {'mediapipe':>10} {'landmarker':>11} {'frontend':>9} {'ours':>7} {'ours/mediapipe':>15}")
    for size in args.sizes:
        frames = load_frames(args.video, size)
        rgbs = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames]

        lm = create_landmarker("mediapipe", mode="video")
        t = itertools.count()
        src = itertools.cycle(rgbs)
        mp_ms = []

        def step_lm():
            lm.detect(next(src), next(t) * 33)
            mp_ms.append(lm.last_call_ms)

        try:
            landmarker = median_ms(step_lm, repeat=args.repeat, warmup=args.warmup)
        finally:
            lm.close()
        mediapipe = statistics.median(mp_ms[args.warmup :])

        with FrontEnd(mode="video") as fe:
            t2 = itertools.count()
            src2 = itertools.cycle(frames)
            ours_ms, mp_in_fe, faces = [], [], []

            def step_fe():
                face, _, tm = fe.process(next(src2), next(t2) / 30.0)
                ours_ms.append(tm["frontend"] - tm["mediapipe"])
                mp_in_fe.append(tm["mediapipe"])
                faces.append(face is not None)

            frontend = median_ms(step_fe, repeat=args.repeat, warmup=args.warmup)
        # ours = whole front-end minus MediaPipe's own call, per frame, then the median (robust to the shared CPU)
        ours = statistics.median(ours_ms[args.warmup :])
        share = ours / statistics.median(mp_in_fe[args.warmup :])  # same frames, same run: robust to load changes
        print(
            f"{size[0]:>5}x{size[1]:<4} {mediapipe:>8.2f}ms {landmarker:>9.2f}ms {frontend:>7.2f}ms {ours:>5.2f}ms "
            f"{100 * share:>13.1f}%   (faces found in {sum(faces)}/{len(faces)} frames)"
        )
    return 0
