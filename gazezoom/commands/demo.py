"""``gazezoom demo`` (also ``python app.py``): the live desktop app.

Shows the frame with landmarks, eye regions, the sampler's deformed grid where it reads the full-resolution frame,
head axes and gaze arrows; the zoomed eye patches, saliency maps and uniform patches; the gaze point on the screen
with a calibration profile; FPS, per-stage latency and dropped frames. ``--screenshot out.png --frames N`` runs N
frames headless, saves a picture of the window and prints the counters.
"""

from __future__ import annotations

import argparse

from ..cliargs import add_model_args, add_threads_arg

EPILOG = """examples:
  python app.py                                     # last used source (first run: camera 0)
  python app.py --source 1 --size 1280x720 --fps 30
  python app.py --source ../shared/media/single_face.mp4
  python app.py --source clip.mp4 --resize 1280x720 --screenshot out.png --frames 120   # headless, prints counters
keys: L landmarks, E eye regions, G sampling grid, H head axes, A gaze arrows, T labels, O screen overlay,
      C calibrate, R recentre, Ctrl+R record CSV, Ctrl+L stream (LSL + WebSocket, docs/streaming.md), Ctrl+S screenshot,
      Ctrl+O open video, F11 full screen, Ctrl+Q quit"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    src = parser.add_argument_group("source")
    src.add_argument("--source", help="camera index (0, 1 …) or a video file (default: the last one used, else 0)")
    src.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True,
                     help="restart a video at its end (default on)")
    src.add_argument("--size", metavar="WxH", help="resolution to request from a camera, e.g. 1280x720")
    src.add_argument("--fps", type=float, default=0.0, help="frame rate to request from a camera")
    src.add_argument("--resize", metavar="WxH", help="resize every frame after reading (e.g. test 1280x720 from a clip)")
    src.add_argument("--fast", action="store_true",
                     help="read a video as fast as processing takes frames (no pacing, no drops) instead of in real time")
    mod = parser.add_argument_group("models and calibration")
    add_model_args(mod)
    mod.add_argument("--landmarker", default="mediapipe", help="face landmarker backend")
    mod.add_argument("--camera-file", help="camera intrinsics (JSON / OpenCV YAML); default from the frame size")
    mod.add_argument("--mirror", action="store_true", help="mirror averaging, as `gazezoom process --mirror`: each frame also read flipped and the gaze averaged with its mirror image's (steadier, the two eyes agree better); a second landmarker pass per frame (~10 ms on a 2-core machine: still within a 30 fps camera's frame time there). Calibrate with the same setting")
    mod.add_argument("--profile", metavar="USER", help="calibration profile to use (default: the last one used)")
    mod.add_argument("--profiles", metavar="DIR", help="profiles folder (default $GAZEZOOM_PROFILES, else calibration/)")
    mod.add_argument("--min-cutoff", type=float, help="One Euro filter min cutoff in Hz (steadiness at rest)")
    mod.add_argument("--beta", type=float, help="One Euro filter beta (less lag on fast movements)")
    out = parser.add_argument_group("output")
    out.add_argument("--out-dir", default=".", help="folder for screenshots and session CSVs (default .)")
    out.add_argument("--screenshot", metavar="PNG", help="headless: process --frames frames, save the window, exit")
    out.add_argument("--frames", type=int, default=60, help="frames to process with --screenshot (default 60)")
    out.add_argument("--timeout", type=float, help="with --screenshot: give up after this many seconds")
    out.add_argument("--settings", metavar="INI", help="keep settings in this file instead of the user's settings")
    add_threads_arg(out, default=0)
    out.add_argument("--display-width", type=int, default=1280, help="largest width of the drawn live view")


def run(args: argparse.Namespace) -> int:
    from ..cliargs import parse_size
    from ..errors import InputValueError
    from ..live.config import AppConfig
    from ..live.sources import parse_source

    if args.frames < 1:
        raise InputValueError(f"--frames must be at least 1, got {args.frames}")
    w, h = parse_size(args.size) if args.size else (0, 0)
    spec = None
    if args.source is not None:
        spec = parse_source(args.source, loop=args.loop, width=w, height=h, fps=args.fps,
                            resize=parse_size(args.resize) if args.resize else None, pace=not args.fast)
    elif args.resize or args.fast:
        raise InputValueError("--resize and --fast need --source")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from ..models.stages import resolve_stage

    config = AppConfig(source=spec, weights=args.weights, variant=args.variant,
                       gaze=resolve_stage(args.gaze, args.weights), backend=args.backend,
                       landmarker=args.landmarker, mirror=args.mirror,
                       camera_file=args.camera_file, profile=args.profile, profiles_dir=args.profiles,
                       min_cutoff=args.min_cutoff, beta=args.beta, out_dir=args.out_dir,
                       display_width=args.display_width, settings_file=args.settings)
    from ..gui.app import run_app

    return run_app(config, screenshot=args.screenshot, frames=args.frames if args.screenshot else None,
                   timeout_s=args.timeout)
